"""HXL-tagged rows (fields keyed by hashtag) -> incidents, and HXL 3W rows -> aid deliveries."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

SECTORS = {"food": "food", "fsl": "food", "health": "medical", "medical": "medical",
           "shelter": "shelter", "wash": "water", "water": "water", "nfi": "nfi",
           "nfis": "nfi", "core relief items": "nfi", "multi": "mixed", "mixed": "mixed"}


def tag(fields: dict[str, Any], *wanted: str) -> Any:
    """The first non-empty value whose hashtag has the base and (at least) the attributes."""
    for want in wanted:
        base, *attrs = want.split("+")
        for key, value in fields.items():
            parts = key.split("+")
            if parts[0] == base and set(attrs) <= set(parts[1:]) and checks.text(value):
                return value
    return None


def _row_id(fields: dict[str, Any], *tags: str) -> str:
    body = json.dumps([checks.text(tag(fields, t)) for t in tags], ensure_ascii=False)
    return "hxl-" + hashlib.sha1(body.encode()).hexdigest()[:16]


def _slug(value: str) -> str:
    return "_".join(value.lower().replace("/", " ").replace("-", " ").split())


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    source_id = checks.text(tag(f, "#event+id", "#event+code", "#id")) or _row_id(
        f, "#date", "#loc", "#geo+lat", "#geo+lon", "#event", "#affected")
    event_type = checks.text(tag(f, "#event+type", "#event+category", "#event"))
    if event_type is None:
        reasons.append(checks.MISSING_FIELD)
    occurred = checks.check_date(tag(f, "#date+occurred", "#date+start", "#date"), ctx, reasons)
    point, geocoded = checks.locate(tag(f, "#geo+lon"), tag(f, "#geo+lat"), tag(f, "#loc+name", "#loc"),
                                    tag(f, "#adm2+name", "#adm1+name"), ctx, reasons, repairs,
                                    detail)
    killed = checks.check_count(tag(f, "#affected+killed", "#affected+dead", "#affected+deaths"),
                                reasons)
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    assert point is not None and event_type is not None
    return Accepted(
        {
            "source_id": source_id,
            "occurred_at": occurred,
            "occurred_until": None,
            "time_precision": "day",
            "reported_at": checks.check_date(tag(f, "#date+reported"), ctx, [], required=False),
            "event_type": _slug(event_type),
            "sub_event_type": checks.text(tag(f, "#event+subtype", "#event+sub")),
            "actor1": checks.text(tag(f, "#org+perpetrator", "#actor", "#org")),
            "actor2": checks.text(tag(f, "#org+target", "#group+targeted")),
            "fatalities": killed,
            "fatalities_low": None,
            "fatalities_high": None,
            "geo_precision": "settlement" if geocoded else "exact",
            "location_name": checks.text(tag(f, "#loc+name", "#loc")),
            "notes": checks.text(tag(f, "#description", "#meta+notes", "#meta")),
            "verification_status": "reported",
            "sensitivity": "public",
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
    source_id = checks.text(tag(f, "#activity+id", "#delivery+id", "#id")) or _row_id(
        f, "#org", "#sector", "#loc", "#geo+lat", "#geo+lon", "#date", "#reached")
    delivered = checks.check_date(tag(f, "#date+delivered", "#date+end", "#date"), ctx, reasons)
    sector = checks.text(tag(f, "#sector", "#cluster"))
    cargo = SECTORS.get(sector.lower(), "mixed") if sector else "mixed"
    method = checks.check_vocab(tag(f, "#delivery+method", "#modality"),
                                ("airdrop", "convoy", "handover"), reasons, default="handover")
    reached = checks.check_count(tag(f, "#reached", "#beneficiaries", "#targeted"), reasons)
    point, _geocoded = checks.locate(tag(f, "#geo+lon"), tag(f, "#geo+lat"),
                                     tag(f, "#loc+name", "#loc"), tag(f, "#adm2+name", "#adm1+name"),
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
            "organisation": checks.text(tag(f, "#org+impl", "#org")),
            "location_name": checks.text(tag(f, "#loc+name", "#loc")),
            "geonames_ref": None,
            "agreement_area_ref": None,
            "notes": checks.text(tag(f, "#activity+description", "#activity", "#description")),
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
