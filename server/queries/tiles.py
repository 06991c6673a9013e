"""Mapbox Vector Tiles built by ST_AsMVT in PostGIS, one statement per tile and layer.

The tile envelope is transformed to the column's SRID (4326) so the GiST index is used. For
point layers the statement first counts the tile's points up to the cap; when there are more,
it answers with a grid aggregate instead (64x64 cells per tile, aligned across tiles so no point
is counted twice, each cell's mean position with `point_count`): every point is represented at
every zoom, and the tile stays small. Cells are computed from lon/lat arithmetically (Web
Mercator), so only one point per cell is transformed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection

from .features import ItemQuery, _where

EXTENT = 4096
BUFFER = 64
GRID_CELLS = 64
SKIP_PROPERTIES = {"notes", "etl_run_id", "updated_at", "source_id", "occurred_until"}


def _bounds() -> str:
    return ("WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e3857, "
            "ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS inner4326, "
            f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) "
            "AS e4326)")


def _raw(c: Collection, where: str) -> str:
    props = ", ".join(
        f"t.{p}" if c.properties[p] != "datetime" else f"to_char(t.{p} AT TIME ZONE 'UTC', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {p}"
        for p in c.properties if c.properties[p] != "array" and p not in SKIP_PROPERTIES
    )
    geom = "t.geom" if c.is_point else "ST_Simplify(t.geom, :tolerance, true)"
    return f"""
        SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
          SELECT ST_AsMVTGeom(ST_Transform({geom}, 3857), b.e3857, {EXTENT}, {BUFFER}, true)
                   AS geom, t.{c.id_column} AS id, {props}
          FROM {c.table} t, b WHERE {where} AND t.geom && b.e4326 LIMIT :cap) m
    """  # noqa: S608 - identifiers from the Collection whitelist


def _clustered(c: Collection, where: str) -> str:
    cx = "floor((ST_X(t.geom) + 180.0) / 360.0 * :ncells)"
    cy = ("floor((1.0 - ln(tan(radians(ST_Y(t.geom))) + 1.0 / cos(radians(ST_Y(t.geom))))"
          " / pi()) / 2.0 * :ncells)")
    return f"""
        SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
          SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(g.lon, g.lat), 4326), 3857),
                              b.e3857, {EXTENT}, {BUFFER}, true) AS geom,
                 g.id, g.point_count
          FROM (SELECT avg(ST_X(t.geom)) AS lon, avg(ST_Y(t.geom)) AS lat,
                       min(t.{c.id_column}) AS id, count(*) AS point_count
                FROM {c.table} t, b
                WHERE {where} AND t.geom && b.inner4326
                  AND ST_Intersects(t.geom, b.inner4326)
                GROUP BY {cx}, {cy}) g, b) m
    """  # noqa: S608 - identifiers from the Collection whitelist


def mvt_tile(c: Collection, z: int, x: int, y: int, q: ItemQuery, *, cap: int,
             session: Session) -> bytes:
    """One layer's MVT for tile z/x/y (x = column, y = row); b'' when the tile is empty."""
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": c.id, "cap": cap,
                              "ncells": float(2**z * GRID_CELLS),
                              "tolerance": 360.0 / (2**z * EXTENT)}
    where = _where(c, ItemQuery(start=q.start, end=q.end, equals=q.equals, filter=q.filter),
                   params)
    if c.is_point:
        sql = f"""{_bounds()},
            n AS (SELECT count(*) AS c FROM (SELECT 1 FROM {c.table} t, b
                  WHERE {where} AND t.geom && b.e4326 LIMIT :cap + 1) s)
            SELECT CASE WHEN (SELECT c FROM n) > :cap THEN ({_clustered(c, where)})
                        ELSE ({_raw(c, where)}) END
        """  # noqa: S608
    else:
        sql = f"{_bounds()} {_raw(c, where)}"
    return bytes(session.execute(text(sql), params).scalar_one() or b"")
