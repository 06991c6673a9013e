"""Scale benchmark: the same questions at 1,000,000 and at 10,000,000 incidents, side by side, and
the read path scaled out to a second API process and a replica.

`python -m bench scale [--rows 10000000] [--base-rows 1000000] [--areas 20000] [--seconds 5]
[--clients 16] [--etl-rows N] [--keep]` builds the database `truce_bench_scale` on the local
cluster in two steps, set-based in SQL (generate_series; no row passes through Python): the
agreement areas and the first `--base-rows` incidents, then the incidents up to `--rows` (the
first set is a subset of the second: same towns, same areas). Incidents are gaussian clusters
around 50 towns inside Syria's bounding box plus 5% uniform noise, 2016-02-27..2016-12-31 (as in
bench/api.py); areas are polygons of 12-40 vertices and radius 0.5-5 km scattered around the same
towns. The summaries are kept as in production: the per-area per-day summary and the layer's
version by their statement triggers as the rows go in, the tile cells rebuilt after; only the
audit trigger is off while the synthetic rows go in (the ETL row below runs with it).

At each size the same `truce serve` (1 process, tile cache off; rate limits off, and requests past
the admission budgets queue instead of a 503: the bench measures what the read path carries,
bench/crowd.py the refusals) is asked by one keep-alive client with a planner key for `--seconds`
per row: items in a 0.5 degree bbox at the densest town (limit 1,000), items in one week (limit
1,000), the last cursor page of 10,000, vector tiles z6-z12 around the towns, deconfliction of one
point (2 km), per-area counts over every area (all time and June). Then the ETL's throughput:
`--etl-rows` UCDP rows (default a tenth of --base-rows) loaded by the project's job (validation,
staged upsert, duplicate matching, audit) into the database at that size, then deleted again.
Printed: p50 / p95 ms and req/s per size (ETL: seconds and rows/s), side by side, with the growth
(p50 at the full size over p50 at the base; ETL: rows/s at the base over rows/s at the full size).

Then the scale-out, on the full set: `--clients` (16) keep-alive clients asking a read mix (the
bbox and week pages, the tiles, features by id) of 1 API process on the primary, of 2 processes
on the primary, and of 2 processes reading from a hot standby made for the run by `truce db
replica up` (removed after): req/s, p50 / p95 ms, errors and the share of answers the replica
served (their `Server-Timing`). Client, API processes, primary and replica share this machine's
cores: the comparison says what a replica adds on the same hardware, not on a second host.
"""

from __future__ import annotations

# ruff: noqa: S608 - the SQL texts here are built from constants only
import argparse
import asyncio
import json
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.analysis import AREAS_INSERT
from bench.api import INCIDENTS_INSERT, TOWNS_SQL, _deep_cursor, _tile_of
from bench.crowd import Closed, Connection, start_server
from bench.keys import new_key

DB_NAME = "truce_bench_scale"
ETL_SOURCE = "bench_scale_etl"

SETUP_SQL = f"""{TOWNS_SQL.strip()};
CREATE TEMP TABLE bench_area_specs AS
  SELECT i, t.lon + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS lon,
         t.lat + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS lat,
         500 + random() * 4500 AS radius, 12 + floor(random() * 29)::int AS n
  FROM generate_series(1, :areas) i JOIN bench_towns t ON t.town = 1 + (i % 50);
{AREAS_INSERT.strip()};
ANALYZE agreement_areas
"""

# the incidents numbered :first..:last (the summaries' statement triggers run; the audit's not)
INCIDENTS_SQL = f"""
ALTER TABLE incidents DISABLE TRIGGER incidents_audit_ins;
{INCIDENTS_INSERT.strip()};
ALTER TABLE incidents ENABLE TRIGGER incidents_audit_ins;
SELECT incident_tile_cells_rebuild()
"""

HEADERS = {"Accept-Encoding": "gzip"}
# no rate limit (one key asks everything), no tile cache (the database is what is measured), and
# requests past the admission budgets wait their turn instead of a 503: the bench measures what
# the read path carries, the crowd bench (bench/crowd.py) the refusals
UNLIMITED = {"TRUCE_SECURITY_RATE_PER_SECOND": "1000000", "TRUCE_SECURITY_RATE_BURST": "1000000",
             "TRUCE_SECURITY_ANONYMOUS_RATE_PER_SECOND": "1000000",
             "TRUCE_SECURITY_ANONYMOUS_BURST": "1000000", "TRUCE_API_TILE_CACHE_MB": "0",
             "TRUCE_API_MAX_QUEUED": "256", "TRUCE_API_MAX_HEAVY_QUEUED": "256",
             "TRUCE_API_MAX_QUEUE_WAIT_SECONDS": "60"}


def _run_sql(engine: Any, script: str, params: dict[str, int]) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)


def _vacuum(engine: Any) -> None:
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _grow(engine: Any, first: int, last: int, areas: int) -> float:
    """Add the incidents numbered first..last (and, the first time, the towns and the areas);
    return the seconds it took."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": 0.7 if first == 1 else 0.3})
    if first == 1:
        _run_sql(engine, SETUP_SQL, {"areas": areas})
    _run_sql(engine, INCIDENTS_SQL, {"first": first, "last": last})
    _vacuum(engine)
    return time.perf_counter() - t0


@dataclass
class Ask:
    path: str
    method: str = "GET"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    latencies: list[float]
    per_second: float
    errors: dict[str, int]  # by status ("closed": the connection dropped)
    replica: int

    def failed(self) -> str:
        return ", ".join(f"{n} {status}" for status, n in sorted(self.errors.items())) or "0"

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies) or [float("nan")]
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def cell(self) -> str:
        err = f", errors: {self.failed()}" if self.errors else ""
        return (f"{self.pct(0.5):.1f} / {self.pct(0.95):.1f} ms, {self.per_second:.1f} req/s"
                f"{err}")


async def _ask(conn: Connection, ask: Ask, key: str) -> tuple[int, dict[str, str]]:
    status, answer, _ = await conn.request(ask.method, ask.path,
                                           {**HEADERS, "X-API-Key": key, **ask.headers},
                                           ask.body)
    return status, answer


async def _load(port: int, asks: list[Ask], key: str, clients: int, seconds: float) -> Result:
    """`clients` keep-alive connections asking `asks` in turn for `seconds`, after one round of
    each `ask` to warm the server."""
    warm = Connection(port)
    for ask in asks[:20]:
        await _ask(warm, ask, key)
    warm.close()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    replica = 0
    counter = iter(range(10**9))
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal replica
        conn = Connection(port)
        while time.perf_counter() < stop:
            ask = asks[next(counter) % len(asks)]
            t0 = time.perf_counter()
            try:
                status, answer = await _ask(conn, ask, key)
            except Closed:
                errors["closed"] = errors.get("closed", 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            if status not in (200, 204):
                errors[str(status)] = errors.get(str(status), 0) + 1
            if "db;desc=replica" in answer.get("server-timing", ""):
                replica += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(latencies, len(latencies) / (time.perf_counter() - t0), errors, replica)


def _items(**params: Any) -> Ask:
    return Ask("/collections/incidents/items?" + urlencode(params))


def _scenarios(engine: Any, url: str, rows: int) -> dict[str, list[Ask]]:
    """The requests of each row: the same at every size (the cursor page: the last one)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        towns = [(float(lon), float(lat)) for lon, lat in conn.execute(text(
            "SELECT lon, lat FROM bench_towns ORDER BY sigma"))]
    lon, lat = towns[0]  # the densest town
    bbox = f"{lon - 0.25:.4f},{lat - 0.25:.4f},{lon + 0.25:.4f},{lat + 0.25:.4f}"
    rng = random.Random(3)
    tiles: list[Ask] = []
    for z, count in ((6, 10), (8, 12), (10, 14), (12, 14)):
        seen: set[tuple[int, int]] = set()
        for tlon, tlat in towns:
            seen.add(_tile_of(tlon + rng.uniform(-0.05, 0.05), tlat + rng.uniform(-0.05, 0.05), z))
            if len(seen) >= count:
                break
        tiles += [Ask(f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}")
                  for x, y in sorted(seen)]
    points = [(tlon + rng.gauss(0, 0.05), tlat + rng.gauss(0, 0.05)) for tlon, tlat in towns]
    decon = [Ask("/analysis/deconfliction", "POST", json.dumps({
        "geometry": {"type": "Point", "coordinates": [plon, plat]},
        "at": "2016-06-15T00:00:00Z", "distance_m": 2000}).encode(),
        {"Content-Type": "application/json"}) for plon, plat in points]
    _, cursor = _deep_cursor(url, rows, 10_000)
    return {
        "items bbox 0.5 deg, limit=1000": [_items(limit=1000, bbox=bbox)],
        "items datetime 1 week, limit=1000": [_items(
            limit=1000, datetime="2016-06-01T00:00:00Z/2016-06-07T23:59:59Z")],
        "items last cursor page, limit=10000": [
            _items(limit=10_000, **({"cursor": cursor} if cursor else {}))],
        f"MVT tiles z6-z12 ({len(tiles)})": tiles,
        "deconfliction, 1 point, 2 km": decon,
        "per-area counts, every area": [Ask("/analysis/areas/incidents")],
        "per-area counts, every area, June": [Ask("/analysis/areas/incidents?" + urlencode(
            {"datetime": "2016-06-01T00:00:00Z/2016-06-30T23:59:59Z"}))],
    }


def _read_mix(engine: Any, scenarios: dict[str, list[Ask]]) -> list[Ask]:
    """What a crowd of readers asks: the two pages, the tiles, features by id."""
    from sqlalchemy import text

    with engine.connect() as conn:
        total = int(conn.execute(text("SELECT count(*) FROM incidents")).scalar_one())
        ids = [int(r[0]) for r in conn.execute(text(
            "SELECT id FROM (SELECT id FROM incidents TABLESAMPLE BERNOULLI (:pct)) s "
            "ORDER BY random() LIMIT 100"),  # from the whole table, not its first pages
            {"pct": min(100.0, 20_000 / max(1, total))})]
    pages = [a for label, asks in scenarios.items() if label.startswith("items ")
             and "cursor" not in label for a in asks]
    tiles = next(asks for label, asks in scenarios.items() if label.startswith("MVT"))
    features = [Ask(f"/collections/incidents/items/{i}") for i in ids]
    mix: list[Ask] = []
    for i in range(max(len(tiles), len(features))):  # interleaved: pages, tiles and features
        mix += [pages[i % len(pages)], tiles[i % len(tiles)], features[i % len(features)]]
    return mix


def _serve(url: str, workers: int, read_urls: list[str] | None = None) -> tuple[Any, int]:
    from bench.crowd import _free_port

    port = _free_port()
    env = {**UNLIMITED, "TRUCE_DATABASE_READ_URLS": ",".join(read_urls or [])}
    return start_server(url, port, workers, env), port


def _stop(server: Any) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()


async def _until_ready(port: int, key: str, ask: Ask, replica: bool) -> None:
    """Until every worker answers (and, with a replica, until it takes reads), at most 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conn = Connection(port)
        try:
            status, answer = await _ask(conn, ask, key)
        except (Closed, OSError):
            status, answer = 0, {}
        conn.close()
        if status == 200 and (not replica
                              or "db;desc=replica" in answer.get("server-timing", "")):
            return
        await asyncio.sleep(0.3)


def _measure(port: int, key: str, scenarios: dict[str, list[Ask]],
             seconds: float) -> dict[str, Result]:
    results = {}
    for label, asks in scenarios.items():
        results[label] = asyncio.run(_load(port, asks, key, 1, seconds))
        print(f"  {label}: {results[label].cell()}", flush=True)
    return results


def _etl(engine: Any, path: Path) -> tuple[float, int]:
    """Load `path` with the project's job, then delete its rows again; the load's seconds and
    rows loaded."""
    from sqlalchemy import text

    from etl.jobs import find_job
    from etl.runner import run

    t0 = time.perf_counter()
    summary = run(find_job("incidents", "ucdp", path), path, engine, source=ETL_SOURCE)
    seconds = time.perf_counter() - t0
    if summary.status != "completed":
        raise RuntimeError(f"the ETL load failed: {summary.error}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = :s"), {"s": ETL_SOURCE})
    return seconds, summary.loaded


def _size(engine: Any) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one())


def _scale_out(url: str, key: str, mix: list[Ask], clients: int, seconds: float,
               one: int) -> list[tuple[str, Result]]:
    """The read mix at `clients` against 1 process (the one on port `one`), 2 processes, and 2
    processes reading from a replica made for it (both started together: their start-up
    overlaps, and an idle server costs the measured one nothing)."""
    from sqlalchemy.engine import make_url

    from bench.crowd import _free_port
    from cli import replicas

    replica_port = _free_port()
    print(f"making a hot standby on port {replica_port} (truce db replica up)", flush=True)
    replicas.up(replica_port)
    replica_url = make_url(url).set(port=replica_port).render_as_string(hide_password=False)
    servers: list[Any] = []
    rows: list[tuple[str, Result]] = []
    try:
        two, two_port = _serve(url, 2)
        servers.append(two)
        out, out_port = _serve(url, 2, [replica_url])
        servers.append(out)
        for label, port, replica in (("1 API process + 1 database", one, False),
                                     ("2 API processes + 1 database", two_port, False),
                                     ("2 API processes + 1 read replica", out_port, True)):
            asyncio.run(_until_ready(port, key, mix[0], replica))
            result = asyncio.run(_load(port, mix, key, clients, seconds))
            print(f"  {label}: {result.cell()}", flush=True)
            rows.append((label, result))
    finally:
        for server in servers:
            _stop(server)
        replicas.remove(replica_port)
    return rows


def _growth(base: float, full: float) -> str:
    return f"{full / base:.2f}x" if base > 0 else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="incidents, full size")
    parser.add_argument("--base-rows", type=int, default=1_000_000,
                        help="incidents, the size it is compared with (a subset of the full)")
    parser.add_argument("--areas", type=int, default=20_000, help="agreement areas")
    parser.add_argument("--seconds", type=float, default=5.0, help="per row and size")
    parser.add_argument("--clients", type=int, default=16, help="clients of the scale-out rows")
    parser.add_argument("--etl-rows", type=int, default=0,
                        help="rows of the ETL load at each size (default: a tenth of --base-rows)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if not 0 < args.base_rows < args.rows:
        parser.error("--base-rows must be above 0 and below --rows")
    etl_rows = args.etl_rows or max(100, args.base_rows // 10)

    from sqlalchemy import create_engine

    from bench.etl import generate
    from cli import pgcluster
    from server.db.migrate import upgrade

    server_url = pgcluster.up(pgcluster.default_cluster())
    url = pgcluster.create_database(server_url, DB_NAME, recreate=True)
    upgrade(url)
    engine = create_engine(url)
    sizes = (args.base_rows, args.rows)
    figures: dict[int, dict[str, Result]] = {}
    built: dict[int, tuple[float, str]] = {}
    etl: dict[int, tuple[float, int]] = {}
    server = None
    try:
        key = new_key(url, "planner")
        server, port = _serve(url, 1)  # the same process at every size
        with tempfile.TemporaryDirectory() as tmp:
            etl_file = Path(tmp) / "etl.csv"
            generate(etl_file, etl_rows, seed=21)
            done = 0
            for size in sizes:
                seconds = _grow(engine, done + 1, size, args.areas)
                done = size
                built[size] = (seconds, _size(engine))
                print(f"{size:,} incidents, {args.areas:,} areas: built in {seconds:.1f}s "
                      f"({built[size][1]})", flush=True)
                scenarios = _scenarios(engine, url, size)
                asyncio.run(_until_ready(port, key, scenarios[next(iter(scenarios))][0], False))
                figures[size] = _measure(port, key, scenarios, args.seconds)
                etl[size] = _etl(engine, etl_file)
                print(f"  ETL {etl[size][1]:,} rows: {etl[size][0]:.2f}s", flush=True)
        _vacuum(engine)
        scale_out = _scale_out(url, key, _read_mix(engine, scenarios), args.clients,
                               args.seconds, port)
    finally:
        if server is not None:
            _stop(server)
        engine.dispose()
        if not args.keep:
            pgcluster.drop_database(server_url, DB_NAME)
    report(sizes, args, figures, built, etl, scale_out)


def report(sizes: tuple[int, int], args: argparse.Namespace,
           figures: dict[int, dict[str, Result]], built: dict[int, tuple[float, str]],
           etl: dict[int, tuple[float, int]], scale_out: list[tuple[str, Result]]) -> None:
    base, full = sizes
    print(f"\n{args.areas:,} agreement areas; 1 API process, tile cache off, 1 client, "
          f"{args.seconds:g}s per cell, planner key; same machine for client, API and database\n")
    print(f"| request | {base:,} incidents: p50 / p95, req/s | {full:,} incidents: p50 / p95, "
          "req/s | growth p50 |")
    print("|---|---|---|---:|")
    for label in figures[base]:
        b, f = figures[base][label], figures[full][label]
        print(f"| {label} | {b.cell()} | {f.cell()} | {_growth(b.pct(0.5), f.pct(0.5))} |")
    (bs, bn), (fs, fn) = etl[base], etl[full]
    print(f"| ETL load, {bn:,} UCDP rows (project's job) | {bs:.2f} s, {bn / bs:,.0f} rows/s | "
          f"{fs:.2f} s, {fn / fs:,.0f} rows/s | {_growth(fn / fs, bn / bs)} |")
    print(f"| build, set-based SQL (database size) | {built[base][0]:.1f} s ({built[base][1]}) | "
          f"+{built[full][0]:.1f} s ({built[full][1]}) | |")
    print(f"\nscale-out at c={args.clients}, {full:,} incidents, read mix (items bbox and week "
          "pages, tiles z6-z12, features by id), same machine\n")
    print("| setup | req/s | p50 ms | p95 ms | errors | answered by the replica |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in scale_out:
        share = f"{r.replica / max(1, len(r.latencies)):.0%}"
        print(f"| {label} | {r.per_second:.1f} | {r.pct(0.5):.1f} | {r.pct(0.95):.1f} | "
              f"{r.failed()} | {share} |")
    if scale_out:
        one, out = scale_out[0][1], scale_out[-1][1]
        print(f"\n2 processes + 1 replica / 1 process + 1 database: "
              f"{out.per_second / one.per_second:.2f}x req/s, p95 "
              f"{out.pct(0.95) / one.pct(0.95):.2f}x")
    print(f"\ngrowth p50 = p50 at {full:,} / p50 at {base:,} (ETL: rows/s at {base:,} / rows/s "
          f"at {full:,}); cells: p50 / p95 ms, req/s")


if __name__ == "__main__":
    main()
