"""Readers during a load: the map API's p95 latency for one page of incidents while the project's
job loads the bench file into the table it reads (a first load into the empty table, then a reload
of a file changing every row), next to the same request's p95 when idle just before, and the
ratio. A load holding a lock that readers wait for shows as a ratio of hundreds.

Part of `python -m bench etl` (skip it with --no-readers): one uvicorn server as `bench api`
starts one, one client thread polling `GET /collections/incidents/items?limit=100` with an
analyst key, the load in a child process (bench.etl_load --once)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.api import _free_port, _pct, serve, stop
from bench.keys import new_key

PAGE = "/collections/incidents/items?limit=100"
IDLE_SECONDS = 3.0


class Poller:
    """A client thread requesting PAGE back to back; latencies in seconds, errors counted."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, headers={"X-API-Key": self.key},
                          timeout=600) as client:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    ok = client.get(PAGE).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - t0)
                self.errors += not ok

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=600)


def _load(url: str, path: Path, fmt: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "bench.etl_load", url, str(path), fmt, "--once"],
                         check=True, capture_output=True, text=True).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def _phase(base: str, key: str, url: str, path: Path, fmt: str) -> dict[str, float]:
    with Poller(base, key) as idle:
        time.sleep(IDLE_SECONDS)
    with Poller(base, key) as busy:
        t0 = time.perf_counter()
        loaded = _load(url, path, fmt)
        seconds = time.perf_counter() - t0
    if not busy.latencies:
        raise RuntimeError("no request was answered during the load")
    idle_p95, busy_p95 = _pct(idle.latencies, .95), _pct(busy.latencies, .95)
    return {"idle_p95": idle_p95, "p95": busy_p95, "max": max(busy.latencies) * 1000,
            "requests": len(busy.latencies), "errors": busy.errors + idle.errors,
            "load_seconds": seconds, "loaded": float(str(loaded["loaded"])),
            "updated": float(str(loaded["updated"])), "ratio": busy_p95 / idle_p95}


def run(url: str, first: Path, reload: Path, fmt: str) -> list[tuple[str, dict[str, float]]]:
    """The two phases against the (emptied) bench database at `url`; prints and returns them."""
    from bench.etl import _reset

    _reset(url)
    key = new_key(url, "analyst")
    port = _free_port()
    server = serve([sys.executable, "-m", "uvicorn", "server.main:create_app", "--factory",
                    "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                    "--no-access-log"],
                   {"TRUCE_DATABASE": json.dumps({"url": url}),
                    "TRUCE_SECURITY_RATE_PER_SECOND": "1000000",
                    "TRUCE_SECURITY_RATE_BURST": "1000000",
                    "TRUCE_SECURITY_ANONYMOUS_RATE_PER_SECOND": "1000000"},
                   port, "/collections/incidents")
    base = f"http://127.0.0.1:{port}"
    phases: list[tuple[str, dict[str, float]]] = []
    try:
        phases.append(("first load", _phase(base, key, url, first, fmt)))
        phases.append(("reload", _phase(base, key, url, reload, fmt)))
    finally:
        stop(server)
    print(f"\nreaders during a load (GET {PAGE}, analyst key, one client thread):\n")
    print("| phase | idle p95 ms | p95 ms during the load | max ms | ratio | requests | errors "
          "| load s | loaded | updated |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in phases:
        print(f"| {name} | {r['idle_p95']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
              f"{r['ratio']:.2f} | {r['requests']:.0f} | {r['errors']:.0f} | "
              f"{r['load_seconds']:.1f} | {r['loaded']:,.0f} | {r['updated']:,.0f} |")
    return phases
