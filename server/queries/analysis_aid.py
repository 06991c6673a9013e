"""Aid questions: gaps (signed places without a recent delivery) and convoy risk (deliveries near
an incident in space and time). Every proximity join is `&&`-prefiltered, then decided on the
spheroid with geography."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.security.release import Release

from .analysis_common import IN_FORCE, INCIDENTS, STATUS_AT, expand_sql, released_sql
from .analysis_duplicates import any_links, distinct_events

_SIGNED_AREAS = f"""
    SELECT a.* FROM agreement_areas a
    WHERE {IN_FORCE} AND ({STATUS_AT}) = ANY(CAST(:statuses AS text[]))
"""  # noqa: S608 - constant fragments only

SETTLEMENT_GAPS_SQL = f"""
WITH signed AS ({_SIGNED_AREAS}),
s AS (
  SELECT DISTINCT ON (s.id) s.id, s.name, s.name_ar, coalesce(s.population, 0) AS population,
         s.geom, sa.id AS area_id, sa.name AS area_name
  FROM settlements s JOIN signed sa ON sa.geom && s.geom AND ST_Intersects(sa.geom, s.geom)
  ORDER BY s.id, sa.id
)
SELECT s.id, s.name, s.name_ar, s.population, s.area_id, s.area_name,
       last.delivered_at AS last_delivery_at,
       round(nearest.distance_m::numeric, 1) AS nearest_recent_delivery_m,
       nearest.id AS nearest_recent_delivery_id,
       ST_AsGeoJSON(s.geom, 6) AS geometry
FROM s
LEFT JOIN LATERAL (
  SELECT max(d.delivered_at) AS delivered_at FROM aid_deliveries d
  WHERE d.delivered_at <= :at
    AND (d.settlement_id = s.id OR (d.geom && {expand_sql("s.geom", ":radius")}
         AND ST_DWithin(d.geom::geography, s.geom::geography, :radius)))
) last ON true
LEFT JOIN LATERAL (
  SELECT d.id, ST_Distance(d.geom::geography, s.geom::geography) AS distance_m
  FROM aid_deliveries d WHERE d.delivered_at <= :at AND d.delivered_at > :since
  ORDER BY d.geom <-> s.geom LIMIT 1
) nearest ON true
WHERE last.delivered_at IS NULL OR last.delivered_at <= :since
"""  # noqa: S608 - constant fragments only

AREA_GAPS_SQL = f"""
WITH signed AS ({_SIGNED_AREAS})
SELECT a.id, a.name, a.status, a.signed_at,
       (SELECT coalesce(sum(s.population), 0) FROM settlements s
         WHERE s.geom && a.geom AND ST_Intersects(a.geom, s.geom)) AS population,
       last.delivered_at AS last_delivery_at,
       round(nearest.distance_m::numeric, 1) AS nearest_recent_delivery_m,
       nearest.id AS nearest_recent_delivery_id,
       ST_AsGeoJSON(a.geom, 6) AS geometry
FROM signed a
LEFT JOIN LATERAL (
  SELECT max(d.delivered_at) AS delivered_at FROM aid_deliveries d
  WHERE d.delivered_at <= :at
    AND (d.agreement_area_id = a.id OR (d.geom && a.geom AND ST_Intersects(a.geom, d.geom)))
) last ON true
LEFT JOIN LATERAL (
  SELECT d.id, ST_Distance(d.geom::geography, a.geom::geography) AS distance_m
  FROM aid_deliveries d WHERE d.delivered_at <= :at AND d.delivered_at > :since
  ORDER BY d.geom <-> a.geom LIMIT 1
) nearest ON true
WHERE last.delivered_at IS NULL OR last.delivered_at <= :since
"""  # noqa: S608 - constant fragments only


# the service's priority (population x days without a delivery, at most 365), so that the cap
# keeps the places that come first
_FIRST = """
SELECT * FROM ({gaps}) g
ORDER BY coalesce(g.population, 0) * CASE WHEN g.last_delivery_at IS NULL THEN 365
           ELSE least(365, floor(extract(epoch FROM :at - g.last_delivery_at) / 86400)) END DESC,
         g.id
LIMIT :limit
"""


def gaps(*, by: str, at: datetime, since: datetime, radius_m: float, statuses: list[str],
         limit: int, session: Session) -> list[dict[str, Any]]:
    """The `limit` places of highest priority."""
    sql = _FIRST.format(gaps=SETTLEMENT_GAPS_SQL if by == "settlement" else AREA_GAPS_SQL)
    params = {"at": at, "since": since, "radius": radius_m, "statuses": statuses,
              "limit": limit}
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


RISK_SQL = f"""
SELECT d.id, d.delivered_at, d.method, d.cargo_type, d.organisation, d.location_name,
       d.settlement_id, d.agreement_area_id, near.incidents, near.fatalities,
       round(near.nearest_m::numeric, 1) AS nearest_incident_m,
       round(near.closest_hours::numeric, 2) AS closest_incident_hours, near.incident_ids,
       ST_AsGeoJSON(d.geom, 6) AS geometry
FROM aid_deliveries d
CROSS JOIN LATERAL (
  SELECT count(*) AS incidents, coalesce(sum(i.fatalities), 0) AS fatalities,
         min(ST_Distance(i.geom::geography, d.geom::geography)) AS nearest_m,
         min(abs(extract(epoch FROM i.occurred_at - d.delivered_at)) / 3600) AS closest_hours,
         (array_agg(i.id ORDER BY i.id))[1:20] AS incident_ids
  FROM {INCIDENTS} i
  WHERE i.geom && {expand_sql("d.geom", ":d")}
    AND i.occurred_at BETWEEN d.delivered_at - CAST(:hours AS float8) * interval '1 hour'
                          AND d.delivered_at + CAST(:hours AS float8) * interval '1 hour'
    AND i.verification_status <> ALL(CAST(:excluded AS text[]))
    AND ST_DWithin(i.geom::geography, d.geom::geography, :d)
    AND /*dedupe*/
) near
WHERE near.incidents > 0
  AND (CAST(:start AS timestamptz) IS NULL OR d.delivered_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR d.delivered_at <= :end)
ORDER BY near.incidents DESC, d.delivered_at DESC, d.id
LIMIT :limit
"""  # noqa: S608 - constant fragments only


def risk(rel: Release, *, distance_m: float, hours: float, start: datetime | None,
         end: datetime | None, excluded: list[str], limit: int, dedupe: bool,
         session: Session) -> list[dict[str, Any]]:
    """Deliveries near incidents; with `dedupe` each event once (superseded reports left out,
    see analysis_duplicates)."""
    params: dict[str, Any] = {"d": distance_m, "hours": hours, "start": start, "end": end,
                              "excluded": excluded, "limit": limit}
    dedupe = dedupe and any_links(session)
    sql = released_sql(RISK_SQL.replace("/*dedupe*/", distinct_events("i", dedupe)), rel, params)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]
