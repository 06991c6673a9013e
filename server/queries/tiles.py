"""Mapbox Vector Tiles built by ST_AsMVT in PostGIS, one statement per tile.

The tile envelope is transformed to the column's SRID (4326) so the GiST index is used. A tile
never holds more than `cap` features: above that, points are aggregated on a grid of 64x64 cells
per tile (each aggregate carries `point_count`), so every point is represented at every zoom."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection

from .features import ItemQuery, _where

EXTENT = 4096
BUFFER = 64
GRID_CELLS = 64
WORLD_M = 40075016.685578488


def _bounds() -> str:
    return ("WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e3857, "
            f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS e4326)")


def mvt_tile(c: Collection, z: int, x: int, y: int, q: ItemQuery, *, cap: int,
             session: Session) -> bytes:
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": c.id, "cap": cap}
    where = _where(c, ItemQuery(start=q.start, end=q.end, equals=q.equals), params)
    where += " AND t.geom && b.e4326"
    clustered = False
    if c.is_point:
        count_sql = f"""{_bounds()}
            SELECT count(*) FROM (SELECT 1 FROM {c.table} t, b WHERE {where} LIMIT :cap + 1) n
        """  # noqa: S608 - identifiers from the Collection whitelist
        clustered = int(session.execute(text(count_sql), params).scalar_one()) > cap
    if clustered:
        params["cell"] = WORLD_M / (2**z) / GRID_CELLS
        sql = f"""{_bounds()},
            cells AS (
              SELECT ST_Centroid(ST_Collect(ST_Transform(t.geom, 3857))) AS g, min(t.id) AS id,
                     count(*) AS point_count
              FROM {c.table} t, b WHERE {where}
              GROUP BY ST_SnapToGrid(ST_Transform(t.geom, 3857), :cell))
            SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
              SELECT ST_AsMVTGeom(cells.g, b.e3857, {EXTENT}, {BUFFER}, true) AS geom,
                     cells.id, cells.point_count
              FROM cells, b) m
        """  # noqa: S608
    else:
        props = ", ".join(
            f"t.{p}" if c.properties[p] != "datetime" else f"to_char(t.{p} AT TIME ZONE 'UTC', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {p}"
            for p in c.properties if c.properties[p] != "array" and p != "notes"
        )
        sql = f"""{_bounds()}
            SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
              SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.e3857, {EXTENT}, {BUFFER}, true)
                       AS geom, t.id, {props}
              FROM {c.table} t, b WHERE {where} LIMIT :cap) m
        """  # noqa: S608
    return bytes(session.execute(text(sql), params).scalar_one() or b"")
