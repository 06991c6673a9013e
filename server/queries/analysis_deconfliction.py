"""The deconfliction check in one statement: for every input geometry, the agreement areas in
force at `:at` that it touches or comes within `:d` metres of, and the settlements and recent aid
deliveries within `:near` metres. Every join is prefiltered with `&&` on an expanded box (GiST),
then decided with ST_Intersects (geometry) or ST_DWithin (geography, metres on the spheroid)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .analysis_common import IN_FORCE, INPUT_GEOMS, STATUS_AT, expand_sql

SQL = f"""
WITH q AS (
  SELECT ord, g, {expand_sql("g", ":d")} AS box, {expand_sql("g", ":near")} AS nbox
  FROM ({INPUT_GEOMS}) i
)
SELECT q.ord,
  coalesce((
    SELECT json_agg(json_build_object(
             'id', x.id, 'name', x.name, 'kind', x.kind, 'status', x.status_at,
             'current_status', x.status, 'parties', x.parties, 'signed_at', x.signed_at,
             'effective_from', x.effective_from, 'effective_to', x.effective_to,
             'distance_m', round(x.distance_m::numeric, 1), 'inside', x.distance_m = 0)
           ORDER BY x.distance_m, x.id)
    FROM (
      SELECT a.*, st.status_at,
             CASE WHEN ST_Intersects(a.geom, q.g) THEN 0.0
                  ELSE ST_Distance(a.geom::geography, q.g::geography) END AS distance_m
      FROM agreement_areas a
      CROSS JOIN LATERAL (SELECT {STATUS_AT} AS status_at) st
      WHERE a.geom && q.box AND {IN_FORCE}
        AND st.status_at = ANY(CAST(:statuses AS text[]))
        AND (ST_Intersects(a.geom, q.g)
             OR (:d > 0 AND ST_DWithin(a.geom::geography, q.g::geography, :d)))
    ) x), '[]'::json) AS areas,
  coalesce((
    SELECT json_agg(json_build_object(
             'id', s.id, 'name', s.name, 'name_ar', s.name_ar, 'population', s.population,
             'distance_m', round(s.distance_m::numeric, 1),
             'lon', round(ST_X(s.geom)::numeric, 6), 'lat', round(ST_Y(s.geom)::numeric, 6))
           ORDER BY s.distance_m, s.id)
    FROM (
      SELECT s.*, ST_Distance(s.geom::geography, q.g::geography) AS distance_m
      FROM settlements s
      WHERE s.geom && q.nbox AND ST_DWithin(s.geom::geography, q.g::geography, :near)
      ORDER BY distance_m LIMIT :limit
    ) s), '[]'::json) AS settlements,
  coalesce((
    SELECT json_agg(json_build_object(
             'id', d.id, 'delivered_at', d.delivered_at, 'method', d.method,
             'cargo_type', d.cargo_type, 'quantity', d.quantity, 'unit', d.unit,
             'organisation', d.organisation, 'location_name', d.location_name,
             'distance_m', round(d.distance_m::numeric, 1),
             'lon', round(ST_X(d.geom)::numeric, 6), 'lat', round(ST_Y(d.geom)::numeric, 6))
           ORDER BY d.delivered_at DESC, d.id)
    FROM (
      SELECT d.*, ST_Distance(d.geom::geography, q.g::geography) AS distance_m
      FROM aid_deliveries d
      WHERE d.geom && q.nbox AND d.delivered_at <= :at AND d.delivered_at > :since
        AND ST_DWithin(d.geom::geography, q.g::geography, :near)
      ORDER BY d.delivered_at DESC LIMIT :limit
    ) d), '[]'::json) AS aid_deliveries
FROM q ORDER BY q.ord
"""  # noqa: S608 - constant fragments only; every value is bound


def check(geoms: list[str], *, srid: int, at: datetime, since: datetime, distance_m: float,
          nearby_m: float, statuses: list[str], limit: int, session: Session) -> list[Any]:
    """One row per input geometry: (ord, areas, settlements, aid_deliveries) as parsed JSON."""
    params = {"geoms": geoms, "srid": srid, "at": at, "since": since, "d": distance_m,
              "near": nearby_m, "statuses": statuses, "limit": limit}
    return list(session.execute(text(SQL), params).all())


def srid_known(srid: int, *, session: Session) -> bool:
    found = session.execute(text("SELECT 1 FROM spatial_ref_sys WHERE srid = :s"), {"s": srid})
    return found.first() is not None
