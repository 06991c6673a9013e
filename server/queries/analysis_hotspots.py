"""Hotspots and aggregation: DBSCAN clusters, hexagon/square grids, admin areas, time series.

Distances in metres: points are projected to the UTM zone of the region's centre (`:srid`,
chosen by the service) where a metre is a metre to within ~1% over a 1,000 km wide region.
Grid cells are numbered by (i, j) in that projection: a square cell by integer division, a
hexagon (ST_Hexagon's numbering) by arithmetic on the point (see HEX_SQL; no grid table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS
from server.security.release import Release

from . import cql2
from .analysis_common import INCIDENTS, released_sql
from .analysis_duplicates import SUPERSEDED, any_links, distinct_events
from .binder import Binder

_FILTER = """
    (CAST(:start AS timestamptz) IS NULL OR i.occurred_at >= :start)
    AND (CAST(:end AS timestamptz) IS NULL OR i.occurred_at <= :end)
    AND (CAST(:types AS text[]) IS NULL OR i.event_type = ANY(CAST(:types AS text[])))
    AND (CAST(:verifications AS text[]) IS NULL
         OR i.verification_status = ANY(CAST(:verifications AS text[])))
    AND (CAST(:minx AS float8) IS NULL
         OR i.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
    AND (CAST(:area_id AS int) IS NULL OR (
         i.geom && (SELECT geom FROM agreement_areas WHERE id = :area_id)
         AND ST_Intersects((SELECT geom FROM agreement_areas WHERE id = :area_id), i.geom)))
"""
# dedupe: leave out a report superseded by a linked one the caller sees (each event once; the
# rule is analysis_duplicates.SUPERSEDED); `_sql` puts the condition or TRUE in its place
DEDUPE = "/*dedupe*/"
_FILTER += f"    AND {DEDUPE}\n"

HOTSPOTS_SQL = f"""
WITH p AS (
  SELECT i.id, i.occurred_at, i.event_type, coalesce(i.fatalities, 0) AS fatalities, i.geom,
         ST_ClusterDBSCAN(ST_Transform(i.geom, :srid), eps => :eps, minpoints => :minpoints)
           OVER () AS cid
  FROM {INCIDENTS} i WHERE {_FILTER}
)
SELECT cid AS cluster_id, count(*) AS incidents, sum(fatalities) AS fatalities,
       min(occurred_at) AS first_at, max(occurred_at) AS last_at,
       round(ST_X(ST_Centroid(ST_Collect(geom)))::numeric, 6) AS lon,
       round(ST_Y(ST_Centroid(ST_Collect(geom)))::numeric, 6) AS lat,
       ST_AsGeoJSON(ST_ConvexHull(ST_Collect(geom)), 6) AS geometry
FROM p WHERE cid IS NOT NULL
GROUP BY cid ORDER BY count(*) DESC, cid LIMIT :limit
"""  # noqa: S608 - constant fragments only

SQUARE_SQL = f"""
WITH c AS (
  SELECT floor(ST_X(ST_Transform(i.geom, :srid)) / :size)::int AS i,
         floor(ST_Y(ST_Transform(i.geom, :srid)) / :size)::int AS j,
         coalesce(i.fatalities, 0) AS fatalities
  FROM {INCIDENTS} i WHERE {_FILTER}
)
SELECT c.i, c.j, count(*) AS incidents, sum(c.fatalities) AS fatalities,
       ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope(c.i * :size, c.j * :size, (c.i + 1) * :size,
                                                 (c.j + 1) * :size, :srid), 4326), 6) AS geometry
FROM c GROUP BY c.i, c.j ORDER BY count(*) DESC, c.i, c.j LIMIT :limit
"""  # noqa: S608 - constant fragments only

# A hexagon by arithmetic: ST_Hexagon(size, i, j) is centred on (1.5 * size * i, h * j + h / 2
# when i is odd), h = sqrt(3) * size. A point between the centres of columns i0 and i0 + 1 lies in
# a hexagon of one of the two; in each the row is the nearest centre's, and the hexagon holding
# the point is the one with the nearer centre (hexagons are the centres' Voronoi cells). This
# equals ST_HexagonGrid(size, point) + ST_Intersects, without building hexagons per point.
HEX_SQL = f"""
WITH p AS (
  SELECT t.x, t.y, floor(t.x / (1.5 * CAST(:size AS float8)))::int AS ia,
         sqrt(3.0::float8) * CAST(:size AS float8) AS h, coalesce(i.fatalities, 0) AS fatalities
  FROM {INCIDENTS} i
  CROSS JOIN LATERAL (SELECT ST_X(g.p) AS x, ST_Y(g.p) AS y  -- fenced: projected once
                      FROM (SELECT ST_Transform(i.geom, :srid) AS p) g OFFSET 0) t
  WHERE {_FILTER}
),
r AS (
  SELECT p.*, round((p.y - (abs(p.ia) % 2) * p.h / 2) / p.h)::int AS ja,
         round((p.y - (abs(p.ia + 1) % 2) * p.h / 2) / p.h)::int AS jb
  FROM p
),
c AS (
  SELECT CASE WHEN d.da <= d.db THEN d.ia ELSE d.ia + 1 END AS i,
         CASE WHEN d.da <= d.db THEN d.ja ELSE d.jb END AS j, d.fatalities
  FROM (SELECT r.ia, r.ja, r.jb, r.fatalities,
               (r.x - 1.5 * CAST(:size AS float8) * r.ia) ^ 2
                 + (r.y - r.h * r.ja - (abs(r.ia) % 2) * r.h / 2) ^ 2 AS da,
               (r.x - 1.5 * CAST(:size AS float8) * (r.ia + 1)) ^ 2
                 + (r.y - r.h * r.jb - (abs(r.ia + 1) % 2) * r.h / 2) ^ 2 AS db
        FROM r) d
)
SELECT c.i, c.j, count(*) AS incidents, sum(c.fatalities) AS fatalities,
       ST_AsGeoJSON(ST_Transform(ST_Hexagon(:size, c.i, c.j,
                                            ST_SetSRID(ST_MakePoint(0, 0), :srid)), 4326), 6)
         AS geometry
FROM c GROUP BY c.i, c.j ORDER BY count(*) DESC, c.i, c.j LIMIT :limit
"""  # noqa: S608 - constant fragments only

ADMIN_SQL = f"""
SELECT a.pcode AS i, a.name_en AS j, count(i.id) AS incidents,
       coalesce(sum(i.fatalities), 0) AS fatalities,
       ST_AsGeoJSON(ST_ReducePrecision(a.geom, 1e-5), 5) AS geometry
FROM admin_areas a
LEFT JOIN {INCIDENTS} i ON i.geom && a.geom AND ST_Intersects(a.geom, i.geom) AND {_FILTER}
WHERE a.admin_level = :level
GROUP BY a.id ORDER BY count(i.id) DESC, a.pcode LIMIT :limit
"""  # noqa: S608 - constant fragments only

GRID_MVT_SQL = f"""
WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e3857,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS e4326),
c AS (
  SELECT floor(ST_X(ST_Transform(i.geom, :srid)) / :size)::int AS i,
         floor(ST_Y(ST_Transform(i.geom, :srid)) / :size)::int AS j,
         coalesce(i.fatalities, 0) AS fatalities
  FROM {INCIDENTS} i, b WHERE i.geom && b.e4326 AND {_FILTER}
),
g AS (SELECT c.i, c.j, count(*) AS incidents, sum(c.fatalities) AS fatalities
      FROM c GROUP BY c.i, c.j
      HAVING count(*) >= coalesce(CAST(:min_count AS int), 0))
SELECT ST_AsMVT(m, 'grid', 4096, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform(ST_MakeEnvelope(g.i * :size, g.j * :size, (g.i + 1) * :size,
                                                   (g.j + 1) * :size, :srid), 3857),
                      b.e3857, 4096, 64, true) AS geom,
         g.i, g.j, g.incidents, g.fatalities
  FROM g, b) m
"""  # noqa: S608 - constant fragments only

def _timeseries_sql(condition: str) -> str:
    """Counts per period of the incidents matching the filters and `condition` (SQL over `i`
    from the CQL2 translator: bound values, whitelisted names), every period from the window's
    start (else the first match) to its end (else the last match), empty ones as zeros. One
    scan: the first and last periods come from the counts themselves. At most :max_buckets + 1
    periods are made: one more than the caller allows says the span is too long."""
    return f"""
WITH counts AS (
  SELECT date_trunc(:step, i.occurred_at AT TIME ZONE 'UTC') AS bucket, count(*) AS incidents,
         coalesce(sum(i.fatalities), 0) AS fatalities,
         count(*) FILTER (WHERE i.verification_status = 'confirmed') AS confirmed
  FROM {INCIDENTS} i WHERE {_FILTER} AND {condition} GROUP BY 1),
r AS (SELECT coalesce(date_trunc(:step, CAST(:start AS timestamptz) AT TIME ZONE 'UTC'),
                      min(c.bucket)) AS lo,
             coalesce(date_trunc(:step, CAST(:end AS timestamptz) AT TIME ZONE 'UTC'),
                      max(c.bucket)) AS hi
      FROM counts c),
buckets AS (
  SELECT generate_series(r.lo, least(r.hi, r.lo + :max_buckets * CAST('1 ' || :step AS interval)),
                         CAST('1 ' || :step AS interval)) AS bucket
  FROM r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL)
SELECT to_char(b.bucket, 'YYYY-MM-DD') AS period, coalesce(c.incidents, 0) AS incidents,
       coalesce(c.fatalities, 0) AS fatalities, coalesce(c.confirmed, 0) AS confirmed
FROM buckets b LEFT JOIN counts c USING (bucket) ORDER BY b.bucket
"""  # noqa: S608 - constant fragments and the translator's bound condition only


def _params(f: dict[str, Any]) -> dict[str, Any]:
    bbox = f.get("bbox") or (None, None, None, None)
    return {"start": f.get("start"), "end": f.get("end"), "types": f.get("types"),
            "verifications": f.get("verifications"), "area_id": f.get("area_id"),
            "minx": bbox[0], "miny": bbox[1], "maxx": bbox[2], "maxy": bbox[3]}


def _sql(sql: str, filters: dict[str, Any], rel: Release, params: dict[str, Any],
         session: Session) -> str:
    """`sql` with its dedupe condition, reading incidents as `rel` releases them."""
    dedupe = bool(filters.get("dedupe")) and any_links(session)
    sql = sql.replace(DEDUPE, distinct_events("i", dedupe))
    return released_sql(sql, rel, params)


def _condition(filters: dict[str, Any], params: dict[str, Any]) -> str:
    """The CQL2 filter in `filters` ("filter", an AST) as SQL over `i` (bound values,
    whitelisted names: it sees the released values, as on items); TRUE without one."""
    if filters.get("filter") is None:
        return "TRUE"
    return cql2.where(filters["filter"], COLLECTIONS["incidents"], Binder(params, prefix="f"),
                      alias="i")


def merged(filters: dict[str, Any], rel: Release, *, session: Session) -> int:
    """How many reports matching `filters` (window, types, statuses, box, area, CQL2 filter) are
    left out as superseded by a linked report of the same event (a join on the few links)."""
    if not any_links(session):
        return 0
    params = _params(filters)
    condition = _condition(filters, params)
    sql = (f"SELECT count(*) FROM {INCIDENTS} i JOIN ({SUPERSEDED}) sup ON sup.id = i.id "  # noqa: S608
           f"WHERE {_FILTER.replace(DEDUPE, 'TRUE')} AND {condition}")
    sql = released_sql(sql, rel, params)
    return int(session.execute(text(sql), params).scalar_one())


def hotspots(filters: dict[str, Any], rel: Release, *, srid: int, eps_m: float, minpoints: int,
             limit: int, session: Session) -> list[dict[str, Any]]:
    params = {**_params(filters), "srid": srid, "eps": eps_m, "minpoints": minpoints,
              "limit": limit}
    sql = _sql(HOTSPOTS_SQL, filters, rel, params, session)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def grid(filters: dict[str, Any], rel: Release, *, kind: str, srid: int, size_m: float,
         level: int, limit: int, session: Session) -> list[dict[str, Any]]:
    sql = {"square": SQUARE_SQL, "hexagon": HEX_SQL, "admin": ADMIN_SQL}[kind]
    params = {**_params(filters), "srid": srid, "size": size_m, "level": level, "limit": limit}
    sql = _sql(sql, filters, rel, params, session)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def grid_tile(filters: dict[str, Any], rel: Release, *, z: int, x: int, y: int, srid: int,
              size_m: float, session: Session) -> bytes:
    params = {**_params(filters), "z": z, "x": x, "y": y, "srid": srid, "size": size_m}
    sql = _sql(GRID_MVT_SQL, filters, rel, params, session)
    return bytes(session.execute(text(sql), params).scalar_one() or b"")


def timeseries(filters: dict[str, Any], rel: Release, *, step: str, max_buckets: int,
               session: Session) -> list[dict[str, Any]]:
    """`filters` may hold a CQL2 AST as "filter": it sees the released values, as on items.
    At most `max_buckets` + 1 rows (see _timeseries_sql)."""
    params = {**_params(filters), "step": step, "max_buckets": max_buckets}
    condition = _condition(filters, params)
    sql = _sql(_timeseries_sql(condition), filters, rel, params, session)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]
