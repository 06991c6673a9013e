"""Analysis benchmark: /analysis/ questions on 1,000,000 synthetic incidents, 2,000 agreement
areas and 50,000 aid deliveries, each against the same question as plain SQL (the floor).

`python -m bench analysis [--rows 1000000] [--areas 2000] [--deliveries 50000] [--repeat 30]`
builds (or reuses) the database `truce_bench_analysis` on the local cluster (generated in SQL:
gaussian clusters around 50 towns inside Syria's bounding box plus 5% uniform noise,
2016-02-27..2016-12-31; areas of 12-40 vertices and radius 1-15 km around the towns), then calls
each endpoint in-process through the real app (routing, validation, serialisation included) and
prints p50/p95 and the ratio to the floor. The questions are asked with a planner key (planners
are who asks them: every row, exact points); `--as public` asks them anonymously instead, which
reads only released incidents through the release rules (snapped points, no maintained summaries).
Targets: deconfliction p95 < 50 ms; incidents for all
2,000 areas < 2 s; hotspot grid for a month < 1 s.

`--duplicates N` adds N cross-source duplicate links first (the generated data has one source, so
no links): reports of sources `bench_dup` (a copy of every k-th incident, 3 hours later and about
200 m away) linked to their original, and every tenth link a third report (`bench_dup2`) linked
to the copy only, a chain; they are removed when the bench ends (and before it starts, if a run
was interrupted). `--only TEXT` asks only the questions whose name contains TEXT; `--no-floor`
skips the plain-SQL floors.
"""

from __future__ import annotations

# ruff: noqa: S608 - the SQL texts here are built from constants only
import argparse
import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.keys import new_key

DB_NAME = "truce_bench_analysis"

INCIDENTS_SQL = """
DROP TABLE IF EXISTS bench_towns;
CREATE TABLE bench_towns AS
  SELECT i AS town, 36.2 + random() * 5.7 AS lon, 32.6 + random() * 4.4 AS lat,
         0.02 + random() * 0.23 AS sigma FROM generate_series(1, 50) i;
DELETE FROM aid_deliveries;
DELETE FROM agreement_areas;
DELETE FROM settlements;
ALTER TABLE incidents DISABLE TRIGGER USER;
TRUNCATE incidents CASCADE;
INSERT INTO incidents (source, source_id, occurred_at, event_type, verification_status,
                       fatalities, geo_precision, geom)
SELECT 'bench', g.i::text,
       timestamptz '2016-02-27' + (floor(random() * 309) || ' days')::interval,
       (ARRAY['state_based_violence','non_state_violence','one_sided_violence'])[1 + (g.i % 3)],
       (ARRAY['reported','confirmed','under_review','confirmed'])[1 + (g.i % 4)],
       (random() * 12)::int, 'exact',
       ST_SetSRID(ST_MakePoint(least(42.4, greatest(35.7, g.lon)),
                               least(37.3, greatest(32.3, g.lat))), 4326)
FROM (
  SELECT s.i,
         CASE WHEN s.noise THEN 35.7 + random() * 6.7
              ELSE t.lon + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) END
           AS lon,
         CASE WHEN s.noise THEN 32.3 + random() * 5.0
              ELSE t.lat + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) END
           AS lat
  FROM (SELECT i, random() < 0.05 AS noise, 1 + floor(random() * 50)::int AS town
        FROM generate_series(1, :rows) i) s
  JOIN bench_towns t ON t.town = s.town
) g;
ALTER TABLE incidents ENABLE TRIGGER USER;
"""

# agreement areas: a ring of n points at `radius` metres around (lon, lat) of each row of the
# temporary bench_area_specs (also the scale bench's)
AREAS_INSERT = """
INSERT INTO agreement_areas (source, source_id, name, kind, status, signed_at, effective_from,
                             parties, geom)
SELECT 'bench', s.i::text, 'area ' || s.i, 'zone',
       (ARRAY['signed','signed','signed','violated','suspended','withdrawn'])[1 + (s.i % 6)],
       timestamptz '2016-02-27' + (floor(random() * 120) || ' days')::interval,
       timestamptz '2016-02-27', ARRAY['Government of Syria', 'Local council'],
       ST_Multi(ST_MakePolygon(ST_AddPoint(ring.line, ST_StartPoint(ring.line))))
FROM bench_area_specs s
CROSS JOIN LATERAL (
  SELECT ST_MakeLine(ST_SetSRID(ST_MakePoint(
           s.lon + r * cos(a) / (111320 * cos(radians(s.lat))), s.lat + r * sin(a) / 110574),
           4326) ORDER BY k) AS line
  FROM (SELECT k, 2 * pi() * k / s.n AS a, s.radius * (0.7 + 0.3 * random()) AS r
        FROM generate_series(0, s.n - 1) k) v
) ring
"""

# The other layers around the same towns (bench_towns): 5,000 settlements, :deliveries aid
# deliveries, :areas agreement areas (also the viewer bench's).
LAYERS_SQL = f"""
INSERT INTO settlements (source, source_id, name, population, geom)
SELECT 'bench', i::text, 'settlement ' || i, (random() * 50000)::int,
       ST_SetSRID(ST_MakePoint(t.lon + t.sigma * (random() - 0.5) * 3,
                               t.lat + t.sigma * (random() - 0.5) * 3), 4326)
FROM generate_series(1, 5000) i JOIN bench_towns t ON t.town = 1 + (i % 50);
INSERT INTO aid_deliveries (source, source_id, delivered_at, method, cargo_type, geom)
SELECT 'bench', i::text,
       timestamptz '2016-02-27' + (random() * 309 || ' days')::interval,
       (ARRAY['airdrop','convoy','handover'])[1 + (i % 3)], 'food',
       ST_SetSRID(ST_MakePoint(t.lon + t.sigma * (random() - 0.5) * 2,
                               t.lat + t.sigma * (random() - 0.5) * 2), 4326)
FROM generate_series(1, :deliveries) i JOIN bench_towns t ON t.town = 1 + (i % 50);
CREATE TEMP TABLE bench_area_specs AS
  SELECT i, t.lon + t.sigma * (random() - 0.5) * 2 AS lon,
         t.lat + t.sigma * (random() - 0.5) * 2 AS lat,
         1000 + random() * 14000 AS radius, 12 + floor(random() * 29)::int AS n
  FROM generate_series(1, :areas) i JOIN bench_towns t ON t.town = 1 + (i % 50);
{AREAS_INSERT.strip()}
"""

GENERATE_SQL = INCIDENTS_SQL + "-- analyze" + LAYERS_SQL

DUPLICATE_SOURCES = ("bench_dup", "bench_dup2")
# :pairs copies of every :step-th incident from another source, linked to it; then :chains
# reports of a third source, each linked to one copy only (A-B, B-C, not A-C)
DUPLICATES_SQL = """
INSERT INTO incidents (source, source_id, occurred_at, event_type, verification_status,
                       fatalities, geo_precision, geom)
SELECT 'bench_dup', i.source_id, i.occurred_at + interval '3 hours', i.event_type,
       (ARRAY['confirmed','reported','confirmed','under_review'])[1 + (i.id / :step) % 4],
       i.fatalities, 'exact', ST_Translate(i.geom, 0.0015, 0.001)
FROM incidents i WHERE i.source = 'bench' AND i.id % :step = 0 ORDER BY i.id LIMIT :pairs;
INSERT INTO incidents (source, source_id, occurred_at, event_type, verification_status,
                       fatalities, geo_precision, geom)
SELECT 'bench_dup2', i.source_id, i.occurred_at + interval '6 hours', i.event_type,
       (ARRAY['confirmed','reported'])[1 + (i.id % 2)], i.fatalities, 'exact',
       ST_Translate(i.geom, 0.0015, 0.001)
FROM incidents i WHERE i.source = 'bench_dup' ORDER BY i.id LIMIT :chains;
INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m, hours_apart, score, reason)
SELECT n.id, o.id, 200, 3, 0.9, 'bench'
FROM incidents n JOIN incidents o ON o.source_id = n.source_id
 AND o.source = CASE n.source WHEN 'bench_dup' THEN 'bench' ELSE 'bench_dup' END
WHERE n.source IN ('bench_dup', 'bench_dup2')
"""


def _database(rows: int, areas: int, deliveries: int) -> str:
    from sqlalchemy import create_engine, text

    from cli import pgcluster
    from server.db.migrate import upgrade

    server_url = pgcluster.up(pgcluster.default_cluster())
    url = pgcluster.create_database(server_url, DB_NAME, recreate=False)
    upgrade(url)
    if remove_duplicates(url):
        print("removed the synthetic duplicates an interrupted run left")
    engine = create_engine(url)
    with engine.begin() as conn:
        have = conn.execute(text("SELECT (SELECT count(*) FROM incidents), "
                                 "(SELECT count(*) FROM agreement_areas), "
                                 "(SELECT count(*) FROM aid_deliveries)")).one()
    if tuple(have) != (rows, areas, deliveries):
        t0 = time.perf_counter()
        params = {"rows": rows, "areas": areas, "deliveries": deliveries}
        for part in GENERATE_SQL.split("-- analyze\n"):  # the link trigger's join needs stats
            with engine.begin() as conn:
                conn.execute(text("SELECT setseed(0.7)"))
                for statement in part.split(";\n"):
                    if statement.strip():
                        conn.execute(text(statement), params)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"generated {rows:,} incidents, {areas:,} areas (their per-day summary built by "
              f"the trigger), {deliveries:,} deliveries in {time.perf_counter() - t0:.1f}s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        print(f"reusing {DB_NAME}: {rows:,} incidents, {areas:,} areas, {deliveries:,} deliveries")
    engine.dispose()
    return url


def remove_duplicates(url: str) -> int:
    """Remove the synthetic duplicates (their links go with them); return how many."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        # the links first, in one statement (one regrouping), not cascaded report by report
        conn.execute(text("DELETE FROM incident_duplicates WHERE incident_id IN "
                          "(SELECT id FROM incidents WHERE source = ANY(:s))"),
                     {"s": list(DUPLICATE_SOURCES)})
        removed = conn.execute(text("DELETE FROM incidents WHERE source = ANY(:s)"),
                               {"s": list(DUPLICATE_SOURCES)}).rowcount
    engine.dispose()
    return int(removed or 0)


def add_duplicates(url: str, links: int) -> None:
    """Add `links` synthetic cross-source duplicate links (see the module docstring)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    t0 = time.perf_counter()
    chains = links // 10
    pairs = links - chains
    with engine.begin() as conn:
        total = int(conn.execute(text("SELECT count(*) FROM incidents")).scalar() or 0)
        step = max(1, total // max(1, pairs))
        for statement in DUPLICATES_SQL.split(";\n"):
            conn.execute(text(statement), {"step": step, "pairs": pairs, "chains": chains})
        made = conn.execute(text("SELECT count(*) FROM incident_duplicates")).scalar()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE incidents"))
        conn.execute(text("ANALYZE incident_duplicates"))
        conn.execute(text("ANALYZE area_incident_days"))
    engine.dispose()
    print(f"added {pairs:,} duplicate reports and {chains:,} chained ones: {made:,} links in "
          f"{time.perf_counter() - t0:.1f}s")


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench analysis")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=2_000)
    parser.add_argument("--deliveries", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--duplicates", type=int, default=0, metavar="N",
                        help="add N cross-source duplicate links for the run (removed after)")
    parser.add_argument("--only", default=None, metavar="TEXT",
                        help="ask only the questions whose name contains TEXT")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the plain-SQL floors (faster; ratios print as nan)")
    parser.add_argument("--as", dest="role", choices=("planner", "public"), default="planner",
                        help="ask with a planner key (default) or anonymously")
    args = parser.parse_args(argv)

    url = _database(args.rows, args.areas, args.deliveries)
    if args.duplicates:
        add_duplicates(url, args.duplicates)
    try:
        _ask(url, args)
    finally:
        if args.duplicates:
            remove_duplicates(url)


def _ask(url: str, args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from server.main import create_app
    from server.settings import DatabaseSettings, SecuritySettings, Settings

    engine = create_engine(url)
    rng = random.Random(11)
    with engine.connect() as conn:
        towns = [tuple(r) for r in conn.execute(text("SELECT lon, lat FROM bench_towns"))]
        days = conn.execute(text("SELECT count(*), coalesce(sum(n), 0) FROM area_incident_days"
                                 )).one()
    print(f"area_incident_days: {days[0]:,} rows summarising {days[1]:,} (area, incident) pairs")

    def point() -> tuple[float, float]:
        lon, lat = rng.choice(towns)
        return lon + rng.gauss(0, 0.1), lat + rng.gauss(0, 0.1)

    settings = Settings(environment="test",
                        database=DatabaseSettings(url=url, statement_timeout_ms=120_000),
                        # the bench measures the questions, not the per-key rate limit
                        security=SecuritySettings(rate_per_second=1e6, rate_burst=1_000_000,
                                                  anonymous_rate_per_second=1e6,
                                                  anonymous_burst=1_000_000))
    app = create_app(settings)
    headers = {"X-API-Key": new_key(url, "planner")} if args.role == "planner" else {}
    print(f"asking as: {args.role}")
    raw = engine.raw_connection()
    cur = raw.cursor()

    def sql(statement: str, params: dict[str, Any] | None = None) -> Callable[[], Any]:
        def run() -> Any:
            cur.execute(statement, params or {})
            return cur.fetchall()
        return run

    month = "2016-06-01T00:00:00Z/2016-06-30T23:59:59Z"
    rows: list[tuple[str, list[float], list[float], str]] = []
    with TestClient(app, headers=headers) as client:
        def get(path: str, **params: Any) -> Callable[[], Any]:
            def run() -> Any:
                r = client.get(path, params=params)
                assert r.status_code == 200, r.text[:300]
                return r
            return run

        def decon() -> Any:
            lon, lat = point()
            r = client.post("/analysis/deconfliction", json={
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "at": "2016-06-15T00:00:00Z", "distance_m": 2000})
            assert r.status_code == 200, r.text[:300]

        def decon_floor() -> Any:
            lon, lat = point()
            cur.execute("""SELECT id, ST_Distance(geom::geography, p::geography)
                FROM agreement_areas, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) p
                WHERE geom && ST_Expand(p, 0.03) AND signed_at <= '2016-06-15'
                  AND status IN ('signed', 'violated')
                  AND ST_DWithin(geom::geography, p::geography, 2000)""", {"x": lon, "y": lat})
            return cur.fetchall()

        batch = [{"type": "Point", "coordinates": list(point())} for _ in range(1000)]

        def decon_batch() -> Any:
            r = client.post("/analysis/deconfliction", json={
                "geometries": batch, "at": "2016-06-15T00:00:00Z", "distance_m": 2000})
            assert r.status_code == 200, r.text[:300]

        n = args.repeat
        few = max(3, n // 10)
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any], int, str]] = [
            ("deconfliction, 1 point, 2 km", decon, decon_floor, n * 3,
             "ST_DWithin on areas, no status history"),
            ("deconfliction, batch of 1,000 points", decon_batch, decon_floor, few,
             "1 point (per-point floor x1000 below)"),
            ("incidents per area, all areas", get("/analysis/areas/incidents"),
             sql("SELECT a.id, count(*) FROM agreement_areas a JOIN incidents i "
                 "ON ST_Intersects(a.geom, i.geom) GROUP BY a.id"), few,
             "plain spatial join, 1M x areas"),
            ("incidents per area, all areas, June", get("/analysis/areas/incidents",
                                                        datetime=month),
             sql("SELECT a.id, count(*) FROM agreement_areas a JOIN incidents i "
                 "ON ST_Intersects(a.geom, i.geom) WHERE i.occurred_at >= '2016-06-01' "
                 "AND i.occurred_at < '2016-07-01' GROUP BY a.id"), few,
             "plain spatial join for June"),
            ("incidents per area + 1 km ring, one area", get("/analysis/areas/7/incidents",
                                                             distance_m=1000),
             sql("SELECT count(*) FROM agreement_areas a JOIN incidents i ON "
                 "ST_DWithin(a.geom::geography, i.geom::geography, 1000) "
                 "AND i.geom && ST_Expand(a.geom, 0.02) WHERE a.id = 7"), n, "DWithin join"),
            ("compliance, all areas", get("/analysis/areas/compliance", at="2016-09-01"),
             sql("SELECT d.area_id, sum(d.n) FROM area_incident_days d JOIN agreement_areas a "
                 "ON a.id = d.area_id WHERE d.day <= '2016-09-01' GROUP BY 1"), few,
             "sum the summary per area"),
            ("hexagon grid 5 km, one month", get("/analysis/grid", kind="hexagon", size_m=5000,
                                                 datetime=month),
             sql("SELECT h.i, h.j, count(*) FROM incidents i CROSS JOIN LATERAL "
                 "(SELECT g.i, g.j FROM ST_HexagonGrid(5000, ST_Transform(i.geom, 32637)) g "
                 "LIMIT 1) h WHERE i.occurred_at >= '2016-06-01' AND i.occurred_at < "
                 "'2016-07-01' GROUP BY 1, 2"), few, "hexagon per point in SQL"),
            ("square grid 5 km, one month", get("/analysis/grid", kind="square", size_m=5000,
                                                datetime=month),
             sql("SELECT floor(ST_X(ST_Transform(geom, 32637)) / 5000), "
                 "floor(ST_Y(ST_Transform(geom, 32637)) / 5000), count(*) FROM incidents "
                 "WHERE occurred_at >= '2016-06-01' AND occurred_at < '2016-07-01' "
                 "GROUP BY 1, 2"), few, "GROUP BY cell in SQL"),
            ("grid MVT tile z7, one month", get("/analysis/grid/tiles/7/51/77", size_m=5000,
                                               datetime=month),
             sql("SELECT count(*) FROM incidents WHERE geom && ST_Transform("
                 "ST_TileEnvelope(7, 77, 51), 4326) AND occurred_at >= '2016-06-01' "
                 "AND occurred_at < '2016-07-01'"), n, "count points in tile"),
            ("admin grid level 1, one month", get("/analysis/grid", kind="admin", level=1,
                                                  datetime=month),
             sql("SELECT count(*) FROM incidents WHERE occurred_at >= '2016-06-01' "
                 "AND occurred_at < '2016-07-01'"), few, "count of the month (no admin areas)"),
            ("hotspots DBSCAN 1 km/20, one week", get(
                "/analysis/hotspots", eps_m=1000, minpoints=20,
                datetime="2016-06-01T00:00:00Z/2016-06-07T23:59:59Z"),
             sql("SELECT cid, count(*) FROM (SELECT ST_ClusterDBSCAN(ST_Transform(geom, 32637), "
                 "1000, 20) OVER () cid FROM incidents WHERE occurred_at >= '2016-06-01' AND "
                 "occurred_at < '2016-06-08') c GROUP BY cid"), few, "DBSCAN in SQL"),
            ("timeseries weekly, all", get("/analysis/timeseries", step="week"),
             sql("SELECT date_trunc('week', occurred_at), count(*) FROM incidents GROUP BY 1"),
             few, "GROUP BY week"),
            ("timeseries daily, one area", get("/analysis/timeseries", step="day", area_id=7),
             sql("SELECT date_trunc('day', i.occurred_at), count(*) FROM incidents i JOIN "
                 "agreement_areas a ON a.id = 7 AND i.geom && a.geom AND "
                 "ST_Intersects(a.geom, i.geom) GROUP BY 1"), n, "spatial join, GROUP BY day"),
            ("nearest 10 settlements", get("/analysis/nearest", lon=37.1, lat=36.2, n=10),
             sql("SELECT id FROM settlements ORDER BY geom <-> "
                 "ST_SetSRID(ST_MakePoint(37.1, 36.2), 4326) LIMIT 10"), n, "KNN"),
            ("aid-risk 5 km / 24 h, one month", get("/analysis/aid-risk", distance_m=5000,
                                                    hours=24, datetime=month),
             sql("SELECT d.id, count(*) FROM aid_deliveries d JOIN incidents i ON "
                 "i.geom && ST_Expand(d.geom, 0.06) AND ST_DWithin(i.geom::geography, "
                 "d.geom::geography, 5000) AND i.occurred_at BETWEEN d.delivered_at - "
                 "interval '24 hours' AND d.delivered_at + interval '24 hours' WHERE "
                 "d.delivered_at >= '2016-06-01' AND d.delivered_at < '2016-07-01' "
                 "GROUP BY d.id"), few, "DWithin join"),
            ("aid-gaps, settlements, 30 days", get("/analysis/aid-gaps", at="2016-09-01",
                                                   days=30), decon_floor, few, "(no floor)"),
            ("area report", get("/analysis/areas/7/report", at="2016-09-01"),
             sql("SELECT * FROM agreement_areas WHERE id = 7"), n, "one row"),
        ]
        if args.only:
            cases = [c for c in cases if args.only in c[0]]
        for name, fn, floor, repeat, floor_name in cases:
            mine = _time(fn, repeat)
            base = ([math.nan] if args.no_floor
                    else _time(floor, min(repeat, 3) if "join" in floor_name else repeat))
            rows.append((name, mine, base, floor_name))
            print(f"  {name}: p50 {statistics.median(mine):.1f} ms, floor "
                  f"{statistics.median(base):.1f} ms", flush=True)
    cur.close()
    raw.close()
    print()
    print("| question | p50 ms | p95 ms | plain SQL p50 ms | ratio p50 | floor |")
    print("|---|---:|---:|---:|---:|---|")
    for name, mine, base, floor_name in rows:
        p50, p95, b50 = statistics.median(mine), _pct(mine, 95), statistics.median(base)
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {b50:.1f} | {p50 / b50:.2f} | {floor_name} |")
    engine.dispose()


if __name__ == "__main__":
    main()
