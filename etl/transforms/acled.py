"""ACLED exports -> incidents. Current 31-column export and the older column names.

geo_precision 1 = the named place, 2 = near it / part of a region, 3 = a larger region;
time_precision 1 = the day, 2 = the week, 3 = the month."""

from __future__ import annotations

from datetime import UTC, datetime

from etl.gazetteer import INVISIBLE
from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

GEO_PRECISION = {"1": "exact", "2": "near", "3": "admin1"}
TIME_PRECISION = {"1": "day", "2": "week", "3": "month"}
# Older exports: column names that changed.
ALIASES = {"geo_precis": "geo_precision", "event_id_no_cnty": "event_id", "ally_actor_1":
           "assoc_actor_1", "ally_actor_2": "assoc_actor_2", "iso3": "iso"}


def _slug(value: str) -> str:
    value = INVISIBLE.sub("", value)
    return "_".join(value.lower().replace("/", " ").replace("-", " ").split())


def _timestamp(value: object) -> datetime | None:
    raw = checks.text(value)
    if raw is None:
        return None
    if raw.isdecimal():
        return datetime.fromtimestamp(int(raw), UTC)
    return checks.parse_datetime(raw)


def to_incident(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {ALIASES.get(k.lower(), k.lower()): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, object] = {}
    source_id = checks.key(f.get("event_id_cnty") or f.get("data_id") or f.get("event_id"))
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    if "__columns__" in f:
        reasons.append(checks.WRONG_COLUMNS)
    point, geocoded = checks.locate(f.get("longitude"), f.get("latitude"), f.get("location"),
                                    f.get("admin2") or f.get("admin1"), ctx, reasons, repairs,
                                    detail)
    occurred = checks.check_date(f.get("event_date"), ctx, reasons)
    fatalities = checks.check_count(f.get("fatalities"), reasons)
    event_type = checks.text(f.get("event_type"))
    if event_type is None:
        reasons.append(checks.MISSING_FIELD)
    try:
        reported = _timestamp(f.get("timestamp"))
    except (ValueError, OverflowError, OSError):
        reasons.append(checks.BAD_DATE)
        reported = None
    since = ctx.options.get("since")
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    assert point is not None and event_type is not None
    if isinstance(since, datetime) and reported is not None and reported < since:
        return Accepted({"source_id": source_id}, merged=True)
    geo = "settlement" if geocoded else GEO_PRECISION.get(
        str(f.get("geo_precision", "")).strip(), "unknown")
    sub = checks.text(f.get("sub_event_type"))
    disorder = checks.text(f.get("disorder_type"))
    notes = checks.text(f.get("notes"))
    source = checks.text(f.get("source"))
    return Accepted(
        {
            "source_id": source_id,
            "occurred_at": occurred,
            "occurred_until": None,
            "time_precision": TIME_PRECISION.get(str(f.get("time_precision", "")).strip(), "day"),
            "reported_at": reported,
            "event_type": _slug(event_type),
            "sub_event_type": sub if not disorder else f"{sub or ''} ({disorder})".strip(),
            "actor1": checks.text(f.get("actor1")),
            "actor2": checks.text(f.get("actor2")),
            "fatalities": fatalities,
            "fatalities_low": None,
            "fatalities_high": None,
            "geo_precision": geo,
            "location_name": checks.text(f.get("location")),
            "notes": notes if not source else f"{notes or ''} [source: {source}]".strip(),
            "verification_status": "reported",
            "sensitivity": "public",
            "settlement_id": detail.get("gazetteer_id"),  # the settlement geocoding took
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
