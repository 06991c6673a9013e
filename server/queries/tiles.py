"""Mapbox Vector Tiles built by ST_AsMVT in PostGIS, one statement per tile and layer.

The tile envelope is transformed to the column's SRID (4326) so the GiST index is used. For
point layers the statement first counts the tile's points up to the cap; when there are more,
it answers with a grid aggregate instead (64x64 cells per tile, 32x32 at z1-z7: `grid_shift`;
aligned across tiles so no point
is counted twice, each cell's mean position with `point_count`): every point is represented at
every zoom, and the tile stays small. Cells are computed from lon/lat arithmetically (Web
Mercator), so only one point per cell is transformed.

Incidents at zooms up to PYRAMID_MAX_ZOOM are answered from `incident_tile_cells` (migration
08), a maintained pyramid of the same cells with counts and coordinate sums per event type,
verification status and sensitivity: a tile sums at most 64 x 64 cells x those combinations
instead of aggregating up to ~500,000 points, and writes its points in tile pixels arithmetically
(no ST_Transform, no clipping: a cell's mean lies inside its tile). Filters the pyramid cannot
answer (CQL2, other properties, a time range narrower than the layer's) take the live path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.security.release import RELEASED_SENSITIVITY, RELEASED_STATUS, Release

from .features import ItemQuery, _where, notes_sql, source

EXTENT = 4096
BUFFER = 64
GRID_SHIFT = 6  # 64 = 2**6 cells across a tile: a tile at z aggregates grid level z + 6
COARSE_MAX_ZOOM = 7  # z1..z7 (a country, a province): 32 x 32 cells, grid level z + 5
SKIP_PROPERTIES = {"notes", "etl_run_id", "updated_at", "source_id", "occurred_until"}
PYRAMID_MAX_ZOOM = 10  # incident_tile_cells holds levels 6..16 = tiles at z0..z10
PYRAMIDS = {"incidents": ("incident_tile_cells", "incident_tile_kinds")}
PYRAMID_DIMS = ("event_type", "verification_status", "sensitivity")
# Point layers thinned at low zooms: collection -> (column, {zoom: minimum value}); zooms below the
# first listed take its minimum, zooms past the last listed every row. (A z6 tile of every
# settlement is mostly overlapping dots; the larger towns say where things are.)
# Polygons and lines are simplified to half a screen pixel of a 512 px tile (EXTENT / 512 = 8 tile
# units a pixel): low-zoom outlines keep fewer vertices, which the renderer pays for in every
# frame. At the viewer's source maxzoom (14), whose tiles are
# overzoomed beyond it, one tile unit, as before.
SIMPLIFY_UNITS = 4
SIMPLIFY_FINE_FROM_ZOOM = 14
THINNED = {"settlements": ("population", {5: 100_000, 6: 20_000, 7: 10_000, 8: 2_000})}


def _thinning(c: Collection, z: int, params: dict[str, Any]) -> str:
    """SQL condition keeping `c`'s rows drawn at zoom `z` ("TRUE": all of them)."""
    if c.id not in THINNED or THINNED[c.id][0] not in c.properties:
        return "TRUE"
    column, minimums = THINNED[c.id]
    if z > max(minimums):
        return "TRUE"
    params["thin_min"] = minimums.get(z, minimums[min(minimums)])
    return f"t.{column} >= :thin_min"  # a whitelisted column name


def _tolerance(z: int) -> float:
    """Simplification tolerance in degrees for polygon and line tiles at zoom `z`."""
    units = 1 if z >= SIMPLIFY_FINE_FROM_ZOOM else SIMPLIFY_UNITS
    return 360.0 * units / (2**z * EXTENT)


def _bounds() -> str:
    return ("WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e3857, "
            "ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS inner4326, "
            f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) "
            "AS e4326)")


def _raw(c: Collection, where: str, rel: Release, params: dict[str, Any]) -> str:
    props = ", ".join(
        [f"t.{p}" if c.properties[p] != "datetime" else f"to_char(t.{p} AT TIME ZONE 'UTC', "
         f"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {p}"
         for p in c.properties if c.properties[p] != "array" and p not in SKIP_PROPERTIES
         and p not in rel.hidden]
        + [f"{value} AS {name}" for name, value in notes_sql(rel, params)])
    geom = "t.geom" if c.is_point else "ST_Simplify(t.geom, :tolerance, true)"
    return f"""
        SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
          SELECT ST_AsMVTGeom(ST_Transform({geom}, 3857), b.e3857, {EXTENT}, {BUFFER}, true)
                   AS geom, t.{c.id_column} AS id, {props}
          FROM {source(c, rel)} t, b WHERE {where} AND {rel.within("t", "b.e4326")}
          LIMIT :cap) m
    """  # noqa: S608 - identifiers from the Collection whitelist


def _clustered(c: Collection, where: str, rel: Release) -> str:
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
                FROM {source(c, rel)} t, b
                WHERE {where} AND {rel.within("t", "b.inner4326")}
                  AND ST_Intersects(t.geom, b.inner4326)
                GROUP BY {cx}, {cy}) g, b) m
    """  # noqa: S608 - identifiers from the Collection whitelist


def grid_shift(z: int) -> int:
    """log2 of the cells across a tile at zoom `z`: 64 x 64 (cells of ~8 px in a 512 px tile),
    but 32 x 32 (~16 px) from z1 to COARSE_MAX_ZOOM, where a map shows a whole country or
    province: 2,400 circles a tile there were 10,000 on the first view, most of its parse and
    draw time in a browser, and finer than any reader can tell apart (MapLibre's own clusters
    are 50 px). z0 keeps 64 (the pyramid's coarsest level is 6)."""
    return GRID_SHIFT - 1 if 1 <= z <= COARSE_MAX_ZOOM else GRID_SHIFT


def _pyramid(c: Collection, z: int, x: int, y: int, q: ItemQuery, rel: Release,
             params: dict[str, Any]) -> str | None:
    """SQL: the tile from the pyramid when it can answer `q` under `rel`; None when it cannot.
    Its rows are the cells `g`; `covered` says whether the time range spans the whole layer.
    The pyramid is split by verification status and sensitivity, so it answers unrestricted
    callers and the public release (confirmed and public); a cell's mean position is snapped
    to the release grid, so a one-incident cell shows no more than the snapped point would
    (a release placing points at area centroids or settlements takes the live path)."""
    if (c.id not in PYRAMIDS or z > PYRAMID_MAX_ZOOM or q.filter is not None
            or not set(q.equals) <= set(PYRAMID_DIMS)
            or not rel.pyramid_ok):
        return None
    if not rel.unrestricted and any(d in q.equals for d in rel.columns):
        return None  # pragma: no cover - the pyramid's dimensions are never bucketed
    cells, kinds = PYRAMIDS[c.id]
    equals = dict(q.equals)
    dims = {d: f":p_{d}" for d in sorted(equals)}
    if not rel.unrestricted:
        for d, value in (("verification_status", RELEASED_STATUS),
                         ("sensitivity", RELEASED_SENSITIVITY)):
            if d in equals and equals[d] != value:
                dims[d] = "NULL"  # asks for rows the caller may not see: none
            else:
                equals[d] = value
                dims[d] = f":p_{d}"
    kind = ""
    if dims:
        kind_where = " AND ".join(f"{d} = {v}" for d, v in sorted(dims.items()))
        kind = f"AND kind = ANY(ARRAY(SELECT kind FROM {kinds} WHERE {kind_where}))"  # noqa: S608
    params.update({f"p_{d}": v for d, v in equals.items()})
    shift = grid_shift(z)
    across = 2**shift
    params.update(level=z + shift, cx0=x * across, cx1=x * across + across - 1,
                  cy0=y * across, cy1=y * across + across - 1, scale=float(2**z))
    covered = ["TRUE"]
    extent = f"(SELECT {{}}({c.time_column}) FROM {c.table})"  # noqa: S608 - whitelisted names
    if q.start is not None:
        covered.append(f"CAST(:p_start AS timestamptz) <= {extent.format('min')}")
        params["p_start"] = q.start
    if q.end is not None:
        covered.append(f"CAST(:p_end AS timestamptz) >= {extent.format('max')}")
        params["p_end"] = q.end
    return f"""
        g AS (SELECT sum(n) AS n, sum(sum_lon) / sum(n) AS lon, sum(sum_lat) / sum(n) AS lat,
                     min(min_id) AS id
              FROM {cells} WHERE level = :level AND cx BETWEEN :cx0 AND :cx1
                AND cy BETWEEN :cy0 AND :cy1
                {kind}
              GROUP BY cx, cy),
        covered AS (SELECT {" AND ".join(covered)} AS ok)"""  # noqa: S608 - constant names


def _pyramid_mvt(rel: Release) -> str:
    lon, lat = "g.lon", "g.lat"
    if rel.grid and not rel.unrestricted:
        lon, lat = "(round(g.lon / :rel_grid) * :rel_grid)", "(round(g.lat / :rel_grid) * :rel_grid)"
    px = f"round((({lon} + 180.0) / 360.0 * :scale - :x) * {EXTENT})"
    py = (f"round(((1.0 - ln(tan(radians({lat})) + 1.0 / cos(radians({lat}))) / pi()) / 2.0 "
          f"* :scale - :y) * {EXTENT})")
    return f"""SELECT ST_AsMVT(m, :layer, {EXTENT}, 'geom') FROM (
                 SELECT ST_MakePoint({px}, {py}) AS geom, g.id, g.n AS point_count FROM g) m
    """  # noqa: S608 - constants only


def mvt_tile(c: Collection, z: int, x: int, y: int, q: ItemQuery, rel: Release, *, cap: int,
             session: Session) -> bytes:
    """One layer's MVT for tile z/x/y (x = column, y = row) as `rel` releases the layer (rows,
    snapped points, bucketed times, release notes as properties); b'' when the tile is empty."""
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": c.id, "cap": cap,
                              "ncells": float(2 ** (z + grid_shift(z))),
                              "tolerance": _tolerance(z)}
    where = _where(c, ItemQuery(start=q.start, end=q.end, equals=q.equals, filter=q.filter),
                   params, rel)
    where = f"{where} AND {_thinning(c, z, params)}"
    raw = _raw(c, where, rel, params)
    if c.is_point:
        live = f"""CASE WHEN (SELECT c FROM n) > :cap THEN ({_clustered(c, where, rel)})
                        ELSE ({raw}) END"""  # noqa: S608
        count = f"""n AS (SELECT count(*) AS c FROM (SELECT 1 FROM {source(c, rel)} t, b
                  WHERE {where} AND {rel.within("t", "b.e4326")} LIMIT :cap + 1) s)"""  # noqa: S608
        pyramid = _pyramid(c, z, x, y, q, rel, params)
        if pyramid is None:
            sql = f"{_bounds()}, {count} SELECT {live}"
        else:
            sql = f"""{_bounds()}, {count}, {pyramid}
                SELECT CASE WHEN NOT (SELECT ok FROM covered) THEN {live}
                            WHEN (SELECT coalesce(sum(g.n), 0) FROM g) > :cap
                              THEN ({_pyramid_mvt(rel)})
                            ELSE ({raw}) END"""  # noqa: S608  # noqa: S608
    else:
        sql = f"{_bounds()} {raw}"
    return bytes(session.execute(text(sql), params).scalar_one() or b"")
