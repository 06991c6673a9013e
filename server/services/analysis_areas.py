"""Incidents in and near agreement areas, and compliance per area. No SQL, no FastAPI.

Counts: an incident is *inside* an area when the area's polygon contains it, *near* when it is
outside but within `distance_m` metres (on the spheroid); *before* / *after* signing compare
`occurred_at` with `signed_at` to the second (an incident at the signing second is after).

Each event once (`dedupe`, the default): when two sources report one event (linked by the ETL,
see /analysis/duplicates), only the report standing for it is counted: of two linked reports
the caller sees, the better verified (confirmed, under review, reported, then rejected or
duplicate), among equals the first recorded; the other is left out and counted in
`duplicates_merged`. A report linked only to reports the caller may not see counts as it is.
`dedupe=false` counts every report.

Compliance: violations are incidents inside the area whose verification status is reported,
under review or confirmed (rejected and duplicate reports do not count), from signing to
`at` (or `effective_to`), counted in whole UTC days from the per-day summary (the day of `at`
counts whole unless `at` is midnight; before/after signing stays exact to the second). Rates
are per week:
- `rate_before`: the `weeks_before` weeks before signing; `rate_after`: since signing;
- `rate_recent`: the last `recent_weeks` weeks; `rate_prior`: the `recent_weeks` before those;
- `trend`: rising when rate_recent > 1.25 x rate_prior (and at least one more violation), falling
  when rate_recent < 0.8 x rate_prior, otherwise stable (`new` when the agreement is younger
  than 2 x recent_weeks);
- `risk` = rate_recent + max(0, rate_recent - rate_before): violence now, plus how far it runs
  above the pre-agreement baseline. Sorting by risk puts the areas to raise first on top."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from server.db.tables.agreement_areas import AREA_STATUSES
from server.db.tables.incidents import VERIFICATION_STATUSES
from server.errors import InvalidQueryError, NotFoundError
from server.queries import analysis_areas as q
from server.security.release import Release

COMPLIANCE_SORTS = ("risk", "rate_after", "rate_recent", "change", "days_since_last_confirmed",
                    "name", "id")
SUMMARY_COLUMNS = ["id", "name", "kind", "status", "signed_at", "inside_total", "inside_before",
                   "inside_after", "inside_fatalities", "near_total", "near_before",
                   "near_after", "near_fatalities", "dedupe", "inside_duplicates_merged",
                   "near_duplicates_merged"]
COMPLIANCE_COLUMNS = ["id", "name", "kind", "status", "signed_at", "weeks_since_signing",
                      "violations_before", "violations_after", "rate_before", "rate_after",
                      "change", "rate_recent", "rate_prior", "trend", "confirmed_after",
                      "last_confirmed_day", "days_since_last_confirmed", "risk",
                      "duplicates_merged"]


def check_vocabulary(values: Sequence[str] | None, allowed: Sequence[str],
                     name: str) -> list[str] | None:
    if not values:
        return None
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidQueryError(f"{name} {', '.join(unknown)} unknown; one of "
                                f"{', '.join(allowed)}")
    return list(values)


def _empty_zone() -> dict[str, Any]:
    return {"total": 0, "before_signing": 0, "after_signing": 0, "fatalities": 0,
            "by_event_type": {}, "by_verification_status": {}, "duplicates_merged": 0}


def small(count: int | None, min_count: int | None) -> bool:
    """Whether `count` is a small count (1..min_count-1) to suppress."""
    return bool(min_count and count and 0 < count < min_count)


def suppress_zone(zone: dict[str, Any], min_count: int | None) -> None:
    """Small-count suppression: a zone counting 1..min_count-1 incidents says only that; a
    small number of merged duplicates is left out too."""
    if small(zone["total"], min_count):
        zone.update({"total": None, "before_signing": None, "after_signing": None,
                     "fatalities": None, "by_event_type": {}, "by_verification_status": {},
                     "duplicates_merged": None, "suppressed": f"fewer than {min_count}"})
    elif small(zone["duplicates_merged"], min_count):
        zone["duplicates_merged"] = None


def _check_pairs(rel: Release, *, ids: list[int] | None, statuses: list[str] | None,
                 distance_m: float, max_pairs: int | None, session: Session) -> None:
    """A 400 naming max_area_pairs when a live count would look at more (area, incident)
    pairs: the ring of `distance_m` around the areas, and the areas themselves for a caller
    under release rules (who cannot read the maintained per-area summary). Whatever the time
    window: the live join reads every pair in the areas' boxes."""
    if max_pairs is None or (distance_m == 0 and rel.unrestricted):
        return
    if q.area_pairs(rel, ids=ids, statuses=statuses, distance_m=distance_m,
                    max_pairs=max_pairs, session=session) <= max_pairs:
        return
    where = (f"the chosen agreement areas and the ring of {distance_m:g} m around them"
             if distance_m > 0 else "the chosen agreement areas")
    raise InvalidQueryError(
        f"{where} hold more than {max_pairs:,} (area, incident) pairs to count live: ask fewer "
        f"areas (area_id, status){' or a shorter distance_m' if distance_m > 0 else ''}",
        max_area_pairs=max_pairs)


def incidents_by_area(rel: Release, *, ids: list[int] | None, statuses: Sequence[str] | None,
                      start: datetime | None, end: datetime | None,
                      event_types: Sequence[str] | None, verifications: Sequence[str] | None,
                      distance_m: float, geometry: bool, session: Session,
                      dedupe: bool = True, max_areas: int | None = None,
                      max_pairs: int | None = None) -> list[dict[str, Any]]:
    status_list = check_vocabulary(statuses, AREA_STATUSES, "status")
    verif = check_vocabulary(verifications, VERIFICATION_STATUSES, "verification_status")
    types = list(event_types) if event_types else None
    areas = q.list_areas(ids=ids, statuses=status_list, geometry=geometry,
                         limit=None if max_areas is None else max_areas + 1, session=session)
    if max_areas is not None and len(areas) > max_areas:
        raise InvalidQueryError(f"at most {max_areas:,} agreement areas in one answer (more "
                                f"match): choose them with area_id or status",
                                max_rows=max_areas)
    if ids and len(ids) == 1 and not areas:
        raise NotFoundError(f"no agreement area {ids[0]}")
    _check_pairs(rel, ids=ids, statuses=status_list, distance_m=distance_m, max_pairs=max_pairs,
                 session=session)
    out: dict[int, dict[str, Any]] = {}
    for area in areas:
        zones = {"inside": _empty_zone()}
        if distance_m > 0:
            zones["near"] = _empty_zone()
        out[area["id"]] = {**area, **zones, "distance_m": distance_m, "dedupe": dedupe}
    cells = q.incident_cells(rel, ids=ids, statuses=status_list, start=start, end=end,
                             types=types, verifications=verif, distance_m=distance_m,
                             dedupe=dedupe, session=session)
    for cell in cells:
        zone = out[cell["area_id"]][cell["zone"]]
        n = int(cell["n"])
        zone["duplicates_merged"] += int(cell["merged"])
        zone["total"] += n
        zone["fatalities"] += int(cell["fatalities"])
        if cell["phase"] == "before":
            zone["before_signing"] += n
        elif cell["phase"] == "after":
            zone["after_signing"] += n
        zone["by_event_type"][cell["event_type"]] = (
            zone["by_event_type"].get(cell["event_type"], 0) + n)
        for status in VERIFICATION_STATUSES:
            if cell[status]:
                by_status = zone["by_verification_status"]
                by_status[status] = by_status.get(status, 0) + int(cell[status])
    for row in out.values():
        for name in ("inside", "near"):
            if name in row:
                for key in ("by_event_type", "by_verification_status"):  # all taken away
                    row[name][key] = {k: v for k, v in row[name][key].items() if v}
                suppress_zone(row[name], rel.min_count)
    return list(out.values())


def flatten_summary(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k not in ("inside", "near")}
    for zone in ("inside", "near"):
        data = row.get(zone) or {}
        flat[f"{zone}_total"] = data.get("total")
        flat[f"{zone}_before"] = data.get("before_signing")
        flat[f"{zone}_after"] = data.get("after_signing")
        flat[f"{zone}_fatalities"] = data.get("fatalities")
        flat[f"{zone}_duplicates_merged"] = data.get("duplicates_merged")
    return flat


def _weeks(delta: timedelta) -> float:
    return delta.total_seconds() / (7 * 86400)


def compliance(rel: Release, *, ids: list[int] | None, statuses: Sequence[str] | None,
               at: datetime,
               weeks_before: int, recent_weeks: int, sort: str, descending: bool,
               session: Session, geometry: bool = False,
               dedupe: bool = True, max_pairs: int | None = None) -> list[dict[str, Any]]:
    if sort not in COMPLIANCE_SORTS:
        raise InvalidQueryError(f"sort must be one of {', '.join(COMPLIANCE_SORTS)}")
    if weeks_before < 1 or recent_weeks < 1:
        raise InvalidQueryError("weeks_before and recent_weeks must be at least 1")
    status_list = check_vocabulary(statuses, AREA_STATUSES, "status")
    _check_pairs(rel, ids=ids, statuses=status_list, distance_m=0, max_pairs=max_pairs,
                 session=session)
    last_day = (at - timedelta(microseconds=1)).astimezone(UTC).date()
    rows = q.compliance_rows(rel, ids=ids,
                             statuses=check_vocabulary(statuses, AREA_STATUSES, "status"),
                             at=at, last_day=last_day, weeks_before=weeks_before,
                             recent_weeks=recent_weeks, dedupe=dedupe, session=session)
    out = []
    for r in rows:
        until = min(at, r["effective_to"]) if r["effective_to"] else at
        weeks_after = max(_weeks(until - r["signed_at"]), 1 / 7)
        rate_before = r["before_n"] / weeks_before
        rate_after = r["after_n"] / weeks_after
        rate_recent = r["recent_n"] / min(recent_weeks, weeks_after)
        prior_weeks = min(recent_weeks, max(weeks_after - recent_weeks, 0))
        rate_prior = r["prior_n"] / prior_weeks if prior_weeks > 0 else None
        if weeks_after < 2 * recent_weeks or rate_prior is None:
            trend = "new"
        elif rate_recent > 1.25 * rate_prior and r["recent_n"] > r["prior_n"]:
            trend = "rising"
        elif rate_recent < 0.8 * rate_prior:
            trend = "falling"
        else:
            trend = "stable"
        last = r["last_confirmed_day"]
        out.append({
            "id": r["id"], "name": r["name"], "kind": r["kind"], "status": r["status"],
            "signed_at": r["signed_at"], "weeks_since_signing": round(weeks_after, 2),
            "violations_before": r["before_n"], "violations_after": r["after_n"],
            "rate_before": round(rate_before, 3), "rate_after": round(rate_after, 3),
            "change": round(rate_after - rate_before, 3),
            "rate_recent": round(rate_recent, 3),
            "rate_prior": None if rate_prior is None else round(rate_prior, 3),
            "trend": trend, "confirmed_after": r["confirmed_after_n"],
            "last_confirmed_day": last,
            "days_since_last_confirmed": None if last is None else (at.astimezone(UTC).date() - last).days,
            "risk": round(rate_recent + max(0.0, rate_recent - rate_before), 3),
            "dedupe": dedupe,
            "duplicates_merged": None if small(r["merged_n"], rel.min_count) else r["merged_n"],
        })

    def key(row: dict[str, Any]) -> tuple[int, Any, int]:
        value = row[sort]
        missing = value is None
        return (1 if missing else 0, value if not missing else 0, row["id"])

    out.sort(key=key, reverse=descending)
    if descending:  # keep missing values last either way
        out.sort(key=lambda row: row[sort] is None)
    if geometry:  # the areas' polygons, for the map
        polygons = q.geometries([row["id"] for row in out], session=session)
        for row in out:
            row["geometry"] = polygons.get(row["id"])
    return out
