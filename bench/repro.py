"""Replay every reproduction of issue 17 against a served Truce and check each answer.

`python -m bench repro [--rows 1000000] [--areas 2000] [--limit-seconds 2] [--max-rss-mb 1500]`
builds (or reuses) the analysis bench database (N synthetic incidents, agreement areas, aid
deliveries: `bench.analysis`), writes a GeoTIFF over Syria, serves Truce with `truce serve` on a
free port (header and body read timeouts of 1.5 s: the defaults are 10 s and 30 s), and replays:
the timeseries over 0001..9999, a forged key id sent from three threads while the real key
reads, an incident confirmed, published and then retracted (Atom and the change feed, for an
anonymous caller), NUL characters in every place that reached PostgreSQL, a CQL2 filter of 1,500
ANDed terms, `properties=` with 51 names, anonymous heavy analysis (raster statistics over a
world polygon, areas within 100 km), revoked keys on the seven paths that took them as anonymous,
browser headers and a preflight, a webhook to the database's port, slow headers, a stalled body,
an oversized chunked body, /health with restricted rows added, an anonymous one-week page and
the start command of `server/main.py`'s docstring.

Each reproduction must give its precise 4xx (or a bounded answer) within `--limit-seconds`, and
the server's peak RSS (VmHWM of its process) must stay under `--max-rss-mb`; a table of the
outcomes and the peak RSS are printed, and the exit status is 1 when one fails. The audit chain
(defect 17) and the timing side channel (defect 10) are checked by tests/security, not here.
`run()` is what tests/security/test_repro.py calls on the test database.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
TILE = "/collections/incidents/tiles/WebMercatorQuad/6/39/25"
ITEMS = "/collections/incidents/items"
WORLD = {"type": "Polygon", "coordinates": [[[-180, -89], [180, -89], [180, 89], [-180, 89],
                                             [-180, -89]]]}
PLACE = {"lon": 36.72, "lat": 34.73}
REPORT: dict[str, Any] = {
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
    "properties": {"occurred_at": "2016-03-02T06:30:00Z", "event_type": "shelling",
                   "description": "Mortar rounds hit the market area."}}
ITEM = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.72, 34.73]},
        "properties": {"occurred_at": "2016-03-04T10:00:00Z", "event_type": "shelling",
                       "fatalities": 2, "geo_precision": "exact", "notes": "Seen\u0000 by"}}


@dataclass
class Outcome:
    defect: str
    what: str
    status: int | str
    seconds: float
    ok: bool
    note: str = ""


@dataclass
class Served:
    base: str
    port: int
    pid: int
    database_url: str
    keys: dict[str, str]
    outcomes: list[Outcome] = field(default_factory=list)
    limit: float = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def write_raster(path: Path, size: int = 2000) -> Path:
    """A one-band float32 GeoTIFF of size x size pixels over Syria's bounding box."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    data = np.add.outer(np.arange(size, dtype="float32"), np.arange(size, dtype="float32"))
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1.0, tiled=True,
                       transform=from_bounds(35.7, 32.3, 42.4, 37.3, size, size)) as dst:
        dst.write(data, 1)
    return path


def make_keys(database_url: str) -> dict[str, str]:
    """Fresh keys for the roles the reproductions use, and one revoked and one expired key."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from server.services import keys as key_service

    engine = create_engine(database_url)
    out: dict[str, str] = {}
    with Session(engine) as session:
        for role in ("analyst", "reporter", "admin"):
            out[role] = key_service.create(role, label=f"repro:{role}", actor="repro",
                                           session=session)[1]
        key_id, out["revoked"] = key_service.create("planner", label="repro:revoked",
                                                    actor="repro", session=session)
        key_service.revoke(key_id, actor="repro", session=session)
        out["expired"] = key_service.create(
            "planner", label="repro:expired", actor="repro", session=session,
            expires_at=datetime.now(UTC) - timedelta(hours=1))[1]
    engine.dispose()
    return out


def _env(database_url: str, raster: Path | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUCE_")}
    env.update({"TRUCE_DATABASE_URL": database_url, "TRUCE_API_HEADER_TIMEOUT_SECONDS": "1.5",
                "TRUCE_API_BODY_TIMEOUT_SECONDS": "1.5", "PYTHONPATH": str(ROOT)})
    if raster is not None:
        env["TRUCE_RASTER_SOURCES"] = json.dumps({"repro": str(raster)})
    env.update(extra or {})
    return env


def _wait_up(proc: subprocess.Popen[bytes], base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


@contextmanager
def serve(cmd: list[str], env: dict[str, str], base: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_up(proc, base)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the reproductions -------------------------------------------------------------------------

def _ask(s: Served, client: httpx.Client, defect: str, what: str, method: str, path: str,
         expect: Callable[[httpx.Response], bool], **kwargs: Any) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = client.request(method, path, timeout=s.limit * 5, **kwargs)
    except httpx.HTTPError as exc:
        s.outcomes.append(Outcome(defect, what, type(exc).__name__, time.perf_counter() - start,
                                  False))
        return None
    took = time.perf_counter() - start
    ok = expect(response) and took < s.limit
    note = "" if ok else response.text[:160]
    s.outcomes.append(Outcome(defect, what, response.status_code, took, ok, note))
    return response


def _json_4xx(code: int | tuple[int, ...]) -> Callable[[httpx.Response], bool]:
    codes = (code,) if isinstance(code, int) else code

    def check(r: httpx.Response) -> bool:
        if r.status_code not in codes or not r.headers.get("content-type", "").startswith(
                "application/json"):
            return False
        body = r.json()
        return isinstance(body, dict) and "code" in body and "description" in body
    return check


def _status(*codes: int) -> Callable[[httpx.Response], bool]:
    return lambda r: r.status_code in codes


def timeseries(s: Served, c: httpx.Client) -> None:
    params = {"step": "day", "datetime": "0001-01-01T00:00:00Z/9999-12-31T00:00:00Z"}
    _ask(s, c, "1", "timeseries 0001..9999 by day, anonymous", "GET", "/analysis/timeseries",
         _json_4xx(400), params=params)
    _ask(s, c, "1", "the same with an admin key", "GET", "/analysis/timeseries", _json_4xx(400),
         params=params, headers={"X-API-Key": s.keys["admin"]})


def forged_key(s: Served, c: httpx.Client) -> None:
    key = s.keys["analyst"]
    key_id = key.split("_")[1]
    forged = {"X-API-Key": f"truce_{key_id}_{'W' * 43}"}
    stop = time.monotonic() + 1.5
    sent = [0]

    def flood() -> None:
        with httpx.Client(base_url=s.base, timeout=5) as mine:
            while time.monotonic() < stop:
                mine.get(ITEMS, params={"limit": 1}, headers=forged)
                sent[0] += 1

    threads = [threading.Thread(target=flood) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    start = time.perf_counter()
    codes = [c.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": key}).status_code
             for _ in range(10)]
    took = time.perf_counter() - start
    ok = codes == [200] * 10 and took < s.limit
    s.outcomes.append(Outcome("2", f"real key after {sent[0]} forged requests: 10 reads",
                              ",".join(sorted({str(x) for x in codes})), took / 10, ok))


def _cursor(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        seq = int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_log")).scalar_one())
    engine.dispose()
    return seq


def retracted(s: Served, c: httpx.Client) -> None:
    place = f"Hay al-Retracted {uuid.uuid4().hex[:8]}"
    cursor = _cursor(s.database_url)
    report = {**REPORT, "properties": {**REPORT["properties"], "location_name": place}}
    created = c.post("/reports", json=report, headers={"X-API-Key": s.keys["reporter"]})
    if created.status_code != 201:
        s.outcomes.append(Outcome("3", "report for the retraction", created.status_code, 0, False,
                                  created.text[:160]))
        return
    iid = str(created.json()["incident_id"])
    url = f"/incidents/{iid}/verification"
    analyst = {"X-API-Key": s.keys["analyst"]}
    for step in ({"status": "under_review", "reason": "triage"},
                 {"status": "confirmed", "reason": "verified", "sensitivity": "public"}):
        c.post(url, json=step, headers=analyst)
    urn = f"urn:truce:incidents:{iid}:"
    _ask(s, c, "3", "released: in Atom", "GET", "/feeds/incidents.atom",
         lambda r: r.status_code == 200 and urn in r.text and place in r.text)
    c.post(url, json={"status": "under_review", "reason": "retracted",
                      "sensitivity": "restricted"}, headers=analyst)
    _ask(s, c, "3", "retracted: item 404", "GET", f"{ITEMS}/{iid}", _json_4xx(404))
    _ask(s, c, "3", "retracted: gone from Atom", "GET", "/feeds/incidents.atom",
         lambda r: r.status_code == 200 and urn not in r.text and place not in r.text,
         params={"limit": 500})

    def tombstone_only(r: httpx.Response) -> bool:
        mine = [ch for ch in r.json().get("changes", []) if ch["id"] == iid]
        return (r.status_code == 200 and place not in r.text
                and [(ch["change"], ch["feature"]) for ch in mine] == [("deleted", None)])
    _ask(s, c, "3", "retracted: change feed has only its tombstone", "GET",
         "/collections/incidents/changes", tombstone_only, params={"since": cursor})
    _remove(s.database_url, report=int(created.json()["id"]), incident=int(iid))


def _remove(database_url: str, *, report: int, incident: int) -> None:
    """The report and incident made for the retraction go again (a bench database whose
    counts changed would be generated again by the next run)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'repro', true)"))
        conn.execute(text("DELETE FROM reports WHERE id = :id"), {"id": report})
        conn.execute(text("DELETE FROM incidents WHERE id = :id"), {"id": incident})
    engine.dispose()


def nul_bytes(s: Served, c: httpx.Client) -> None:
    nul_json = json.dumps({"op": "=", "args": [{"property": "event_type"}, "a\u0000b"]})
    for path, params in (
            (ITEMS, {"event_type": "shelling\x00"}),
            (ITEMS, {"filter": "event_type = 'a\x00b'"}),
            (ITEMS, {"filter-lang": "cql2-json", "filter": nul_json}),
            (TILE, {"filter": "event_type = 'a\x00b'"}),
            ("/analysis/timeseries", {"event_type": "shelling\x00"}),
            ("/analysis/hotspots", {"event_type": "shelling\x00"})):
        _ask(s, c, "4", f"NUL: {path} {next(iter(params))}", "GET", path, _json_4xx(400),
             params=params)
    _ask(s, c, "4", "NUL: item create", "POST", ITEMS, _json_4xx(400),
         content=json.dumps(ITEM), headers={"X-API-Key": s.keys["analyst"],
                                            "Content-Type": "application/geo+json"})
    bad = {**REPORT, "properties": {**REPORT["properties"], "description": "Mortar\u0000"}}
    _ask(s, c, "4", "NUL: /reports", "POST", "/reports", _json_4xx(400), json=bad,
         headers={"X-API-Key": s.keys["reporter"]})


def filters(s: Served, c: httpx.Client) -> None:
    chain = " AND ".join(["id > 0"] * 1500)  # 15,000 characters: under the 20,000 cap
    _ask(s, c, "5", "CQL2 of 1,500 ANDed terms", "GET", ITEMS, _status(200),
         params={"filter": chain, "limit": 10})
    names = [n for n in c.get("/collections/incidents/queryables").json()["properties"]
             if n not in ("geom", "geometry", "id")]
    _ask(s, c, "6", "properties= with 51 names", "GET", ITEMS, _status(200, 400),
         params={"properties": ",".join((names * 10)[:51]), "limit": 10})


def heavy(s: Served, c: httpx.Client) -> None:
    if c.get("/rasters/repro/tilejson.json").status_code == 200:
        _ask(s, c, "7", "raster statistics over a world polygon, anonymous", "POST",
             "/rasters/repro/statistics", _status(200), json=WORLD)
    _ask(s, c, "7", "areas/incidents?distance_m=100000, anonymous", "GET",
         "/analysis/areas/incidents", lambda r: r.status_code == 200 or _json_4xx(400)(r),
         params={"distance_m": 100000})


def headers(s: Served, c: httpx.Client) -> None:
    def secured(r: httpx.Response) -> bool:
        csp = r.headers.get("content-security-policy", "")
        return (r.status_code == 200 and "frame-ancestors 'none'" in csp
                and "'unsafe-inline'" not in csp.split("script-src", 1)[-1].split(";")[0]
                and r.headers.get("x-content-type-options") == "nosniff"
                and r.headers.get("referrer-policy") == "no-referrer")
    for path in ("/", "/static/index.html", "/api.html"):
        _ask(s, c, "8", f"browser headers on {path}", "GET", path, secured)
    _ask(s, c, "8", "preflight with CORS off: a JSON 4xx, not 405", "OPTIONS", "/collections",
         lambda r: r.status_code != 405 and _json_4xx((400, 403))(r),
         headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"})


def revoked(s: Served, c: httpx.Client) -> None:
    seven: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/analysis/nearest", {"params": PLACE}),
        ("POST", "/analysis/deconfliction",
         {"json": {"geometry": {"type": "Point", "coordinates": [40.0, 33.0]}}}),
        ("GET", "/rasters", {}), ("GET", "/health", {}), ("GET", "/", {}),
        ("GET", "/conformance", {}), ("GET", "/api", {})]
    for which in ("revoked", "expired"):
        for method, path, extra in seven:
            _ask(s, c, "9", f"{which} key on {path}", method, path, _json_4xx(401),
                 headers={"X-API-Key": s.keys[which]}, **extra)


def webhook(s: Served, c: httpx.Client) -> None:
    port = urlsplit(s.database_url).port or 5432
    _ask(s, c, "11", "webhook to the database's port", "POST", "/alerts/subscriptions",
         _json_4xx(400), headers={"X-API-Key": s.keys["analyst"]},
         json={"area": {"agreement_area_id": 1}, "webhook_url": f"http://127.0.0.1:{port}/x"})


def _raw(s: Served, defect: str, what: str, chunks: list[bytes], pause: float,
         expect: Callable[[bytes], bool], wait: float) -> None:
    """Send `chunks` with `pause` between them; read until the server closes (or `wait`)."""
    start = time.perf_counter()
    got = b""
    with socket.create_connection(("127.0.0.1", s.port), timeout=wait) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(pause)
        except OSError:
            pass  # closed by the server while sending: what a timeout does
        try:
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                got += part
        except OSError:
            pass
    took = time.perf_counter() - start
    first = got.split(b"\r\n", 1)[0].decode(errors="replace")
    s.outcomes.append(Outcome(defect, what, first[9:12] or "closed", took,
                              expect(got) and took < wait))


def connections(s: Served, c: httpx.Client) -> None:
    host = f"Host: 127.0.0.1:{s.port}\r\n".encode()
    request = b"GET /health HTTP/1.1\r\n" + host + b"X-Slow: " + b"a" * 40 + b"\r\n\r\n"
    _raw(s, "12", "headers sent a byte every 0.1 s: cut off (header timeout 1.5 s)",
         [bytes([b]) for b in request], 0.1, lambda got: got.startswith(b"HTTP/1.1 408")
         or got == b"", 1.5 + s.limit)
    head = (b"POST /reports HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
            b"X-API-Key: " + s.keys["reporter"].encode() + b"\r\nContent-Length: 1000\r\n\r\n{")
    _raw(s, "12", "a body that stalls: 408 (body timeout 1.5 s)", [head], 0,
         lambda got: got.startswith(b"HTTP/1.1 408"), 1.5 + s.limit)
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(48))
    oversized = (b"POST /reports HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                 b"X-API-Key: " + s.keys["reporter"].encode()
                 + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n")
    _raw(s, "13", "a chunked body of 3 MB: 413", [oversized], 0,
         lambda got: got.startswith(b"HTTP/1.1 413") and b'"code"' in got, s.limit)


def health(s: Served, c: httpx.Client) -> None:
    from sqlalchemy import create_engine, text

    def count() -> int:
        return int(c.get("/health").json()["layers"]["incidents"])

    before = count()
    engine = create_engine(s.database_url)
    source = f"repro-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'repro', true)"))
        conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                   verification_status, sensitivity, geom)
            SELECT :source, i::text, '2016-05-01', 'shelling', 'confirmed', 'restricted',
                   ST_SetSRID(ST_MakePoint(36.7, 34.7), 4326) FROM generate_series(1, 5) i"""),
                     {"source": source})
    try:
        _ask(s, c, "14", "/health with 5 restricted rows added: the same anonymous count",
             "GET", "/health", lambda r: r.status_code == 200
             and int(r.json()["layers"]["incidents"]) == before)
    finally:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('truce.actor', 'repro', true)"))
            conn.execute(text("DELETE FROM incidents WHERE source = :source"), {"source": source})
        engine.dispose()


def public_week(s: Served, c: httpx.Client) -> None:
    params: dict[str, str | int] = {"limit": 1000,
                                    "datetime": "2016-06-01T00:00:00Z/2016-06-07T23:59:59Z"}
    c.get(ITEMS, params=params)  # warm
    _ask(s, c, "16", "one-week page of 1,000, anonymous", "GET", ITEMS, _status(200),
         params=params)
    _ask(s, c, "16", "the same with an analyst key", "GET", ITEMS, _status(200), params=params,
         headers={"X-API-Key": s.keys["analyst"]})


#: the forged key's flood comes last: it spends the client address's anonymous tokens
REPRODUCTIONS: list[Callable[[Served, httpx.Client], None]] = [
    timeseries, retracted, nul_bytes, filters, heavy, headers, revoked, webhook, connections,
    health, public_week, forged_key]


def docstring_command(database_url: str, limit: float, outcomes: list[Outcome]) -> None:
    """Defect 15: `uvicorn server.main:create_app --factory` with TRUCE_DATABASE_URL set."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "server.main:create_app", "--factory",
           "--port", str(port), "--log-level", "warning"]
    what = "the docstring's uvicorn command serves /health"
    try:
        with serve(cmd, _env(database_url, None, None), base):
            start = time.perf_counter()  # the request, not the server's start
            r = httpx.get(f"{base}/health", timeout=limit * 5)
            took = time.perf_counter() - start
            ok = r.status_code == 200 and r.json().get("database") == "reachable" and took < limit
            outcomes.append(Outcome("15", what, r.status_code, took, ok))
    except RuntimeError as exc:
        outcomes.append(Outcome("15", what, str(exc), 0.0, False))


def run(database_url: str, work: Path, *, limit: float = 2.0,
        extra_env: dict[str, str] | None = None) -> tuple[list[Outcome], float]:
    """Serve Truce on `database_url` with `truce serve`, replay every reproduction; return the
    outcomes and the server's peak RSS in MB."""
    raster = write_raster(work / "repro.tif")
    keys = make_keys(database_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    truce = str(Path(sys.executable).with_name("truce"))
    env = _env(database_url, raster, extra_env)
    with serve([truce, "serve", "--port", str(port)], env, base) as proc:
        served = Served(base, port, proc.pid, database_url, keys, limit=limit)
        with httpx.Client(base_url=base) as client:
            for reproduce in REPRODUCTIONS:
                reproduce(served, client)
        peak = peak_rss_mb(proc.pid)
    docstring_command(database_url, limit, served.outcomes)
    return served.outcomes, peak


def report(outcomes: list[Outcome], peak: float, max_rss: float) -> bool:
    print(f"{'defect':>6}  {'answer':>8}  {'seconds':>7}  ok  reproduction")
    for o in outcomes:
        print(f"{o.defect:>6}  {o.status!s:>8}  {o.seconds:7.3f}  {'yes' if o.ok else 'NO '} "
              f"{o.what}{('  ' + o.note) if o.note else ''}")
    print(f"server peak RSS (VmHWM): {peak:.0f} MB (limit {max_rss:.0f} MB)")
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} reproductions answered as they "
          "should")
    return not failed and peak < max_rss


def main(argv: list[str] | None = None) -> None:
    import tempfile

    from bench import analysis

    parser = argparse.ArgumentParser(prog="python -m bench repro", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=2_000)
    parser.add_argument("--deliveries", type=int, default=50_000)
    parser.add_argument("--limit-seconds", type=float, default=2.0)
    parser.add_argument("--max-rss-mb", type=float, default=1500)
    args = parser.parse_args(argv)
    url = analysis._database(args.rows, args.areas, args.deliveries)
    with tempfile.TemporaryDirectory(prefix="truce-repro-") as work:
        outcomes, peak = run(url, Path(work), limit=args.limit_seconds)
    if not report(outcomes, peak, args.max_rss_mb):
        sys.exit(1)
