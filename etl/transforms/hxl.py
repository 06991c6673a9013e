"""HXL-tagged rows (fields keyed by hashtag) -> incidents, and HXL 3W rows -> aid deliveries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from etl.gazetteer import INVISIBLE
from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

SECTORS = {"food": "food", "fsl": "food", "health": "medical", "medical": "medical",
           "shelter": "shelter", "wash": "water", "water": "water", "nfi": "nfi",
           "nfis": "nfi", "core relief items": "nfi", "multi": "mixed", "mixed": "mixed"}


# The hashtags each field is read from, in order of preference (`tag`); the set-based path in
# etl.jobs.sql_load reads the same lists.
INCIDENT_ID = ("#event+id", "#event+code", "#id")
INCIDENT_ROW = ("#date", "#loc", "#geo+lat", "#geo+lon", "#event", "#affected")  # id when none
EVENT_TYPE = ("#event+type", "#event+category", "#event")
OCCURRED = ("#date+occurred", "#date+start", "#date")
REPORTED = ("#date+reported",)
LON, LAT = ("#geo+lon",), ("#geo+lat",)
PLACE = ("#loc+name", "#loc")
ADMIN = ("#adm2+name", "#adm1+name")
KILLED = ("#affected+killed", "#affected+dead", "#affected+deaths")
SUB_EVENT = ("#event+subtype", "#event+sub")
ACTOR1 = ("#org+perpetrator", "#actor", "#org")
ACTOR2 = ("#org+target", "#group+targeted")
NOTES = ("#description", "#meta+notes", "#meta")
DELIVERY_ID = ("#activity+id", "#delivery+id", "#id")
DELIVERY_ROW = ("#org", "#sector", "#loc", "#geo+lat", "#geo+lon", "#date", "#reached")
DELIVERED = ("#date+delivered", "#date+end", "#date")
SECTOR = ("#sector", "#cluster")
METHOD = ("#delivery+method", "#modality")
METHODS = ("airdrop", "convoy", "handover")
REACHED = ("#reached", "#beneficiaries", "#targeted")
ORGANISATION = ("#org+impl", "#org")
ACTIVITY = ("#activity+description", "#activity", "#description")


def tag_keys(keys: Iterable[str], *wanted: str) -> Iterator[str]:
    """The keys `tag` tries, in order: for each wanted hashtag, the keys with its base and (at
    least) its attributes, in the fields' order."""
    keys = list(keys)
    for want in wanted:
        base, *attrs = want.split("+")
        for key in keys:
            parts = key.split("+")
            if parts[0] == base and set(attrs) <= set(parts[1:]):
                yield key


def tag(fields: dict[str, Any], *wanted: str) -> Any:
    """The first non-empty value whose hashtag has the base and (at least) the attributes."""
    for key in tag_keys(fields, *wanted):
        if checks.text(fields[key]):
            return fields[key]
    return None


def row_id(values: list[str | None]) -> str:
    """The id of a row without one: a hash of its (stripped) values of the *_ROW hashtags."""
    body = json.dumps(values, ensure_ascii=False)
    return "hxl-" + hashlib.sha1(body.encode()).hexdigest()[:16]


def _row_id(fields: dict[str, Any], tags: tuple[str, ...]) -> str:
    return row_id([checks.text(tag(fields, t)) for t in tags])


def slug(value: str) -> str:
    value = INVISIBLE.sub("", value)
    return "_".join(value.lower().replace("/", " ").replace("-", " ").split())


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    source_id = checks.key(tag(f, *INCIDENT_ID)) or _row_id(f, INCIDENT_ROW)
    event_type = checks.text(tag(f, *EVENT_TYPE))
    if event_type is None:
        reasons.append(checks.MISSING_FIELD)
    occurred, until, precision = checks.check_when(tag(f, *OCCURRED), ctx, reasons)
    point, geocoded = checks.locate(tag(f, *LON), tag(f, *LAT), tag(f, *PLACE), tag(f, *ADMIN),
                                    ctx, reasons, repairs, detail)
    killed = checks.check_count(tag(f, *KILLED), reasons)
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    assert point is not None and event_type is not None
    return Accepted(
        {
            "source_id": source_id,
            "occurred_at": occurred,
            "occurred_until": until,
            "time_precision": precision,
            "reported_at": checks.check_date(tag(f, *REPORTED), ctx, [], required=False),
            "event_type": slug(event_type),
            "sub_event_type": checks.text(tag(f, *SUB_EVENT)),
            "actor1": checks.text(tag(f, *ACTOR1)),
            "actor2": checks.text(tag(f, *ACTOR2)),
            "fatalities": killed,
            "fatalities_low": None,
            "fatalities_high": None,
            "geo_precision": "settlement" if geocoded else "exact",
            "location_name": checks.text(tag(f, *PLACE)),
            "notes": checks.text(tag(f, *NOTES)),
            "verification_status": "reported",
            "sensitivity": "public",
            "settlement_id": detail.get("gazetteer_id"),  # the settlement geocoding took
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )


def to_aid_delivery(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    source_id = checks.key(tag(f, *DELIVERY_ID)) or _row_id(f, DELIVERY_ROW)
    delivered = checks.check_date(tag(f, *DELIVERED), ctx, reasons)
    sector = checks.text(tag(f, *SECTOR))
    cargo = SECTORS.get(sector.lower(), "mixed") if sector else "mixed"
    method = checks.check_vocab(tag(f, *METHOD), METHODS, reasons, default="handover")
    reached = checks.check_count(tag(f, *REACHED), reasons)
    point, _geocoded = checks.locate(tag(f, *LON), tag(f, *LAT), tag(f, *PLACE), tag(f, *ADMIN),
                                     ctx, reasons, repairs, detail)
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    assert point is not None
    return Accepted(
        {
            "source_id": source_id,
            "delivered_at": delivered,
            "method": method,
            "cargo_type": cargo,
            "quantity": reached,
            "unit": "people" if reached is not None else None,
            "organisation": checks.text(tag(f, *ORGANISATION)),
            "location_name": checks.text(tag(f, *PLACE)),
            "geonames_ref": None,
            "agreement_area_ref": None,
            "notes": checks.text(tag(f, *ACTIVITY)),
            "gazetteer_ref": detail.get("gazetteer_id"),  # the settlement geocoding took
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
