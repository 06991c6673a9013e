"""UCDP GED rows -> incidents. Codebook 19.1: date_prec 1-5, where_prec 1-7, type_of_violence 1-3."""

from __future__ import annotations

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

EVENT_TYPES = {"1": "state_based_violence", "2": "non_state_violence", "3": "one_sided_violence"}
TIME_PRECISION = {"1": "day", "2": "days", "3": "week", "4": "month", "5": "year"}
GEO_PRECISION = {"1": "exact", "2": "near", "3": "admin2", "4": "admin1", "5": "admin1",
                 "6": "country", "7": "unknown"}


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    source_id = checks.key(f.get("id"))
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    point = checks.check_point(f.get("longitude"), f.get("latitude"), ctx, reasons, repairs)
    start = checks.check_date(f.get("date_start"), ctx, reasons)
    end = checks.check_date(f.get("date_end"), ctx, reasons, required=False)
    best = checks.check_count(f.get("best"), reasons)
    low = checks.check_count(f.get("low"), reasons)
    high = checks.check_count(f.get("high"), reasons)
    event_type = EVENT_TYPES.get(str(f.get("type_of_violence", "")).strip())
    if event_type is None:
        reasons.append(checks.BAD_VOCAB)
    checks.check_order(start, end, reasons)
    checks.check_fatalities(low, best, high, reasons)
    if reasons:
        return Rejected(tuple(dict.fromkeys(reasons)), {"source_id": source_id})
    assert point is not None
    clarity = str(f.get("event_clarity", "1")).strip()
    return Accepted(
        {
            "source_id": source_id,
            "occurred_at": start,
            "occurred_until": end if end and end != start else None,
            "time_precision": TIME_PRECISION.get(str(f.get("date_prec", "")).strip(), "day"),
            "reported_at": None,
            "event_type": event_type,
            "sub_event_type": checks.text(f.get("conflict_name")),
            "actor1": checks.text(f.get("side_a")),
            "actor2": checks.text(f.get("side_b")),
            "fatalities": best,
            "fatalities_low": low,
            "fatalities_high": high,
            "geo_precision": GEO_PRECISION.get(str(f.get("where_prec", "")).strip(), "unknown"),
            "location_name": checks.text(f.get("where_coordinates")),
            "notes": checks.text(f.get("source_headline")),
            "verification_status": "confirmed" if clarity == "1" else "reported",
            "sensitivity": "public",
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
