"""Per-area incident questions. Inside counts come from `area_incident_links` (kept by triggers,
so all 2,000 areas are one indexed scan, not a spatial join); the ring within `:d` metres outside
an area is computed live, prefiltered with `&&` on the area's box grown by `:d` metres."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .analysis_common import expand_sql

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

INSIDE_SQL = f"""
    WITH a AS ({_AREAS})
    SELECT l.area_id, 'inside' AS zone, l.event_type, l.verification_status,
           {_PHASE.format(t="l")} AS phase, count(*) AS n,
           coalesce(sum(l.fatalities), 0) AS fatalities
    FROM area_incident_links l JOIN a ON a.id = l.area_id
    WHERE {_INCIDENT_FILTER.format(t="l")}
    GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constant fragments only

NEAR_SQL = f"""
    WITH a AS (SELECT a.*, a.geom::geography AS geog, {expand_sql("a.geom", ":d")} AS box
               FROM ({_AREAS}) a)
    SELECT a.id AS area_id, 'near' AS zone, i.event_type, i.verification_status,
           {_PHASE.format(t="i")} AS phase, count(*) AS n,
           coalesce(sum(i.fatalities), 0) AS fatalities
    FROM a JOIN incidents i ON i.geom && a.box
    WHERE {_INCIDENT_FILTER.format(t="i")}
      AND NOT ST_Intersects(a.geom, i.geom) AND ST_DWithin(a.geog, i.geom::geography, :d)
    GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constant fragments only

AREAS_SQL = f"""
    SELECT a.id, a.name, a.kind, a.status, a.signed_at, a.effective_from, a.effective_to,
           ST_AsGeoJSON(a.geom, 6) AS geometry
    FROM ({_AREAS}) a ORDER BY a.id
"""  # noqa: S608 - constant fragments only


def _params(ids: list[int] | None, statuses: list[str] | None, start: datetime | None,
            end: datetime | None, types: list[str] | None,
            verifications: list[str] | None) -> dict[str, Any]:
    return {"ids": ids, "statuses": statuses, "start": start, "end": end, "types": types,
            "verifications": verifications}


def list_areas(*, ids: list[int] | None, statuses: list[str] | None, geometry: bool,
               session: Session) -> list[dict[str, Any]]:
    sql = AREAS_SQL if geometry else AREAS_SQL.replace("ST_AsGeoJSON(a.geom, 6)", "NULL")
    rows = session.execute(text(sql), {"ids": ids, "statuses": statuses}).mappings()
    return [dict(r) for r in rows]


def incident_cells(*, ids: list[int] | None, statuses: list[str] | None, start: datetime | None,
                   end: datetime | None, types: list[str] | None, verifications: list[str] | None,
                   distance_m: float, session: Session) -> list[dict[str, Any]]:
    """Counts per (area, zone inside|near, event type, verification status, phase)."""
    params = _params(ids, statuses, start, end, types, verifications)
    rows = [dict(r) for r in session.execute(text(INSIDE_SQL), params).mappings()]
    if distance_m > 0:
        near = session.execute(text(NEAR_SQL), {**params, "d": distance_m}).mappings()
        rows.extend(dict(r) for r in near)
    return rows


COMPLIANCE_SQL = f"""
    WITH a AS ({_AREAS})
    SELECT a.id, a.name, a.kind, a.status, a.signed_at, a.effective_to,
      count(l.*) FILTER (WHERE l.occurred_at >= a.signed_at) AS after_n,
      count(l.*) FILTER (WHERE l.occurred_at < a.signed_at) AS before_n,
      count(l.*) FILTER (WHERE l.occurred_at >= a.signed_at
                          AND l.occurred_at > :at - make_interval(weeks => :recent)) AS recent_n,
      count(l.*) FILTER (WHERE l.occurred_at >= a.signed_at
                          AND l.occurred_at > :at - make_interval(weeks => 2 * :recent)
                          AND l.occurred_at <= :at - make_interval(weeks => :recent)) AS prior_n,
      count(l.*) FILTER (WHERE l.occurred_at >= a.signed_at
                          AND l.verification_status = 'confirmed') AS confirmed_after_n,
      max(l.occurred_at) FILTER (WHERE l.occurred_at >= a.signed_at
                                  AND l.verification_status = 'confirmed') AS last_confirmed_at
    FROM a LEFT JOIN area_incident_links l
      ON l.area_id = a.id AND l.occurred_at <= :at
     AND (a.effective_to IS NULL OR l.occurred_at < a.effective_to)
     AND l.occurred_at >= a.signed_at - make_interval(weeks => :before)
     AND l.verification_status = ANY(CAST(:counted AS text[]))
    WHERE a.signed_at IS NOT NULL AND a.signed_at <= :at
    GROUP BY a.id, a.name, a.kind, a.status, a.signed_at, a.effective_to
"""  # noqa: S608 - constant fragments only


def compliance_rows(*, ids: list[int] | None, statuses: list[str] | None, at: datetime,
                    weeks_before: int, recent_weeks: int, counted: list[str],
                    session: Session) -> list[dict[str, Any]]:
    params = {"ids": ids, "statuses": statuses, "at": at, "before": weeks_before,
              "recent": recent_weeks, "counted": counted}
    return [dict(r) for r in session.execute(text(COMPLIANCE_SQL), params).mappings()]
