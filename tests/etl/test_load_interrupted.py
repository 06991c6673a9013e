"""A load's statement does not outlive its client. SIGTERM (or SIGINT) cancels the running
statement, rolls the load back, records the run `interrupted` and exits 143 (130) with one JSON
object; a loader killed outright (SIGKILL) has its statement ended by the server's client check.
The statement is held in a lock wait (the test holds SHARE on incidents), so it would run on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from tests.etl.interrupted_loads import BODY, TRUCE, no_loader_left, start_load, wait_for_lock_wait


@contextmanager
def _incidents_locked(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE incidents IN SHARE MODE"))
        try:
            yield conn
        finally:
            conn.rollback()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_cancels_the_load_and_records_it_interrupted(
        engine: Engine, database_url: str, tmp_path: Path, signum: int, code: int) -> None:
    with _incidents_locked(engine):
        proc = start_load(database_url, tmp_path, "etlt_signal")
        run_id = wait_for_lock_wait(engine, proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        summary = json.loads(out)
        assert (summary["run_id"], summary["status"], summary["loaded"]) == (
            run_id, "interrupted", 0)
        assert signal.Signals(signum).name in summary["error"]
        # the statement is gone while the test still holds its lock: nothing waits on
        assert no_loader_left(engine, 5)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM etl_runs WHERE id = :id"),
                              {"id": run_id}).scalar_one()
        written = conn.execute(text("SELECT count(*) FROM incidents WHERE etl_run_id = :id"),
                               {"id": run_id}).scalar_one()
    assert (status, written) == ("interrupted", 0)


def test_a_killed_loader_leaves_no_statement_behind(engine: Engine, database_url: str,
                                                    tmp_path: Path) -> None:
    with _incidents_locked(engine):
        proc = start_load(database_url, tmp_path, "etlt_killed", TRUCE_ETL_CLIENT_CHECK_SECONDS="0.5")
        run_id = wait_for_lock_wait(engine, proc)
        proc.kill()
        proc.communicate(timeout=30)
        # the server notices the client is gone although its statement never reads from it
        assert no_loader_left(engine, 10)
    with engine.connect() as conn:
        written = conn.execute(text("SELECT count(*) FROM incidents WHERE etl_run_id = :id"),
                               {"id": run_id}).scalar_one()
    assert written == 0


def test_a_signal_stops_the_watch_and_its_load(engine: Engine, database_url: str,
                                               tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "signal.csv").write_text(BODY)
    with _incidents_locked(engine):
        proc = subprocess.Popen(
            [*TRUCE, "etl", "watch", str(inbox), "--layer", "incidents", "--source",
             "etlt_signal_watch", "--json", "--no-alerts", "--interval", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TRUCE_DATABASE_URL": database_url})
        run_id = wait_for_lock_wait(engine, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        line = json.loads(out.strip().splitlines()[-1])
        assert (line["run_id"], line["status"], line["loaded"]) == (run_id, "interrupted", 0)
        assert no_loader_left(engine, 5)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM etl_runs WHERE id = :id"),
                              {"id": run_id}).scalar_one()
    assert status == "interrupted"
