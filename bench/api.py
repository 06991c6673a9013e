"""API benchmark: this API against tipg on the same database, same requests, same run.

`python -m bench api [--rows 1000000] [--seconds 3] [--keep]` builds (or reuses) a bench database
on the local cluster with N synthetic incidents (gaussian clusters around 50 towns inside Syria's
bounding box plus 5% uniform noise, 2016-02-27..2016-12-31, generated in SQL), installs tipg into
a separate venv `.venv-bench` when it is missing, serves both with uvicorn on this machine, and
measures with an httpx/asyncio keep-alive client: p50/p95 latency and req/s at 1 and 8 concurrent
clients, the ratios, and the time of the same page or tile as one SQL statement (the floor).
The floor is timed once after every request of this API's 1-client load (outside the request's
timing and outside the seconds req/s divides by): on a shared 2-core machine the load changes
from one minute to the next, and a floor measured alone before the load (still printed, `SQL ms
alone`) was far off the one of the same seconds, so the ratio measured mostly the noise.

This API is asked with an analyst key (it then answers what tipg answers: every row, exact); an
anonymous caller gets released incidents only (a third of the synthetic rows), snapped and
bucketed. `--anonymous` asks every row anonymously as well, on the same server in the same run,
and prints that row's p50 over the analyst's (feature by id: ids of released rows). Page 1000
of 1M rows: this API follows its keyset cursor, tipg its offset; both at offset 999,000 as well.
`(br)`: both asked for brotli. `--without-tipg` leaves tipg out (its columns stay empty), e.g.
where tipg cannot be installed; `--database` names the bench database (default truce_bench_api).
"""

from __future__ import annotations

# ruff: noqa: S608 - the SQL texts here are built from constants only
import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.keys import new_key

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".venv-bench"
DB_NAME = "truce_bench_api"

TOWNS_SQL = """
DROP TABLE IF EXISTS bench_towns;
CREATE TABLE bench_towns AS
  SELECT i AS town, 36.2 + random() * 5.7 AS lon, 32.6 + random() * 4.4 AS lat,
         0.02 + random() * 0.23 AS sigma FROM generate_series(1, 50) i
"""

# the synthetic incidents numbered :first..:last around bench_towns (also the scale bench's)
INCIDENTS_INSERT = """
INSERT INTO incidents (source, source_id, occurred_at, event_type, verification_status,
                       fatalities, actor1, actor2, location_name, geo_precision, geom)
SELECT 'bench', g.i::text,
       timestamptz '2016-02-27' + (floor(random() * 309) || ' days')::interval,
       (ARRAY['state_based_violence','non_state_violence','one_sided_violence'])[1 + (g.i % 3)],
       (ARRAY['reported','confirmed','under_review'])[1 + (g.i % 3)],
       (random() * 12)::int, 'Government of Syria', 'Syrian insurgents', 'town ' || g.town,
       'exact', ST_SetSRID(ST_MakePoint(least(42.4, greatest(35.7, g.lon)),
                                        least(37.3, greatest(32.3, g.lat))), 4326)
FROM (
  SELECT s.i, t.town,
         CASE WHEN s.noise THEN 35.7 + random() * 6.7
              ELSE t.lon + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) END
           AS lon,
         CASE WHEN s.noise THEN 32.3 + random() * 5.0
              ELSE t.lat + t.sigma * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) END
           AS lat
  FROM (SELECT i, random() < 0.05 AS noise, 1 + floor(random() * 50)::int AS town
        FROM generate_series(:first, :last) i) s
  JOIN bench_towns t ON t.town = s.town
) g
"""

GENERATE_SQL = f"""{TOWNS_SQL.strip()};
ALTER TABLE incidents DISABLE TRIGGER USER;
TRUNCATE incidents CASCADE;
{INCIDENTS_INSERT.strip()};
ALTER TABLE incidents ENABLE TRIGGER USER;
SELECT incident_tile_cells_rebuild();
UPDATE layer_versions SET version = version + 1, row_count = (SELECT count(*) FROM incidents),
       changed_at = now() WHERE layer = 'incidents';
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def populate(engine: Any, rows: int) -> None:
    """Fill `incidents` with `rows` synthetic incidents (GENERATE_SQL), then VACUUM ANALYZE."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.7)"))
        for statement in GENERATE_SQL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement),
                             {"first": 1, "last": rows} if ":last" in statement else {})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE incidents"))
    print(f"generated {rows:,} synthetic incidents in SQL in {time.perf_counter() - t0:.1f}s")


def _database(rows: int, name: str = DB_NAME) -> str:
    from sqlalchemy import create_engine, text

    from cli import pgcluster
    from server.db.migrate import upgrade

    server_url = pgcluster.up(pgcluster.default_cluster())
    url = pgcluster.create_database(server_url, name, recreate=False)
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    if have != rows:
        populate(engine, rows)
    else:
        print(f"reusing {rows:,} incidents in {name}")
    engine.dispose()
    return url


def _ensure_tipg() -> Path:
    """tipg's venv, with uvloop and httptools like ours (both servers run on the same loop and
    HTTP parser; an older venv lacking them is completed)."""
    uvicorn = BENCH_VENV / "bin" / "uvicorn"
    python = BENCH_VENV / "bin" / "python"
    if not uvicorn.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import tipg, uvicorn, uvloop, httptools"],
                      capture_output=True).returncode != 0:
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn",
                        "uvloop", "httptools"], check=True)
    return uvicorn


def serve(cmd: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    """Start a server process in its own group; return once `probe` answers on `port`."""
    import httpx

    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.3)
    raise RuntimeError(f"{' '.join(cmd)} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def _deep_cursor(url: str, rows: int, limit: int) -> tuple[int, str]:
    """The offset of the last page of `limit`, and this API's cursor for the same page."""
    from sqlalchemy import create_engine, text

    from server.db.collections import COLLECTIONS
    from server.params import encode_cursor, order_id
    from server.queries.features import ItemQuery, page_keys

    offset = max(0, rows - limit)
    engine = create_engine(url)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT id FROM incidents ORDER BY id OFFSET :n LIMIT 1"),
                             {"n": offset - 1}).scalar_one() if offset else None
    engine.dispose()
    c = COLLECTIONS["incidents"]
    order = order_id((c.id, page_keys(c, ItemQuery())))
    return offset, encode_cursor(order, [after]) if after is not None else ""


def _scenarios(url: str, rows: int) -> tuple[dict[str, dict[str, Any]], list[tuple[int, int, int]]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        towns = conn.execute(text(
            "SELECT t.lon, t.lat, count(*) FROM bench_towns t JOIN incidents i "
            "ON i.location_name = 'town ' || t.town GROUP BY 1, 2 ORDER BY 3 DESC")).all()
        ids = [r[0] for r in conn.execute(text(
            "SELECT id FROM incidents TABLESAMPLE SYSTEM (1) LIMIT 200")).all()]
        released = [r[0] for r in conn.execute(text(
            "SELECT id FROM incidents TABLESAMPLE SYSTEM (3) WHERE verification_status = "
            "'confirmed' AND sensitivity = 'public' LIMIT 200")).all()]
    engine.dispose()
    lon, lat = towns[0][0], towns[0][1]
    bbox = f"{lon - 0.25:.4f},{lat - 0.25:.4f},{lon + 0.25:.4f},{lat + 0.25:.4f}"
    rng = random.Random(3)
    tiles: list[tuple[int, int, int]] = []
    for z, count in ((6, 10), (8, 12), (10, 14), (12, 14)):
        seen: set[tuple[int, int, int]] = set()
        for tlon, tlat, _ in towns:
            x, y = _tile_of(tlon + rng.uniform(-0.05, 0.05), tlat + rng.uniform(-0.05, 0.05), z)
            seen.add((z, x, y))
            if len(seen) >= count:
                break
        tiles += sorted(seen)
    week = "2016-06-01T00:00:00Z/2016-06-07T23:59:59Z"
    offset, cursor = _deep_cursor(url, rows, 1000)
    page = f"page {offset // 1000 + 1}"
    return {
        "items limit=10": {"path": "/items", "params": {"limit": 10}},
        "items limit=1000": {"path": "/items", "params": {"limit": 1000}},
        "items limit=1000 (br)": {"path": "/items", "params": {"limit": 1000},
                                  "headers": {"Accept-Encoding": "br"}},
        f"items limit=1000 {page} (truce: cursor, tipg: offset)": {
            "path": "/items", "params": {"limit": 1000, "offset": offset},
            "truce_params": {"limit": 1000, "cursor": cursor}},
        f"items limit=1000 {page} (offset={offset:,})": {
            "path": "/items", "params": {"limit": 1000, "offset": offset}},
        "items limit=1000 bbox 0.5deg": {"path": "/items", "params": {"limit": 1000,
                                                                      "bbox": bbox}},
        "items limit=1000 datetime 1 week": {"path": "/items", "params": {"limit": 1000,
                                                                          "datetime": week},
                                             # tipg filters its default datetime column (it
                                             # answered no features): name the same column
                                             "tipg_params": {"limit": 1000, "datetime": week,
                                                             "datetime-column": "occurred_at"}},
        "feature by id": {"path": "/items/{id}", "ids": ids, "public_ids": released},
        f"MVT tiles z6-12 ({len(tiles)})": {"path": "/tiles", "tiles": tiles},
    }, tiles


def _urls(kind: str, spec: dict[str, Any], base: str,
          anonymous: bool = False) -> list[tuple[str, dict[str, Any]]]:
    coll = f"{base}/collections/{'public.incidents' if kind == 'tipg' else 'incidents'}"
    if kind != "tipg" and "truce_params" in spec:
        return [(f"{coll}{spec['path']}", spec["truce_params"])]
    if kind == "tipg" and "tipg_params" in spec:
        return [(f"{coll}{spec['path']}", spec["tipg_params"])]
    if "ids" in spec:  # an anonymous caller asks for released rows (others are 404)
        return [(f"{coll}/items/{i}", {}) for i in spec["public_ids" if anonymous else "ids"]]
    if "tiles" in spec:
        return [(f"{coll}/tiles/WebMercatorQuad/{z}/{x}/{y}" if kind == "tipg"
                 else f"{coll}/tiles/WebMercatorQuad/{z}/{y}/{x}", {})
                for z, x, y in spec["tiles"]]
    return [(f"{coll}{spec['path']}", spec["params"])]


async def _load(urls: list[tuple[str, dict[str, Any]]], concurrency: int, seconds: float,
                headers: dict[str, str] | None = None,
                between: Callable[[int], float] | None = None,
                between_times: list[float] | None = None) -> tuple[list[float], float, int, int]:
    """Latencies, req/s, errors and mean bytes on the wire of `concurrency` keep-alive clients
    asking `urls` in turn for `seconds`. With `between` (one client only), `between(i)` runs
    after the i-th request, outside its timing and outside the time req/s divides by; its
    results go to `between_times`: the SQL floor measured in the same seconds as the load."""
    import httpx

    latencies: list[float] = []
    paused = 0.0
    errors = 0
    sizes = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Accept-Encoding": "gzip", **(headers or {})}
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        for url, params in urls[:3]:  # warm-up
            await client.get(url, params=params)
        stop = time.perf_counter() + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            nonlocal errors, sizes, paused, stop
            while time.perf_counter() < stop:
                i = next(counter)
                url, params = urls[i % len(urls)]
                t0 = time.perf_counter()
                r = await client.get(url, params=params)
                latencies.append(time.perf_counter() - t0)
                sizes += r.num_bytes_downloaded  # on the wire (compressed)
                if r.status_code not in (200, 204):
                    errors += 1
                if between is not None and between_times is not None:
                    t1 = time.perf_counter()
                    between_times.append(between(i))
                    spent = time.perf_counter() - t1
                    paused += spent
                    stop += spent  # the load itself still runs `seconds`

        if between is not None and concurrency != 1:
            raise ValueError("between runs with one client only")
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0 - paused
    return latencies, len(latencies) / elapsed, errors, sizes // max(1, len(latencies))


class _Floor:
    """The same page or tile as this API's statement, run the way the API runs it (the same
    SQL text through the same function, on an autocommit connection like the API's read pool,
    prepared where the API prepares it, the result fetched and decoded to Python text), timed
    in-process. Only that one statement is timed: not the key and version look-up (the API now
    reads them in the same statement, which the floor leaves out), nor the planner's estimate a
    filtered page asks for first (both part of the API's time). `once(i)` runs the i-th request
    of the spec (tiles: each in turn) and returns its seconds."""

    def __init__(self, url: str, spec: dict[str, Any]) -> None:
        from sqlalchemy.orm import Session

        from server.db.collections import COLLECTIONS
        from server.db.engine import make_read_engine
        from server.queries import features
        from server.security.release import Release
        from server.services.features import item_query, planned, version
        from server.settings import DatabaseSettings

        self.spec = spec
        self.c = COLLECTIONS["incidents"]
        self.everything = Release("TRUE")  # the unrestricted (analyst) path
        self.engine = make_read_engine(DatabaseSettings(url=url))
        self.session = Session(self.engine)
        self.query = None
        if "tiles" not in spec and "ids" not in spec:
            params = spec.get("truce_params", spec["params"])
            q = item_query(self.c, {k: str(v) for k, v in params.items()},
                           default_limit=10, max_limit=10000)
            ver = version(self.c, session=self.session)
            self.query = planned(self.c, q, self.everything, ver, session=self.session)
        self.features = features

    def once(self, i: int) -> float:
        from server.queries import tiles

        spec, c, rel, session = self.spec, self.c, self.everything, self.session
        t0 = time.perf_counter()
        if "ids" in spec:
            self.features.get_with_version(c, spec["ids"][i % len(spec["ids"])], rel,
                                           session=session)
        elif "tiles" in spec:
            z, x, y = spec["tiles"][i % len(spec["tiles"])]
            tiles.mvt_tile(c, z, x, y, self.features.ItemQuery(), rel, cap=3000,
                           session=session)
        elif self.query is not None:
            self.features.list_page(c, self.query, rel, session=session)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def _sql_floor(url: str, spec: dict[str, Any], repeat: int = 15) -> float:
    """The floor alone (median ms; tiles: one pass over every tile the load asks for, mean)."""
    floor = _Floor(url, spec)
    try:
        if "tiles" in spec:
            repeat = len(spec["tiles"])
        times = [floor.once(i) for i in range(repeat)]
    finally:
        floor.close()
    return (statistics.mean(times) if "tiles" in spec else statistics.median(times)) * 1000


def _http_floor(port: int, size: int, seconds: float) -> float:
    """c=1 p50 (ms) of the bare ASGI app (bench/http_floor.py) answering `size` bytes."""
    url = [(f"http://127.0.0.1:{port}/", {"size": size})]
    latencies, *_ = asyncio.run(_load(url, 1, seconds))
    return _pct(latencies, .5)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _scenario(label: str, spec: dict[str, Any], url: str, ports: dict[str, int],
              key: dict[str, str], args: argparse.Namespace) -> None:
    """Measure one request kind on every server (and anonymously) and print its rows."""
    alone = _sql_floor(url, spec)
    floor_times: list[float] = []
    results: dict[str, tuple[float, ...]] = {}
    names = (([] if args.without_tipg else ["tipg"]) + ["truce"]
             + (["truce+cache"] if "tiles" in spec else [])
             + (["truce anon"] if args.anonymous else []))
    for name in names:
        server = "truce" if name == "truce anon" else name
        urls = _urls(name if name == "tipg" else "truce", spec,
                     f"http://127.0.0.1:{ports[server]}", anonymous=name == "truce anon")
        keyed = {} if name in ("tipg", "truce anon") else key
        headers = {**spec.get("headers", {}), **keyed}
        if name == "truce":  # the floor in the same seconds as this API's c=1 load
            floor = _Floor(url, spec)
            try:
                lat1, rps1, err1, size = asyncio.run(_load(
                    urls, 1, args.seconds, headers, floor.once, floor_times))
            finally:
                floor.close()
        else:
            lat1, rps1, err1, size = asyncio.run(_load(urls, 1, args.seconds, headers))
        lat8, rps8, err8, _ = asyncio.run(_load(urls, 8, args.seconds, headers))
        results[name] = (_pct(lat1, .5), _pct(lat1, .95), rps1, _pct(lat8, .5),
                         _pct(lat8, .95), rps8, size, err1 + err8)
    base = results.get("tipg")
    for name in names:
        r = results[name]
        ratio = "" if name == "tipg" or base is None else f"{r[2] / base[2]:.2f}"
        ratio8 = "" if name == "tipg" or base is None else f"{r[5] / base[5]:.2f}"
        err = f" ({r[7]} errors)" if r[7] else ""
        sql = over = solo = http = over_http = ""
        if name == "truce":
            floor_ms = (statistics.mean(floor_times) if "tiles" in spec
                        else statistics.median(floor_times)) * 1000
            sql, solo, over = f"{floor_ms:.1f}", f"{alone:.1f}", f"{r[0] / floor_ms:.2f}x"
            http_ms = _http_floor(ports["floor"], int(r[6]), min(args.seconds, 2.0))
            http, over_http = f"{http_ms:.1f}", f"{r[0] / (floor_ms + http_ms):.2f}x"
        anon = ""
        if args.anonymous:
            keyed_r = results["truce"]
            anon = (f" {r[0] / keyed_r[0]:.2f}x | {r[3] / keyed_r[3]:.2f}x |"
                    if name == "truce anon" else "  |  |")
        print(f"| {label} | {name}{err} | {r[0]:.1f} | {r[1]:.1f} | {r[2]:.1f} | "
              f"{r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:,} | {sql} | {solo} | "
              f"{over} | {http} | {over_http} | {ratio} | {ratio8} |{anon}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario and concurrency")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (default)")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes, the same for both servers")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the row labelled TEXT, or else the rows whose label "
                        "contains TEXT (repeatable)")
    parser.add_argument("--anonymous", action="store_true",
                        help="also ask every row without a key; print its p50 / the analyst's")
    parser.add_argument("--without-tipg", action="store_true",
                        help="do not run tipg (its columns and the ratios stay empty)")
    parser.add_argument("--database", default=DB_NAME, help="the bench database's name")
    args = parser.parse_args(argv)

    url = _database(args.rows, args.database)
    libpq = url.replace("postgresql+psycopg2://", "postgresql://")
    tipg_uvicorn = None if args.without_tipg else _ensure_tipg()
    servers: dict[str, subprocess.Popen[bytes]] = {}
    ports = {"truce": _free_port(), "truce+cache": _free_port(), "tipg": _free_port(),
             "floor": _free_port()}
    # the same server stack for both: uvicorn, one process, uvloop, httptools, no access log
    common = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log",
              "--loop", "uvloop", "--http", "httptools", "--workers", str(args.workers)]
    try:
        if tipg_uvicorn is not None:
            servers["tipg"] = serve(
                [str(tipg_uvicorn), "tipg.main:app", "--port", str(ports["tipg"]), *common],
                {"DATABASE_URL": libpq, "TIPG_DB_SCHEMAS": '["public"]',
                 "TIPG_MAX_FEATURES_PER_TILE": "10000"},
                ports["tipg"], "/collections")
        # the uvicorn of the venv running this benchmark (a worktree has no .venv of its own)
        ours = [str(Path(sys.executable).parent / "uvicorn"), "server.main:create_app",
                "--factory", *common]
        for name, cache_mb in (("truce", "0"), ("truce+cache", "64")):
            servers[name] = serve([*ours, "--port", str(ports[name])],
                                   {"TRUCE_DATABASE": json.dumps({"url": url}),
                                    "TRUCE_API_TILE_CACHE_MB": cache_mb,
                                    # the benchmark is one client: no rate limit
                                    "TRUCE_SECURITY_RATE_PER_SECOND": "1000000",
                                    "TRUCE_SECURITY_RATE_BURST": "1000000",
                                    "TRUCE_SECURITY_ANONYMOUS_RATE_PER_SECOND": "1000000",
                                    "TRUCE_SECURITY_ANONYMOUS_BURST": "1000000"},
                                   ports[name], "/collections/incidents")
        servers["floor"] = serve([ours[0], "bench.http_floor:app", "--port", str(ports["floor"]),
                                  *common], {}, ports["floor"], "/")
        scenarios, _ = _scenarios(url, args.rows)
        key = {"X-API-Key": new_key(url, "analyst")}
        print(f"\n{args.rows:,} incidents; {args.seconds:.0f}s per cell; {args.workers} uvicorn "
              "worker(s) per server (uvloop, httptools); client httpx/asyncio, "
              "keep-alive, gzip accepted (br where marked); this API with an analyst key"
              f"{' (truce anon: without a key)' if args.anonymous else ''}; same "
              "machine (2 cores shared by client, server, DB)\n")
        head = ("| request | server | c=1 p50 ms | c=1 p95 ms | c=1 req/s | c=8 p50 ms | "
                "c=8 p95 ms | c=8 req/s | bytes on the wire | SQL ms | SQL ms alone | "
                "c=1 p50 / SQL | HTTP floor ms | c=1 p50 / (SQL + HTTP floor) | "
                "ratio req/s c=1 | ratio c=8 |")
        if args.anonymous:
            head += " anon p50 / key p50 c=1 | c=8 |"
        print(head)
        print("|" + "---|" * (18 if args.anonymous else 16))
        for label, spec in scenarios.items():
            if args.only and not any(part == label or (part not in scenarios and part in label)
                                     for part in args.only):
                continue
            _scenario(label, spec, url, ports, key, args)
        print("\nratio = truce req/s / tipg req/s (>= 1.0 is the target); SQL ms = the same "
              "page/tile as this API's statement, run as the API runs it, timed in-process, "
              "once after each request of this API's c=1 load (the same seconds, so the same "
              "machine load; median; tiles: mean over every tile); SQL ms alone = the same, "
              "measured before the load (15 runs; tiles: one pass); c=1 p50 / SQL: the target "
              "is <= 1.5x; HTTP floor ms = c=1 p50 of a bare ASGI app (bench/http_floor.py) "
              "answering as many bytes, same uvicorn stack, same client: what a request costs "
              "before any work" + ("; anon p50 / key p50: truce anon's p50 over truce's (the "
              "same request with an analyst key), at 1 and 8 clients (<= 1.5 is the target)"
              if args.anonymous else ""))
    finally:
        for proc in servers.values():
            stop(proc)


if __name__ == "__main__":
    main()
