"""SQL of the situation report: one agreement area, and the incidents and aid deliveries in it or
within a distance of it over a period. GeoJSON is built in PostGIS; every value is bound.

Distances are in metres through `geography`; a bounding-box test on the indexed geometry column
(the area's box grown by the distance in degrees) runs first so the spatial index is used."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.security.release import Release

from .analysis_common import INCIDENTS, released_sql

# The area's box grown by :buffer_m metres, in degrees (longitude degrees shrink with latitude).
_AREA = """
    area AS (
        SELECT a.geom, a.geom::geography AS geog,
               ST_Expand(a.geom, :buffer_m / (111320.0 * cos(radians(
                   least(85.0, greatest(abs(ST_YMin(a.geom)), abs(ST_YMax(a.geom)))))))) AS box
        FROM agreement_areas a WHERE a.id = :area_id)
"""

_GET_AREA = text("""
    SELECT json_build_object(
               'type', 'Feature', 'id', a.id,
               'geometry', ST_AsGeoJSON(a.geom, 6)::json,
               'properties', json_build_object(
                   'id', a.id, 'name', a.name, 'kind', a.kind, 'status', a.status,
                   'signed_at', a.signed_at, 'effective_from', a.effective_from,
                   'effective_to', a.effective_to, 'parties', a.parties,
                   'document_ref', a.document_ref, 'source', a.source,
                   'source_id', a.source_id)) AS feature,
           a.signed_at,
           ST_AsGeoJSON(b.ring, 6)::json AS buffer,
           ST_XMin(b.ring) AS minx, ST_YMin(b.ring) AS miny,
           ST_XMax(b.ring) AS maxx, ST_YMax(b.ring) AS maxy
    FROM agreement_areas a
    CROSS JOIN LATERAL (
        SELECT CASE WHEN :buffer_m > 0 THEN ST_Buffer(a.geom::geography, :buffer_m)::geometry
                    ELSE a.geom END AS ring) b
    WHERE a.id = :area_id
""")

_INCIDENTS = f"""
    WITH {_AREA},
    hits AS (
        SELECT i.*, ST_Intersects(i.geom, area.geom) AS inside,
               round(ST_Distance(i.geom::geography, area.geog))::int AS distance_m,
               row_number() OVER (ORDER BY i.occurred_at, i.id) AS rn
        FROM {INCIDENTS} i, area
        WHERE i.occurred_at >= :start AND i.occurred_at <= :end
          AND i.geom && area.box
          AND ST_DWithin(i.geom::geography, area.geog, :buffer_m)
          AND i.sensitivity = 'public'
          AND i.verification_status NOT IN ('rejected', 'duplicate'))
    SELECT count(*) AS total,
           count(*) FILTER (WHERE inside) AS inside,
           coalesce(sum(fatalities), 0) AS fatalities,
           coalesce(json_agg(json_build_object(
               'type', 'Feature', 'id', id,
               'geometry', ST_AsGeoJSON(geom, 6)::json,
               'properties', json_build_object(
                   'occurred_at', occurred_at, 'occurred_until', occurred_until,
                   'event_type', event_type, 'sub_event_type', sub_event_type,
                   'actor1', actor1, 'actor2', actor2, 'fatalities', fatalities,
                   'verification_status', verification_status, 'location_name', location_name,
                   'geo_precision', geo_precision, 'source', source, 'source_id', source_id,
                   'inside', inside, 'distance_m', distance_m))
               ORDER BY rn) FILTER (WHERE rn <= :limit), '[]'::json) AS features
    FROM hits
"""  # noqa: S608 - constant SQL, no input spliced

_DELIVERIES = text(f"""
    WITH {_AREA},
    hits AS (
        SELECT d.*, ST_Intersects(d.geom, area.geom) AS inside,
               round(ST_Distance(d.geom::geography, area.geog))::int AS distance_m,
               row_number() OVER (ORDER BY d.delivered_at, d.id) AS rn
        FROM aid_deliveries d, area
        WHERE d.delivered_at >= :start AND d.delivered_at <= :end
          AND (d.agreement_area_id = :area_id
               OR (d.geom && area.box AND ST_DWithin(d.geom::geography, area.geog, :buffer_m))))
    SELECT count(*) AS total,
           coalesce(json_agg(json_build_object(
               'type', 'Feature', 'id', id,
               'geometry', ST_AsGeoJSON(geom, 6)::json,
               'properties', json_build_object(
                   'delivered_at', delivered_at, 'method', method, 'cargo_type', cargo_type,
                   'quantity', quantity, 'unit', unit, 'organisation', organisation,
                   'location_name', location_name, 'agreement_area_id', agreement_area_id,
                   'source', source, 'source_id', source_id,
                   'inside', inside, 'distance_m', distance_m))
               ORDER BY rn) FILTER (WHERE rn <= :limit), '[]'::json) AS features
    FROM hits
""")  # noqa: S608 - constant SQL, no input spliced

_INCIDENT_RANGE = f"SELECT min(i.occurred_at), max(i.occurred_at) FROM {INCIDENTS} i"  # noqa: S608


def get_area(area_id: int, *, buffer_m: float, session: Session) -> dict[str, Any] | None:
    """The area as a GeoJSON Feature, its signing time, the ring `buffer_m` around it and the ring's
    bounds; None when there is no such area."""
    row = session.execute(_GET_AREA, {"area_id": area_id, "buffer_m": buffer_m}).mappings().first()
    if row is None:
        return None
    return {"feature": row["feature"], "signed_at": row["signed_at"], "buffer": row["buffer"],
            "bounds": (row["minx"], row["miny"], row["maxx"], row["maxy"])}


def list_incidents(area_id: int, start: datetime, end: datetime, rel: Release, *,
                   buffer_m: float, limit: int, session: Session) -> dict[str, Any]:
    """Public, not rejected/duplicate incidents released by `rel` (alias "i") within `buffer_m`
    of the area in [start, end]: {total, inside, fatalities, features (the first `limit`,
    earliest first)}."""
    params: dict[str, Any] = {"area_id": area_id, "start": start, "end": end,
                              "buffer_m": buffer_m, "limit": limit}
    sql = released_sql(_INCIDENTS, rel, params)
    row = session.execute(text(sql), params).mappings().one()
    return {"total": int(row["total"]), "inside": int(row["inside"]),
            "fatalities": int(row["fatalities"]), "features": list(row["features"])}


def list_deliveries(area_id: int, start: datetime, end: datetime, *, buffer_m: float, limit: int,
                    session: Session) -> dict[str, Any]:
    """Deliveries linked to the area or within `buffer_m` of it in [start, end]:
    {total, features (the first `limit`, earliest first)}."""
    row = session.execute(_DELIVERIES, {"area_id": area_id, "start": start, "end": end,
                                        "buffer_m": buffer_m, "limit": limit}).mappings().one()
    return {"total": int(row["total"]), "features": list(row["features"])}


def incident_time_range(rel: Release, *,
                        session: Session) -> tuple[datetime | None, datetime | None]:
    params: dict[str, Any] = {}
    low, high = session.execute(text(released_sql(_INCIDENT_RANGE, rel, params)), params).one()
    return low, high
