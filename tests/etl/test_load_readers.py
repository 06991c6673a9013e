"""A load never blocks the map's readers: while a bulk load (more staged rows than the table
holds, BULK_ROWS lowered) is inside its transaction, it holds no lock stronger than ROW EXCLUSIVE
on any table, every served table answers a read under a 200 ms lock timeout, and the API answers.
The loader's transaction carries its time limits and its name (etl/loaders/postgis.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.loaders import postgis
from etl.runner import RunSummary, run

SERVED = ("incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas",
          "admin_area_parts", "area_incident_days", "incident_tile_cells", "incident_duplicates",
          "incident_superseded", "area_superseded_incidents", "agreement_area_history",
          "layer_versions", "etl_runs", "quarantine")
STRONG = ["ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
          "AccessExclusiveLock"]
LOCKS = text("""
    SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation'  -- not 'extend' (ExclusiveLock while a table grows a page)
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND c.relpersistence <> 't' AND l.mode = ANY(:modes) AND l.granted
      AND a.backend_type = 'client backend' AND l.pid <> pg_backend_pid()
""")


def test_readers_are_never_blocked_by_a_bulk_load(
        engine: Engine, live_server: str, bigger_than_the_table: tuple[Path, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, rows = bigger_than_the_table  # the old code dropped the indexes for such a load
    monkeypatch.setattr(postgis, "BULK_ROWS", 1)
    paused, resume = threading.Event(), threading.Event()
    inside: dict[str, Any] = {}
    resolve = postgis.resolve_quarantine

    def pause_after_upsert(conn: Any, **kwargs: Any) -> None:
        # the rows are written, the transaction still open: whatever it locked is still held
        inside["pid"] = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        inside["settings"] = {name: conn.execute(text(f"SHOW {name}")).scalar_one() for name in (
            "statement_timeout", "idle_in_transaction_session_timeout",
            "client_connection_check_interval", "application_name", "tcp_keepalives_idle")}
        paused.set()
        resume.wait(60)
        resolve(conn, **kwargs)

    monkeypatch.setattr(postgis, "resolve_quarantine", pause_after_upsert)
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def watch_locks() -> None:  # all along the load, not only at the pause
        with engine.connect() as conn:
            while not done.is_set():
                seen.extend(tuple(r) for r in conn.execute(LOCKS, {"modes": STRONG}))
                conn.rollback()
                time.sleep(0.02)

    result: list[RunSummary] = []
    watcher = threading.Thread(target=watch_locks)
    loader = threading.Thread(target=lambda: result.append(
        run(find_job("incidents", "ucdp", path), path, engine, source="etlt_readers")))
    watcher.start()
    loader.start()
    try:
        assert paused.wait(180), "the load did not reach its upsert"
        with engine.connect() as conn:
            held = conn.execute(text(
                "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = :pid AND l.locktype = 'relation' AND l.mode = ANY(:modes) "
                "AND c.relpersistence <> 't'"),
                {"pid": inside["pid"], "modes": STRONG}).all()
            assert held == []
            conn.execute(text("SET lock_timeout = '200ms'"))
            for table in SERVED:  # each answers at once (a lock wait would fail in 200 ms)
                conn.execute(text(f"SELECT * FROM {table} LIMIT 1")).all()  # noqa: S608
        started = time.monotonic()
        answer = httpx.get(f"{live_server}/collections/incidents/items",
                           params={"limit": "100"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started < 5
    finally:
        resume.set()
        loader.join(180)
        done.set()
        watcher.join(10)
    assert result and result[0].status == "completed", result and result[0].error
    assert result[0].loaded == rows
    assert seen == []
    assert inside["settings"] == {
        "statement_timeout": "1h", "idle_in_transaction_session_timeout": "10min",
        "client_connection_check_interval": "5s",
        "application_name": f"truce etl run {result[0].run_id}", "tcp_keepalives_idle": "60"}
