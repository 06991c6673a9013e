"""Per-area incident questions. Inside counts come from `area_incident_days` (a per-area, per-day
summary kept by triggers, so all 2,000 areas are one scan of the summary, not a spatial join of
10^7 pairs) when the window is whole days; otherwise, and for the ring within `:d` metres outside
an area, they are computed live, prefiltered with `&&` on the area's box grown by `:d` metres.

Each event once (`dedupe`, the default): a report superseded by a linked report of the same event
(analysis_duplicates.SUPERSEDED, over what the caller sees) is not counted and is counted as
`merged` instead. The summary (read only for callers who see every row) also keeps, per row, the
counts of its superseded reports (`m_*`, migration 13d_duplicate_groups), so each event once is
the same scan; the live paths leave out the superseded reports of the caller's own groups
(analysis_common.SUPERSEDED_LIVE), and compliance for a restricted caller takes their days away
from its live per-day rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.security.release import Release

from .analysis_common import INCIDENTS, expand_sql, released_sql
from .analysis_duplicates import SUPERSEDED, any_links, superseded_sql

#: the per-area, per-day summary; for a restricted caller, the same computed live from the
#: incidents released to it (the maintained summary counts every incident); with the columns
#: `merged` (superseded reports left out) and `merged_v` (those of them that were violations)
DAYS = "/*released*/area_incident_days"
#: the superseded reports (ids) when deduplicating, else an empty set
SUPERSEDED_IDS = "/*superseded*/"
_DAY_COUNTS = ("n", "fatalities", "reported", "under_review", "confirmed", "rejected",
               "duplicate")


#: the caller's (released) incident `i` is in the box of area `a2`, written so that the index on
#: the exact points answers it (Release.within): the released points are computed, not indexed
LIVE_BOX = "/*live_box*/"


def _live_days(incidents: str) -> str:
    """The summary's rows computed live from `incidents` (a FROM item, aliased `i`)."""
    return f"""(
    SELECT a2.id AS area_id, (i.occurred_at AT TIME ZONE 'UTC')::date AS day,
           CASE WHEN a2.signed_at IS NULL THEN 'unsigned'
                WHEN i.occurred_at < a2.signed_at THEN 'before' ELSE 'after' END AS phase,
           i.event_type, count(*)::int AS n, coalesce(sum(i.fatalities), 0)::bigint AS fatalities,
           count(*) FILTER (WHERE i.verification_status = 'reported')::int AS reported,
           count(*) FILTER (WHERE i.verification_status = 'under_review')::int AS under_review,
           count(*) FILTER (WHERE i.verification_status = 'confirmed')::int AS confirmed,
           count(*) FILTER (WHERE i.verification_status = 'rejected')::int AS rejected,
           count(*) FILTER (WHERE i.verification_status = 'duplicate')::int AS duplicate
    FROM agreement_areas a2
    JOIN {incidents} i ON {LIVE_BOX} AND ST_Intersects(a2.geom, i.geom)
    WHERE (CAST(:ids AS int[]) IS NULL OR a2.id = ANY(CAST(:ids AS int[])))
    GROUP BY 1, 2, 3, 4)"""  # noqa: S608 - constant fragments only


_LIVE_DAYS = _live_days(INCIDENTS)
# the days of the superseded reports inside each area, to take away from the summary's: the
# few superseded reports first (OFFSET 0 keeps them a subquery), each then finds its areas
# through the areas' index; never the join of every incident with every area
_SUPERSEDED_DAYS = _live_days(
    f"(SELECT i.* FROM ({SUPERSEDED}) sup JOIN {INCIDENTS} i ON i.id = sup.id OFFSET 0)"  # noqa: S608
)
_COLUMNS = ("area_id", "day", "phase", "event_type", *_DAY_COUNTS)
#: the summary with each event once, for a caller who sees every row: the summary also keeps
#: the counts of the superseded reports in each row (`m_*`, migration 13d_duplicate_groups)
_KEPT_DAYS = f"""(
    SELECT b.area_id, b.day, b.phase, b.event_type,
           {", ".join(f"b.{c} - b.m_{c} AS {c}" for c in _DAY_COUNTS)},
           b.m_n AS merged, b.m_reported + b.m_under_review + b.m_confirmed AS merged_v
    FROM area_incident_days b)"""  # noqa: S608 - constant fragments only


def _days(rel: Release, dedupe: bool) -> str:
    """The per-day rows (summary or live) with `merged` and `merged_v`; with `dedupe`, each
    corrected by the days of the superseded reports (joined to its day: right row by row, as
    the last confirmed day needs); for a caller who sees every row, by the counts the summary
    keeps of them (`m_*`)."""
    base = "area_incident_days" if rel.unrestricted else _LIVE_DAYS
    if not dedupe:
        return f"(SELECT b.*, 0 AS merged, 0 AS merged_v FROM {base} b)"  # noqa: S608
    if rel.unrestricted:
        return _KEPT_DAYS
    counts = ", ".join(f"b.{c} - coalesce(c.{c}, 0) AS {c}" for c in _DAY_COUNTS)
    return f"""(
    SELECT b.area_id, b.day, b.phase, b.event_type, {counts}, coalesce(c.n, 0) AS merged,
           coalesce(c.reported + c.under_review + c.confirmed, 0) AS merged_v
    FROM {base} b LEFT JOIN {_SUPERSEDED_DAYS} c USING (area_id, day, phase, event_type))"""  # noqa: S608


#: the superseded reports' own days (as DAYS), to take away from the summed summary's cells
_SUPERSEDED_ONLY = f"(SELECT c.*, c.n AS merged, 0 AS merged_v FROM {_SUPERSEDED_DAYS} c)"  # noqa: S608


def _released(sql: str, rel: Release, params: dict[str, Any], dedupe: bool) -> str:
    sql = sql.replace(DAYS, _days(rel, dedupe)).replace(SUPERSEDED_IDS, superseded_sql(dedupe))
    return _live_boxed(released_sql(sql, rel, params), rel)


def _live_boxed(sql: str, rel: Release) -> str:
    return sql.replace(LIVE_BOX, rel.within("i", "a2.geom"))


_AREAS = """
    SELECT a.id, a.name, a.kind, a.status, a.signed_at, a.effective_from, a.effective_to, a.geom
    FROM agreement_areas a
    WHERE (CAST(:ids AS int[]) IS NULL OR a.id = ANY(CAST(:ids AS int[])))
      AND (CAST(:statuses AS text[]) IS NULL OR a.status = ANY(CAST(:statuses AS text[])))
"""
_INCIDENT_FILTER = """
    (CAST(:start AS timestamptz) IS NULL OR {t}.occurred_at >= :start)
    AND (CAST(:end AS timestamptz) IS NULL OR {t}.occurred_at <= :end)
    AND (CAST(:types AS text[]) IS NULL OR {t}.event_type = ANY(CAST(:types AS text[])))
    AND (CAST(:verifications AS text[]) IS NULL
         OR {t}.verification_status = ANY(CAST(:verifications AS text[])))
"""
_PHASE = """CASE WHEN a.signed_at IS NULL THEN 'unsigned'
                 WHEN {t}.occurred_at < a.signed_at THEN 'before' ELSE 'after' END"""

# live counts of the reports joined to `sup` (the superseded ones): those not superseded count,
# the others are `merged`
_LIVE_COUNTS = """
    count(*) FILTER (WHERE sup.id IS NULL) AS n,
    coalesce(sum({t}.fatalities) FILTER (WHERE sup.id IS NULL), 0) AS fatalities,
    count(*) FILTER (WHERE sup.id IS NULL AND {t}.verification_status = 'reported') AS reported,
    count(*) FILTER (WHERE sup.id IS NULL AND {t}.verification_status = 'under_review')
      AS under_review,
    count(*) FILTER (WHERE sup.id IS NULL AND {t}.verification_status = 'confirmed') AS confirmed,
    count(*) FILTER (WHERE sup.id IS NULL AND {t}.verification_status = 'rejected') AS rejected,
    count(*) FILTER (WHERE sup.id IS NULL AND {t}.verification_status = 'duplicate') AS duplicate,
    count(sup.id) AS merged
"""

# whole UTC days, unfiltered by verification status: from the maintained summary
INSIDE_DAYS_SQL = f"""
    WITH a AS ({_AREAS})
    SELECT d.area_id, 'inside' AS zone, d.event_type, d.phase, sum(d.n) AS n,
           sum(d.fatalities) AS fatalities, sum(d.reported) AS reported,
           sum(d.under_review) AS under_review, sum(d.confirmed) AS confirmed,
           sum(d.rejected) AS rejected, sum(d.duplicate) AS duplicate, sum(d.merged) AS merged
    FROM {DAYS} d JOIN a ON a.id = d.area_id
    WHERE (CAST(:first_day AS date) IS NULL OR d.day >= :first_day)
      AND (CAST(:last_day AS date) IS NULL OR d.day <= :last_day)
      AND (CAST(:types AS text[]) IS NULL OR d.event_type = ANY(CAST(:types AS text[])))
    GROUP BY 1, 2, 3, 4 HAVING sum(d.n) > 0 OR sum(d.merged) > 0
"""  # noqa: S608 - constant fragments only

#: the caller's (released) incident `i` is in the box of the area (`a.geom`, inside) or of its
#: ring (`a.box`), written so that the index on the exact points answers it (Release.within)
NEAR_BOX = "/*near_box*/"

# any window or filter: the spatial join, live
INSIDE_LIVE_SQL = f"""
    WITH a AS ({_AREAS})
    SELECT a.id AS area_id, 'inside' AS zone, i.event_type, {_PHASE.format(t="i")} AS phase,
           {_LIVE_COUNTS.format(t="i")}
    FROM a JOIN {INCIDENTS} i ON {NEAR_BOX} AND ST_Intersects(a.geom, i.geom)
    LEFT JOIN ({SUPERSEDED_IDS}) sup ON sup.id = i.id
    WHERE {_INCIDENT_FILTER.format(t="i")}
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constant fragments only

#: no point this close in degrees is farther than :d metres (no degree is longer than 112 km)
_SURELY_NEAR = ":d / 112000.0"
# the ring: the areas' geography and boxes once each (MATERIALIZED); a point within
# _SURELY_NEAR degrees of the area is in without the geodesic distance, which only the rest need
NEAR_SQL = f"""
    WITH a AS MATERIALIZED (
      SELECT a.*, a.geom::geography AS geog, {expand_sql("a.geom", ":d")} AS box
      FROM ({_AREAS}) a)
    SELECT a.id AS area_id, 'near' AS zone, i.event_type, {_PHASE.format(t="i")} AS phase,
           {_LIVE_COUNTS.format(t="i")}
    FROM a JOIN {INCIDENTS} i ON {NEAR_BOX}
    LEFT JOIN ({SUPERSEDED_IDS}) sup ON sup.id = i.id
    WHERE {_INCIDENT_FILTER.format(t="i")}
      AND NOT ST_Intersects(a.geom, i.geom)
      AND (ST_DWithin(a.geom, i.geom, {_SURELY_NEAR}) OR ST_DWithin(a.geog, i.geom::geography, :d))
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constant fragments only
#: the pairs (area, incident in its box grown by :d metres, 0 for the area alone) a live count
#: looks at, whatever the other filters (the live join reads them all: a time window is not
#: what its index answers), counted up to one past :max_pairs: a question over more is refused
#: before it starts
AREA_PAIRS_SQL = f"""
    WITH a AS MATERIALIZED (SELECT a.*, {expand_sql("a.geom", ":d")} AS box FROM ({_AREAS}) a)
    SELECT count(*) FROM (
      SELECT 1 FROM a CROSS JOIN LATERAL (
        SELECT 1 FROM {INCIDENTS} i WHERE {NEAR_BOX} LIMIT :max_pairs + 1) i
      LIMIT :max_pairs + 1) pairs
"""  # noqa: S608 - constant fragments only (each area probes the index on its own box)

AREAS_SQL = f"""
    SELECT a.id, a.name, a.kind, a.status, a.signed_at, a.effective_from, a.effective_to,
           ST_AsGeoJSON(a.geom, 6) AS geometry
    FROM ({_AREAS}) a ORDER BY a.id LIMIT :limit
"""  # noqa: S608 - constant fragments only


def _params(ids: list[int] | None, statuses: list[str] | None, start: datetime | None,
            end: datetime | None, types: list[str] | None,
            verifications: list[str] | None) -> dict[str, Any]:
    return {"ids": ids, "statuses": statuses, "start": start, "end": end, "types": types,
            "verifications": verifications}


def list_areas(*, ids: list[int] | None, statuses: list[str] | None, geometry: bool,
               limit: int | None = None, session: Session) -> list[dict[str, Any]]:
    sql = AREAS_SQL if geometry else AREAS_SQL.replace("ST_AsGeoJSON(a.geom, 6)", "NULL")
    rows = session.execute(text(sql), {"ids": ids, "statuses": statuses,
                                       "limit": limit}).mappings()
    return [dict(r) for r in rows]


def _whole_days(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None] | None:
    """The window as whole UTC days, or None when a bound falls inside a day."""
    first = last = None
    if start is not None:
        start = start.astimezone(UTC)
        if start.time() != time(0):
            return None
        first = start.date()
    if end is not None:
        end = end.astimezone(UTC)
        if end.time() < time(23, 59, 59):
            return None
        last = end.date()
    return first, last


def incident_cells(rel: Release, *, ids: list[int] | None, statuses: list[str] | None,
                   start: datetime | None, end: datetime | None, types: list[str] | None,
                   verifications: list[str] | None, distance_m: float, dedupe: bool,
                   session: Session) -> list[dict[str, Any]]:
    """Counts per (area, zone inside|near, event type, phase), with counts per verification
    status, of the incidents `rel` releases, and `merged`: the superseded reports left out
    (each event once) when `dedupe`. Inside: from the per-day summary when the window is whole
    UTC days, no verification filter applies (the usual question) and the caller sees every
    incident; otherwise live. Cells of one key (inside, near) are summed by the caller."""
    params = _params(ids, statuses, start, end, types, verifications)
    dedupe = dedupe and any_links(session)
    days = _whole_days(start, end) if verifications is None and rel.unrestricted else None
    if days is not None:
        # the summary (only a caller who sees every row reads it), whose rows also count their
        # superseded reports: each event once in the same scan
        params.update(first_day=days[0], last_day=days[1])
        inside = session.execute(text(_released(INSIDE_DAYS_SQL, rel, params, dedupe)), params)
        rows = [dict(r) for r in inside.mappings()]
    else:
        sql = _released(INSIDE_LIVE_SQL, rel, params, dedupe)
        inside = session.execute(text(sql.replace(NEAR_BOX, rel.within("i", "a.geom"))), params)
        rows = [dict(r) for r in inside.mappings()]
    if distance_m > 0:
        params["d"] = distance_m
        near = session.execute(text(_near(NEAR_SQL, rel, params, dedupe)), params).mappings()
        rows.extend(dict(r) for r in near)
    return rows


def _near(sql: str, rel: Release, params: dict[str, Any], dedupe: bool) -> str:
    return _released(sql, rel, params, dedupe).replace(NEAR_BOX, rel.within("i", "a.box"))


def area_pairs(rel: Release, *, ids: list[int] | None, statuses: list[str] | None,
               distance_m: float, max_pairs: int, session: Session) -> int:
    """How many (area, incident) pairs a live count within `distance_m` of the areas (0: in
    them) looks at, counted up to `max_pairs` + 1: the incidents `rel` releases in each area's
    box grown by the distance."""
    params = {**_params(ids, statuses, None, None, None, None), "d": distance_m,
              "max_pairs": max_pairs}
    return int(session.execute(text(_near(AREA_PAIRS_SQL, rel, params, False)), params)
               .scalar_one())


COMPLIANCE_SQL = f"""
    WITH a AS ({_AREAS})
    SELECT a.id, a.name, a.kind, a.status, a.signed_at, a.effective_to,
      coalesce(sum(d.v) FILTER (WHERE d.phase = 'after'), 0) AS after_n,
      coalesce(sum(d.v) FILTER (WHERE d.phase = 'before'), 0) AS before_n,
      coalesce(sum(d.v) FILTER (WHERE d.phase = 'after'
                                 AND d.day > CAST(:last_day AS date) - 7 * :recent), 0)
        AS recent_n,
      coalesce(sum(d.v) FILTER (WHERE d.phase = 'after'
                                 AND d.day > CAST(:last_day AS date) - 14 * :recent
                                 AND d.day <= CAST(:last_day AS date) - 7 * :recent), 0)
        AS prior_n,
      coalesce(sum(d.confirmed) FILTER (WHERE d.phase = 'after'), 0) AS confirmed_after_n,
      max(d.day) FILTER (WHERE d.phase = 'after' AND d.confirmed > 0) AS last_confirmed_day,
      coalesce(sum(d.merged_v), 0) AS merged_n
    FROM a LEFT JOIN (
      SELECT d.*, d.reported + d.under_review + d.confirmed AS v FROM {DAYS} d
    ) d ON d.area_id = a.id AND d.day <= CAST(:last_day AS date)
       AND d.day >= (a.signed_at AT TIME ZONE 'UTC')::date - 7 * :before
       AND (a.effective_to IS NULL OR d.day < (a.effective_to AT TIME ZONE 'UTC')::date)
    WHERE a.signed_at IS NOT NULL AND a.signed_at <= :at
    GROUP BY a.id, a.name, a.kind, a.status, a.signed_at, a.effective_to
"""  # noqa: S608 - constant fragments only


def compliance_rows(rel: Release, *, ids: list[int] | None, statuses: list[str] | None,
                    at: datetime, last_day: date, weeks_before: int, recent_weeks: int,
                    dedupe: bool, session: Session) -> list[dict[str, Any]]:
    """Violations (reported + under review + confirmed) per area from the per-day summary
    (live from the released incidents for a restricted caller), up to and including
    `last_day` (UTC); with `dedupe`, superseded reports left out (`merged_n` of them)."""
    params: dict[str, Any] = {"ids": ids, "statuses": statuses, "at": at, "last_day": last_day,
                              "before": weeks_before, "recent": recent_weeks}
    dedupe = dedupe and any_links(session)
    # a caller who sees every row: the summary keeps the superseded reports' counts per row, so
    # each event once costs nothing more than the scan
    sql = _released(COMPLIANCE_SQL, rel, params, dedupe and rel.unrestricted)
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    if not dedupe or rel.unrestricted:
        return rows
    # the superseded reports' violations per area, taken away from the sums (nothing added to
    # the summary's scan); an area whose last confirmed day had some of them is asked again
    # with its days corrected one by one (the only figure a sum cannot correct)
    superseded = _SUPERSEDED_ONLY.replace("0 AS merged_v",
                                          "c.reported + c.under_review + c.confirmed AS merged_v")
    sql = _live_boxed(released_sql(COMPLIANCE_SQL.replace(DAYS, superseded), rel, params), rel)
    taken = {r["id"]: r for r in session.execute(text(sql), params).mappings()}
    again = []
    for row in rows:
        c = taken[row["id"]]
        for key in ("after_n", "before_n", "recent_n", "prior_n", "confirmed_after_n"):
            row[key] -= c[key]
        row["merged_n"] = c["merged_n"]
        if c["last_confirmed_day"] is not None and c["last_confirmed_day"] == row["last_confirmed_day"]:
            again.append(row["id"])
    if again:
        params["ids"] = again
        sql = _released(COMPLIANCE_SQL, rel, params, True)
        last = {r["id"]: r["last_confirmed_day"] for r in session.execute(text(sql), params).mappings()}
        for row in rows:
            if row["id"] in last:
                row["last_confirmed_day"] = last[row["id"]]
    return rows


def geometries(ids: list[int], *, session: Session) -> dict[int, str]:
    """Each listed agreement area's polygon as GeoJSON text (for answers drawn on the map)."""
    if not ids:
        return {}
    sql = """SELECT id, ST_AsGeoJSON(geom, 6) AS geometry FROM agreement_areas
             WHERE id = ANY(CAST(:ids AS int[]))"""
    rows = session.execute(text(sql), {"ids": sorted(set(ids))}).all()
    return {int(r.id): r.geometry for r in rows}
