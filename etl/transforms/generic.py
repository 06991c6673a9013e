"""Generic CSV / GeoJSON rows -> incidents, after the runner applied the column mapping
(`--mapping FILE`: {"source_id": "ID", "occurred_at": "Date", "lat": "Y", ...})."""

from __future__ import annotations

from typing import Any

from etl.gazetteer import INVISIBLE
from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

# The columns (lower case, after the mapping) each field is read from, in order of preference
# (`first`); the set-based path in etl.jobs.sql_load reads the same lists.
SOURCE_ID = ("source_id", "id", "event_id")
LON, LAT = ("lon", "longitude", "x"), ("lat", "latitude", "y")
PLACE = ("location_name", "location", "place")
ADMIN = ("admin", "admin2", "admin1")
OCCURRED = ("occurred_at", "date", "event_date")
KILLED = ("fatalities", "killed", "deaths")
EVENT_TYPE = ("event_type", "type")


def first(f: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = f.get(name)
        if checks.text(value) is not None:
            return value
    return None


def slug(value: str) -> str:
    value = INVISIBLE.sub("", value)
    return "_".join(value.lower().replace("/", " ").replace("-", " ").split())


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {k.lower(): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    source_id = checks.key(first(f, *SOURCE_ID))
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    lon, lat = checks.feature_point(raw.geometry_wkb, reasons, detail)
    point: tuple[float, float] | None = None
    geocoded = False
    if checks.NOT_A_POINT not in reasons:
        if lon is None:
            lon, lat = first(f, *LON), first(f, *LAT)
        point, geocoded = checks.locate(lon, lat, first(f, *PLACE), first(f, *ADMIN), ctx,
                                        reasons, repairs, detail)
    occurred, until, precision = checks.check_when(first(f, *OCCURRED), ctx, reasons)
    fatalities = checks.check_count(first(f, *KILLED), reasons)
    event_type = checks.text(first(f, *EVENT_TYPE))
    if event_type is None:
        reasons.append(checks.MISSING_FIELD)
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
            "reported_at": None,
            "event_type": slug(event_type),
            "sub_event_type": checks.text(f.get("sub_event_type")),
            "actor1": checks.text(f.get("actor1")),
            "actor2": checks.text(f.get("actor2")),
            "fatalities": fatalities,
            "fatalities_low": None,
            "fatalities_high": None,
            "geo_precision": "settlement" if geocoded else "exact",
            "location_name": checks.text(first(f, *PLACE)),
            "notes": checks.text(f.get("notes")),
            "verification_status": "reported",
            "sensitivity": "public",
            "settlement_id": detail.get("gazetteer_id"),  # the settlement geocoding took
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
