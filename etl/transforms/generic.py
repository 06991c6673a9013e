"""Generic CSV / GeoJSON rows -> incidents, after the runner applied the column mapping
(`--mapping FILE`: {"source_id": "ID", "occurred_at": "Date", "lat": "Y", ...})."""

from __future__ import annotations

from typing import Any

import shapely

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks


def first(f: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = f.get(name)
        if checks.text(value) is not None:
            return value
    return None


def lonlat(raw: RawRecord) -> tuple[Any, Any]:
    """Coordinates from the feature's point geometry (any SRID is the reader's business)."""
    if raw.geometry_wkb is None:
        return None, None
    geom = shapely.from_wkb(raw.geometry_wkb)
    if geom.is_empty:
        return None, None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return point.x, point.y


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {k.lower(): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    source_id = checks.text(first(f, "source_id", "id", "event_id"))
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    lon, lat = lonlat(raw)
    if lon is None:
        lon, lat = first(f, "lon", "longitude", "x"), first(f, "lat", "latitude", "y")
    point, geocoded = checks.locate(lon, lat, first(f, "location_name", "location", "place"),
                                    first(f, "admin", "admin2", "admin1"), ctx, reasons, repairs,
                                    detail)
    occurred = checks.check_date(first(f, "occurred_at", "date", "event_date"), ctx, reasons)
    fatalities = checks.check_count(first(f, "fatalities", "killed", "deaths"), reasons)
    event_type = checks.text(first(f, "event_type", "type"))
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
            "occurred_until": None,
            "time_precision": "day",
            "reported_at": None,
            "event_type": "_".join(event_type.lower().replace("/", " ").replace("-", " ").split()),
            "sub_event_type": checks.text(f.get("sub_event_type")),
            "actor1": checks.text(f.get("actor1")),
            "actor2": checks.text(f.get("actor2")),
            "fatalities": fatalities,
            "fatalities_low": None,
            "fatalities_high": None,
            "geo_precision": "settlement" if geocoded else "exact",
            "location_name": checks.text(first(f, "location_name", "location", "place")),
            "notes": checks.text(f.get("notes")),
            "verification_status": "reported",
            "sensitivity": "public",
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
