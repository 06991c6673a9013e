"""`truce serve --workers 2`: two processes share the port, and a key's rate limit holds across
them (each applies half of it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from server.services import keys as key_service
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return out


def test_two_workers_share_a_keys_rate_limit(database_url: str) -> None:
    engine = create_engine(database_url)
    with Session(engine) as session:
        _, key = key_service.create("analyst", label="tests:workers", actor="tests",
                                    session=session)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url,
           "TRUCE_SECURITY_RATE_BURST": "20", "TRUCE_SECURITY_RATE_PER_SECOND": "0.01"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # two processes starting on a busy 2-core machine
        while True:
            assert server.poll() is None, "truce serve exited"
            try:
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "truce serve --workers 2 never answered"
            time.sleep(0.2)
        workers = [c for c in _children(server.pid) if "multiprocessing-fork" in c
                   and "spawn_main" in c]
        assert len(workers) == 2, workers
        statuses = []
        for _ in range(60):  # a new connection each time: the two processes both take some
            with httpx.Client(base_url=base, timeout=10) as client:
                statuses.append(client.get("/conformance",
                                           headers={"X-API-Key": key}).status_code)
        assert set(statuses) == {200, 429}
        # the key's burst of 20 in all (10 per process), plus each process's first request,
        # charged to the address while the key's secret is checked for the first time there
        assert statuses.count(200) <= 22, statuses.count(200)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
