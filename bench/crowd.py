"""Crowd benchmark: the public map's link shared everywhere, everyone opening it at once.

`python -m bench crowd [--clients 50,200,800] [--seconds 20] [--workers 2]` serves the API with
`truce serve --workers N` on its own database (`truce_bench_crowd` on the local cluster: the
sample data, loaded once) and, for each crowd size in turn, lets that many anonymous clients
loose on it from one asyncio process on loopback for `--seconds`. Each client is a visitor with
one keep-alive connection, one request after the other on it, with no pause, visit after visit
(half of them by a new visitor, half by one coming back with a browser's cache: what is still
fresh by its max-age is not asked again, the rest is revalidated by ETag): the viewer's page,
its styles and scripts, the layer list and the relief's TileJSON, the first view's tiles (two
vector sources at z6, the relief at z7), a pan (the new tiles), three incident pages and two
incidents by id; one visit in 20 first asks for a heavy answer (a 10,000-row page or a
10,000-row CSV export). A request not answered within `--timeout` (10 s) is a client time-out:
the connection is dropped and a new one opened. A 503 or 429 is an answer: the client waits its
Retry-After (at most 5 s) and goes on. Each client sends its own X-Forwarded-For address and
the server trusts loopback as a proxy (as behind a reverse proxy), so the per-address limits
apply per client.

Printed per size: answers/s; p50/p99 of light and of heavy requests answered 2xx/304 (those
admitted) and per step; 2xx (with 304), 429, 503 and other 5xx counts; the p99 of the
refusals; client time-outs; what a separate probe (a process of its own, one connection per
probe, every 0.2 s) sees of /health/live, /health/ready and a 5-row items page; and the
server's memory (RSS of its processes) before and after. Before the first size and after the
last, the probe's items page alone (p50 of 20): the next request once the crowd has left should
be as fast as before it came. Figures of a run are in docs/crowd.md; they are not part of the
tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "truce_bench_crowd"
STATIC = ROOT / "web" / "static"
HEAVY_SHARE = 20  # one visit in 20 asks for a heavy answer
CENTER, ZOOM = (38.5, 35.0), 6  # the viewer's first view (web/static/js/config.js)
WIDTH, HEIGHT = 1000, 720  # the map's part of a 1280x720 window
PROBE_EVERY = 0.2
PROBE_ADDRESS = "10.255.255.254"


# --- a minimal HTTP/1.1 client: one keep-alive connection, no decoding of bodies ---

class Closed(Exception):
    pass


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], int]:
        return await self.request("GET", path, headers)

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, dict[str, str], int]:
        """Status, headers (lower-case names) and body size of `method path` (with `body`)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port,
                                                                     limit=1 << 20)
        assert self.reader is not None
        if body:
            headers = {**headers, "Content-Length": str(len(body))}
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          f"{lines}\r\n".encode("latin-1") + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            raise Closed from exc
        first, *rest = head.decode("latin-1").split("\r\n")
        status = int(first.split(" ", 2)[1])
        answer: dict[str, str] = {}
        for line in rest:
            name, sep, value = line.partition(":")
            if sep:
                answer[name.strip().lower()] = value.strip()
        size = 0
        if "content-length" in answer:
            size = int(answer["content-length"])
            await self.reader.readexactly(size)
        elif answer.get("transfer-encoding", "").lower() == "chunked":
            while True:
                chunk = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)
                size += chunk
                if chunk == 0:
                    break
        elif status not in (204, 304):
            size = len(await self.reader.read())
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close":
            self.close()
        return status, answer, size

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.transport.abort()
        self.reader = self.writer = None


# --- what a visitor asks for ---

def _mercator(lon: float, lat: float) -> tuple[float, float]:
    s = math.sin(math.radians(lat))
    return (lon + 180) / 360, 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


def view_tiles(center: tuple[float, float], zoom: float, tile_size: int = 512,
               round_zoom: bool = False, minzoom: int = 0, maxzoom: int = 14,
               bounds: list[float] | None = None) -> list[tuple[int, int, int]]:
    """The tiles covering the view, as the viewer's prefetchTiles (app.js) computes them."""
    ideal = zoom + math.log2(512 / tile_size)
    z = min(maxzoom, max(minzoom, round(ideal) if round_zoom else math.floor(ideal)))
    n = 2 ** z
    size = tile_size * 2 ** (ideal - z)
    mx, my = _mercator(*center)

    def span(c: float, half: float) -> tuple[int, int]:
        return (max(0, math.floor((c * n * size - half) / size)),
                min(n - 1, math.floor((c * n * size + half) / size)))

    x0, x1 = span(mx, WIDTH / 2)
    y0, y1 = span(my, HEIGHT / 2)
    if bounds:
        west, north = _mercator(bounds[0], bounds[3])
        east, south = _mercator(bounds[2], bounds[1])
        x0, x1 = max(x0, math.floor(west * n)), min(x1, math.floor(east * n))
        y0, y1 = max(y0, math.floor(north * n)), min(y1, math.floor(south * n))
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def viewer_files() -> list[str]:
    """The viewer's files a first visit loads: those index.html names, i18n's catalogue."""
    page = (STATIC / "index.html").read_text()
    named = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    return [*dict.fromkeys(named), "/static/i18n/en.json"]


@dataclass
class Plan:
    files: list[str]
    light_api: list[str]  # the layer list, the relief's TileJSON
    first_tiles: list[str]
    pan_tiles: list[str]
    pages: list[str]
    features: list[str]
    heavy: list[str]


def make_plan(tilejson: dict[str, Any], ids: list[str]) -> Plan:
    vector = ["/tiles/WebMercatorQuad/{z}/{y}/{x}?" + urlencode(
                  {"collections": "settlements,agreement_areas,admin_areas",
                   "admin_areas.admin_level": 1}),
              "/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=incidents%2Caid_deliveries"]
    raster = [t.split("://", 1)[-1].split("/", 1)[-1] for t in tilejson.get("tiles", [])]
    raster = ["/" + t for t in raster]
    minzoom, maxzoom = int(tilejson.get("minzoom", 0)), int(tilejson.get("maxzoom", 14))
    bounds = tilejson.get("bounds")

    def urls(center: tuple[float, float], zoom: float) -> list[str]:
        out = [t.format(z=z, x=x, y=y) for t in vector
               for z, x, y in view_tiles(center, zoom)]
        out += [t.format(z=z, x=x, y=y) for t in raster
                for z, x, y in view_tiles(center, zoom, 256, True, minzoom, maxzoom, bounds)]
        return out

    first = urls(CENTER, ZOOM)
    panned = urls((CENTER[0] + 1.6, CENTER[1] - 0.8), ZOOM)
    pan = [u for u in panned if u not in first]
    bbox = "37.5,34.5,39.5,35.5"
    pages = [f"/collections/incidents/items?f=json&limit=20&bbox={bbox}",
             f"/collections/incidents/items?f=json&limit=20&bbox={bbox}&offset=20",
             "/collections/incidents/items?f=json&limit=50&datetime=2016-05-01/2016-05-31"]
    return Plan(files=viewer_files(),
                light_api=["/collections?f=json", "/rasters/shaded_relief/tilejson.json"],
                first_tiles=first, pan_tiles=pan, pages=pages,
                features=[f"/collections/incidents/items/{i}?f=json" for i in ids],
                heavy=["/collections/incidents/items?f=json&limit=10000",
                       "/collections/incidents/items?f=csv&limit=10000"])


# --- the crowd ---

@dataclass
class Tally:
    light: list[float] = field(default_factory=list)  # seconds, admitted (2xx, 304)
    heavy: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # 429 and 503
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # admitted, per step
    statuses: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    errors: int = 0
    cached: int = 0  # not asked: fresh in the visitor's cache (max-age)
    client_lag: list[float] = field(default_factory=list)

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


def _class(status: int) -> str:
    if status in (429, 503):
        return str(status)
    if 200 <= status < 400:
        return "2xx"
    return "5xx" if status >= 500 else "4xx"


async def visitor(n: int, port: int, plan: Plan, stop: float, tally: Tally,
                  timeout: float) -> None:
    conn = Connection(port)
    address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"
    etags: dict[str, str] = {}  # the visitor's HTTP cache: revalidated on the next visit
    fresh: dict[str, float] = {}  # ... or not asked again at all while its max-age lasts
    rng = random.Random(n)
    base = {"X-Forwarded-For": address, "Accept-Encoding": "gzip, deflate, br",
            "User-Agent": "truce-bench-crowd"}

    async def ask(path: str, kind: str, accept: str = "*/*") -> None:
        heavy = kind == "heavy"
        now = time.monotonic()
        if now >= stop:
            return
        headers = {**base, "Accept": accept}
        if fresh.get(path, 0.0) > now:
            tally.cached += 1
            return
        if path in etags:
            headers["If-None-Match"] = etags[path]
        try:
            async with asyncio.timeout(timeout):
                status, answer, _ = await conn.get(path, headers)
        except TimeoutError:
            conn.close()
            tally.timeouts += 1
            return
        except (Closed, OSError):
            conn.close()
            tally.errors += 1
            await asyncio.sleep(0.1)
            return
        took = time.monotonic() - now
        answered = _class(status)
        tally.count(answered)
        if answered in ("429", "503"):
            tally.refused.append(took)
            wait = min(5.0, float(answer.get("retry-after", "1") or 1))
            await asyncio.sleep(min(wait, max(0.0, stop - time.monotonic())))
        elif answered == "2xx":
            (tally.heavy if heavy else tally.light).append(took)
            tally.by_kind.setdefault(kind, []).append(took)
            if "etag" in answer and not heavy:
                etags[path] = answer["etag"]
            age = re.search(r"max-age=(\d+)", answer.get("cache-control", ""))
            if age and int(age.group(1)) > 0 and not heavy:
                fresh[path] = time.monotonic() + int(age.group(1))

    await asyncio.sleep(rng.random() * 0.5)  # they arrive within half a second
    while time.monotonic() < stop:
        if rng.random() < 0.5:
            etags.clear()  # a new visitor; else one coming back, with its browser's cache
            fresh.clear()
        if rng.randrange(HEAVY_SHARE) == 0:  # came for the download or the whole table
            await ask(rng.choice(plan.heavy), "heavy")
        await ask("/", "files", accept="text/html,application/xhtml+xml")
        for path in plan.files:
            await ask(path, "files")
        for path in plan.light_api:
            await ask(path, "metadata", accept="application/json")
        for path in plan.first_tiles:
            await ask(path, "raster_tiles" if path.startswith("/rasters/") else "tiles")
        for path in plan.pan_tiles:
            await ask(path, "raster_tiles" if path.startswith("/rasters/") else "tiles")
        for path in plan.pages:
            await ask(path, "pages", accept="application/geo+json")
        for path in rng.sample(plan.features, min(2, len(plan.features))):
            await ask(path, "features", accept="application/geo+json")

    conn.close()


@dataclass
class ProbeLog:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    bad: dict[str, int] = field(default_factory=dict)


PROBES = {"live": "/health/live", "ready": "/health/ready",
          "items": "/collections/incidents/items?limit=5"}


async def probe(port: int, stop: float, log: ProbeLog, timeout: float) -> None:
    """Each probe on its own connection, every PROBE_EVERY seconds (one never waits for
    another), as a load balancer's health check and a watching user would."""

    async def one(name: str, path: str) -> None:
        conn = Connection(port)
        headers = {"X-Forwarded-For": PROBE_ADDRESS, "Accept": "application/json"}
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                async with asyncio.timeout(timeout):
                    status, _, _ = await conn.get(path, headers)
            except (TimeoutError, Closed, OSError):
                conn.close()
                status = 0
            log.seconds.setdefault(name, []).append(time.monotonic() - t0)
            if status != 200:
                log.bad[name] = log.bad.get(name, 0) + 1
            await asyncio.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - t0)))
        conn.close()

    await asyncio.gather(*(one(name, path) for name, path in PROBES.items()))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


# --- the server ---

def rss_mb(pid: int) -> float:
    """The resident memory of `pid` and all its descendants, MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_database() -> str:
    from sqlalchemy import create_engine

    from cli import pgcluster
    from etl import sample
    from server.db.migrate import upgrade

    server_url = pgcluster.up(pgcluster.default_cluster())
    url = pgcluster.create_database(server_url, DB_NAME)
    upgrade(url)
    engine = create_engine(url)
    try:
        if not sample.is_loaded(engine):
            print("loading the sample data into", DB_NAME, flush=True)
            sample.load_all(engine)
    finally:
        engine.dispose()
    return url


def start_server(url: str, port: int, workers: int, extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRUCE_DATABASE_URL": url,
           "TRUCE_SECURITY_TRUSTED_PROXIES": '["127.0.0.1/32"]',
           # every simulated client connects from loopback: the per-address connection cap
           # would count them as one
           "TRUCE_API_MAX_CONNECTIONS_PER_CLIENT": "1000000", **extra_env}
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                               "--workers", str(workers)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            sys.exit("truce serve exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        if time.monotonic() > deadline:
            server.kill()
            sys.exit("truce serve did not start")
        time.sleep(0.2)
    return server


async def _json(port: int, path: str) -> Any:
    conn = Connection(port)
    for _ in range(100):  # the workers may still be starting
        try:
            status, _, _ = await conn.get(path, {"Accept": "application/json"})
            if status == 200:
                break
        except (Closed, OSError):
            pass
        await asyncio.sleep(0.2)
    conn.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n"
                 "Connection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


async def alone(port: int, rounds: int = 20) -> float:
    """p50 of the probe's items page asked alone, seconds."""
    conn = Connection(port)
    took = []
    for _ in range(rounds):
        t0 = time.monotonic()
        await conn.get(PROBES["items"], {"X-Forwarded-For": PROBE_ADDRESS})
        took.append(time.monotonic() - t0)
    conn.close()
    return statistics.median(took)


async def run_size(port: int, plan: Plan, clients: int, seconds: float,
                   timeout: float) -> tuple[Tally, ProbeLog, float]:
    tally = Tally()
    start = time.monotonic()
    stop = start + seconds
    # the probe in a process of its own: what it sees is the server, not this busy client
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    prober = context.Process(target=_probe_process, args=(port, seconds, timeout, results))
    prober.start()
    await asyncio.gather(lag_monitor(stop, tally),
                         *(visitor(i + 1, port, plan, stop, tally, timeout)
                           for i in range(clients)))
    took = time.monotonic() - start
    log = ProbeLog(*results.get(timeout=seconds + 4 * timeout))
    prober.join(10)
    return tally, log, took


async def lag_monitor(stop: float, tally: Tally) -> None:
    """How late this client's own event loop wakes a 50 ms sleep: the part of every latency
    it measures that is the client's, not the server's."""
    while time.monotonic() < stop:
        t0 = time.monotonic()
        await asyncio.sleep(0.05)
        tally.client_lag.append(time.monotonic() - t0 - 0.05)


def _probe_process(port: int, seconds: float, timeout: float, results: Any) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    log = ProbeLog()
    asyncio.run(probe(port, time.monotonic() + seconds, log, timeout))
    results.put((log.seconds, log.bad))


def report(clients: int, tally: Tally, log: ProbeLog, took: float, mem: tuple[float, float]
           ) -> dict[str, Any]:
    answered = sum(tally.statuses.values())
    row = {"clients": clients, "answers_per_s": answered / took,
           "light_p50_ms": ms(pct(tally.light, 0.5)), "light_p99_ms": ms(pct(tally.light, 0.99)),
           "heavy_p50_ms": ms(pct(tally.heavy, 0.5)), "heavy_p99_ms": ms(pct(tally.heavy, 0.99)),
           "2xx": tally.statuses.get("2xx", 0), "429": tally.statuses.get("429", 0),
           "503": tally.statuses.get("503", 0), "5xx": tally.statuses.get("5xx", 0),
           "4xx": tally.statuses.get("4xx", 0), "refused_p99_ms": ms(pct(tally.refused, 0.99)),
           "timeouts": tally.timeouts, "errors": tally.errors, "from_cache": tally.cached,
           "client_lag_p50_p99_ms": f"{ms(pct(tally.client_lag, 0.5))}/"
                                    f"{ms(pct(tally.client_lag, 0.99))}",
           "mem_before_mb": round(mem[0]), "mem_after_mb": round(mem[1])}
    row["by_kind_p50_p99_ms"] = {kind: f"{ms(pct(v, 0.5))}/{ms(pct(v, 0.99))} (n={len(v)})"
                                 for kind, v in sorted(tally.by_kind.items())}
    for name in PROBES:
        values = log.seconds.get(name, [])
        row[f"probe_{name}"] = (f"p50 {ms(pct(values, 0.5))} p99 {ms(pct(values, 0.99))} max "
                                f"{ms(max(values) if values else float('nan'))} ms, "
                                f"{log.bad.get(name, 0)} not 200 of {len(values)}")
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench crowd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="50,200,800",
                        help="crowd sizes, comma-separated, run in turn")
    parser.add_argument("--seconds", type=float, default=20.0, help="per size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="a client's time-out, s")
    parser.add_argument("--rest", type=float, default=5.0, help="pause between sizes, s")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server, e.g. TRUCE_API_MAX_IN_PROGRESS=8")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.clients.split(",") if s.strip()]
    extra = dict(e.split("=", 1) for e in args.env)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * max(sizes) + 256)), hard))
    url = bench_database()
    port = _free_port()
    server = start_server(url, port, args.workers, extra)
    rows = []
    try:
        async def prepare() -> tuple[Plan, float]:
            tilejson = await _json(port, "/rasters/shaded_relief/tilejson.json")
            page = await _json(port, "/collections/incidents/items?limit=40")
            ids = [str(f["id"]) for f in page.get("features", [])]
            plan = make_plan(tilejson, ids)
            # warm: each file, tile and page once (what any earlier visitor did)
            async def warm(n: int) -> None:
                conn = Connection(port)
                for path in [*plan.files, *plan.light_api, *plan.first_tiles, *plan.pan_tiles,
                             *plan.pages, *plan.features, *plan.heavy]:
                    await conn.get(path, {"Accept-Encoding": "gzip, deflate, br",
                                          "X-Forwarded-For": f"10.254.0.{n}"})
                conn.close()

            await asyncio.gather(*(warm(n) for n in range(1, 2 * args.workers + 1)))
            return plan, await alone(port)

        plan, before = asyncio.run(prepare())
        per_visit = (1 + len(plan.files) + len(plan.light_api) + len(plan.first_tiles)
                     + len(plan.pan_tiles) + len(plan.pages) + 2)
        print(f"truce serve --workers {args.workers} on {DB_NAME}; a visit is {per_visit} "
              f"requests ({len(plan.files)} files, {len(plan.first_tiles)} first-view tiles, "
              f"{len(plan.pan_tiles)} after the pan), 1 in {HEAVY_SHARE} adds a heavy one; "
              f"items page alone before: {before * 1000:.1f} ms", flush=True)
        for clients in sizes:
            mem_before = rss_mb(server.pid)
            tally, log, took = asyncio.run(run_size(port, plan, clients, args.seconds,
                                                    args.timeout))
            mem_after = rss_mb(server.pid)
            row = report(clients, tally, log, took, (mem_before, mem_after))
            rows.append(row)
            print(json.dumps(row), flush=True)
            time.sleep(args.rest)
        after = asyncio.run(alone(port))
        print(f"items page alone after the crowd: {after * 1000:.1f} ms "
              f"(before: {before * 1000:.1f} ms)")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    print()
    print("| clients | answers/s | light p50 / p99 ms | heavy p50 / p99 ms | 2xx | 429 | 503 | "
          "5xx | refused p99 ms | time-outs | memory MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clients']} | {r['answers_per_s']:.0f} | {r['light_p50_ms']} / "
              f"{r['light_p99_ms']} | {r['heavy_p50_ms']} / {r['heavy_p99_ms']} | {r['2xx']} | "
              f"{r['429']} | {r['503']} | {r['5xx']} | {r['refused_p99_ms']} | "
              f"{r['timeouts']} | {r['mem_before_mb']} -> {r['mem_after_mb']} |")
    print()
    print("| clients | probe /health/live | probe /health/ready | probe items page (5) |")
    print("|---:|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['probe_live']} | {r['probe_ready']} | {r['probe_items']} |")
