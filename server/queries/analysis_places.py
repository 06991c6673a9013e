"""Nearest places (KNN with `<->` on the GiST index, then the spheroid distance), the geometry
of an exposure question, the raster catalogue look-up, and the pieces of the area report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.security.release import Release

from .analysis_common import INCIDENTS, STATUS_AT, released_sql

_NEAREST = {
    "settlements": ("settlements", "t.name, t.name_ar, t.population"),
    "aid_deliveries": ("aid_deliveries", "t.delivered_at, t.method, t.cargo_type, "
                       "t.organisation, t.location_name"),
    "agreement_areas": ("agreement_areas", "t.name, t.kind, t.status, t.signed_at, t.parties"),
}
NEAREST_KINDS = tuple(_NEAREST)


def nearest(kind: str, *, lon: float, lat: float, n: int, start: datetime | None,
            end: datetime | None, session: Session) -> list[dict[str, Any]]:
    """The n nearest rows of a whitelisted layer; candidates by `<->` (planar degrees), then
    re-ranked by the spheroid distance (a few extra candidates cover the difference)."""
    table, columns = _NEAREST[kind]
    time_filter = ("AND (CAST(:start AS timestamptz) IS NULL OR t.delivered_at >= :start) "
                   "AND (CAST(:end AS timestamptz) IS NULL OR t.delivered_at <= :end)"
                   if kind == "aid_deliveries" else "")
    sql = f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
        c AS (SELECT t.id, {columns}, t.geom FROM {table} t, p WHERE TRUE {time_filter}
              ORDER BY t.geom <-> p.g LIMIT :candidates)
        SELECT c.*, round(ST_Distance(c.geom::geography, p.g::geography)::numeric, 1)
                 AS distance_m,
               ST_AsGeoJSON(c.geom, 6) AS geometry
        FROM c, p ORDER BY distance_m, c.id LIMIT :n
    """  # noqa: S608 - table and columns from the whitelist above
    params = {"lon": lon, "lat": lat, "n": n, "candidates": n * 2 + 10, "start": start,
              "end": end}
    rows = [dict(r) for r in session.execute(text(sql), params).mappings()]
    for row in rows:
        row.pop("geom", None)
    return rows


# at most :max + 1 incidents are read; the zone is built only when they are no more than :max
EXPOSURE_INCIDENTS_SQL = f"""
    WITH m AS (SELECT i.geom FROM {INCIDENTS} i WHERE /*where*/ LIMIT :max + 1)
    SELECT (SELECT count(*) FROM m) AS incidents,
           CASE WHEN (SELECT count(*) FROM m) <= :max THEN (
             SELECT ST_AsGeoJSON(ST_Union(ST_Buffer(m.geom::geography, :d,
                                                    'quad_segs=16')::geometry), 7) FROM m)
           END AS geometry
"""  # noqa: S608 - constant fragments only

_EXPOSURE_WHERE = """ (CAST(:start AS timestamptz) IS NULL OR i.occurred_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR i.occurred_at <= :end)
      AND (CAST(:types AS text[]) IS NULL OR i.event_type = ANY(CAST(:types AS text[])))
      AND (CAST(:ids AS bigint[]) IS NULL OR i.id = ANY(CAST(:ids AS bigint[])))
      AND (CAST(:minx AS float8) IS NULL
           OR i.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
"""
EXPOSURE_INCIDENTS_SQL = EXPOSURE_INCIDENTS_SQL.replace("/*where*/", _EXPOSURE_WHERE)


def incidents_buffer(rel: Release, *, distance_m: float, start: datetime | None, end: datetime | None,
                     types: list[str] | None, ids: list[int] | None,
                     bbox: tuple[float, float, float, float] | None, max_incidents: int,
                     session: Session) -> tuple[int, str | None]:
    """(incidents, zone): the zone is None when there are more than `max_incidents` (then the
    count is `max_incidents` + 1: no more are read)."""
    box = bbox or (None, None, None, None)
    params = {"max": max_incidents, "d": distance_m, "start": start, "end": end, "types": types, "ids": ids,
              "minx": box[0], "miny": box[1], "maxx": box[2], "maxy": box[3]}
    sql = released_sql(EXPOSURE_INCIDENTS_SQL, rel, params)
    count, geometry = session.execute(text(sql), params).one()
    return int(count), geometry


def area_geometry(area_id: int, *, distance_m: float, session: Session) -> str | None:
    sql = """SELECT ST_AsGeoJSON(CASE WHEN :d > 0
                 THEN ST_Buffer(geom::geography, :d, 'quad_segs=16')::geometry ELSE geom END, 7)
             FROM agreement_areas WHERE id = :id"""
    return session.execute(text(sql), {"id": area_id, "d": distance_m}).scalar()


def raster_entry(name: str | None, *, session: Session,
                 kind: str = "population") -> dict[str, Any] | None:
    """A raster from the ETL catalogue table `rasters` (when that table exists): by name, or
    the most recent of a kind."""
    if session.execute(text("SELECT to_regclass('rasters')")).scalar() is None:
        return None
    sql = ("SELECT * FROM rasters WHERE name = :n" if name is not None else
           "SELECT * FROM rasters WHERE kind = :k ORDER BY updated_at DESC, id DESC LIMIT 1")
    found = session.execute(text(sql), {"n": name, "k": kind}).mappings().first()
    return dict(found) if found else None


def area(area_id: int, *, at: datetime, session: Session) -> dict[str, Any] | None:
    sql = f"""
        SELECT a.id, a.source_id, a.name, a.kind, a.status, {STATUS_AT} AS status_at,
               a.signed_at, a.effective_from, a.effective_to, a.parties, a.document_ref,
               a.admin_pcode, a.notes,
               round((ST_Area(a.geom::geography) / 1e6)::numeric, 3) AS area_km2,
               ST_AsGeoJSON(a.geom, 6) AS geometry
        FROM agreement_areas a WHERE a.id = :id
    """  # noqa: S608 - constant fragments only
    found = session.execute(text(sql), {"id": area_id, "at": at}).mappings().first()
    return dict(found) if found else None


def area_history(area_id: int, *, session: Session) -> list[dict[str, Any]]:
    sql = """SELECT effective_at, changed_at, previous_status, status, geometry_changed, reason,
                    changed_by
             FROM agreement_area_history WHERE area_id = :id ORDER BY changed_at, id"""
    return [dict(r) for r in session.execute(text(sql), {"id": area_id}).mappings()]


def area_deliveries(area_id: int, *, at: datetime, limit: int,
                    session: Session) -> list[dict[str, Any]]:
    sql = """
        SELECT d.id, d.delivered_at, d.method, d.cargo_type, d.quantity, d.unit, d.organisation,
               d.location_name, round(ST_X(d.geom)::numeric, 6) AS lon,
               round(ST_Y(d.geom)::numeric, 6) AS lat
        FROM aid_deliveries d JOIN agreement_areas a ON a.id = :id
        WHERE d.delivered_at <= :at
          AND (d.agreement_area_id = a.id OR (d.geom && a.geom AND ST_Intersects(a.geom, d.geom)))
        ORDER BY d.delivered_at DESC, d.id LIMIT :limit
    """
    params = {"id": area_id, "at": at, "limit": limit}
    return [dict(r) for r in session.execute(text(sql), params).mappings()]
