"""Runs end honestly: a header without the format's columns is refused before a run starts, a run
that read nothing is `empty` with a warning, SIGTERM/SIGINT end a run as `interrupted`
(143/130, one JSON object), a run whose process died is marked `interrupted` by the next command,
and a failed run records nothing loaded or quarantined."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.records import Accepted, Context, RawRecord, Rejected
from etl.runner import run

TRUCE = [sys.executable, "-m", "cli.main"]
AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"


def _truce(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": url})


@pytest.mark.parametrize(("fmt", "header", "missing"), [
    ("acled", "event_id_cnty,event_date,country,latitude\nX1,2016-01-01,Syria,34.7\n",
     "event_type, longitude"),
    ("ucdp", "id,date_start,latitude,longitude,best\n1,2016-01-01,34.7,36.7,1\n",
     "type_of_violence"),
    ("hxl", "Date,What\n2016-01-01,shelling\n", "a hashtag row"),
])
def test_a_header_without_the_formats_columns_is_refused_before_a_run(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path, fmt: str,
        header: str, missing: str) -> None:
    path = tmp_path / f"not_{fmt}.csv"
    path.write_text(header)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM etl_runs")).scalar_one()
    done = _truce(database_url, "etl", "load", str(path), "--layer", "incidents", "--format",
                  fmt, "--source", "etlt_fmt", "--json")
    assert done.returncode == 2, done.stderr
    out = json.loads(done.stdout)
    assert missing in out["error"] and out["warnings"] == [] and out["run_id"] is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM etl_runs")).scalar_one() == before


def test_a_run_that_read_no_rows_is_empty_with_a_warning(database_url: str, engine: Engine,
                                                         sample_loaded: list,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "header_only.csv"
    path.write_text(AID_HEADER + "\n")
    done = _truce(database_url, "etl", "load", str(path), "--layer", "aid_deliveries",
                  "--source", "etlt_empty", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "empty" and out["read"] == 0
    assert len(out["warnings"]) == 1 and "no rows" in out["warnings"][0]
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM etl_runs WHERE id = :r"),
                              {"r": out["run_id"]}).scalar_one()
    assert status == "empty"
    path.write_text(AID_HEADER + "\nE-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    done = _truce(database_url, "etl", "load", str(path), "--layer", "aid_deliveries",
                  "--source", "etlt_empty", "--json")
    out = json.loads(done.stdout)
    assert (out["status"], out["warnings"]) == ("completed", [])


def _big_aid_file(path: Path, rows: int = 60_000) -> None:
    with open(path, "w") as handle:
        handle.write(AID_HEADER + "\n")
        for n in range(rows):
            handle.write(f"SIG-{n},2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")


def _start(url: str, path: Path, source: str, engine: Engine) -> tuple[subprocess.Popen[str], int]:
    """A load in its own process, and its run id once the run is recorded as running."""
    process = subprocess.Popen(
        [*TRUCE, "etl", "load", str(path), "--layer", "aid_deliveries", "--source", source,
         "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TRUCE_DATABASE_URL": url})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            run_id = conn.execute(text("SELECT id FROM etl_runs WHERE source = :s "
                                       "AND status = 'running'"), {"s": source}).scalar()
        if run_id is not None:
            return process, int(run_id)
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.kill()
    raise AssertionError("the run did not start")


def _run_row(engine: Engine, run_id: int) -> tuple[object, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT status, rows_loaded, rows_quarantined, finished_at IS NOT NULL, error "
            "FROM etl_runs WHERE id = :r"), {"r": run_id}).one())


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_as_interrupted(database_url: str, engine: Engine,
                                              sample_loaded: list, tmp_path: Path,
                                              signum: int, code: int) -> None:
    path = tmp_path / "big.csv"
    _big_aid_file(path)
    source = f"etlt_signal_{code}"
    process, run_id = _start(database_url, path, source, engine)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    summary = json.loads(out)  # one JSON object
    assert (summary["status"], summary["run_id"], summary["loaded"]) == ("interrupted", run_id, 0)
    status, loaded, quarantined, finished, error = _run_row(engine, run_id)
    assert (status, loaded, quarantined, finished) == ("interrupted", 0, 0, True)
    assert "interrupted by SIG" in str(error)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM aid_deliveries WHERE source = :s"),
                            {"s": source}).scalar_one() == 0


def test_a_run_whose_process_died_is_marked_interrupted_by_the_next_command(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _big_aid_file(path)
    process, run_id = _start(database_url, path, "etlt_killed", engine)
    process.kill()
    process.communicate(timeout=60)
    assert _run_row(engine, run_id)[0] == "running"  # nobody could say otherwise yet
    deadline = time.monotonic() + 30
    while _run_row(engine, run_id)[0] == "running" and time.monotonic() < deadline:
        done = _truce(database_url, "etl", "quarantine", "list", "--run", str(run_id), "--json")
        assert done.returncode == 0, done.stderr
    status, loaded, quarantined, finished, error = _run_row(engine, run_id)
    assert (status, loaded, quarantined, finished) == ("interrupted", 0, 0, True)
    assert "ended before the run finished" in str(error)
    # a live run is left alone: its process holds its lock
    process, live = _start(database_url, path, "etlt_live", engine)
    try:
        assert _truce(database_url, "etl", "quarantine", "list", "--json").returncode == 0
        assert _run_row(engine, live)[0] == "running"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)


def test_a_failed_run_records_nothing_loaded_or_quarantined_and_what_it_read(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "aid.csv"
    path.write_text(AID_HEADER + "\n" + "".join(
        f"F-{n},2016-05-01,convoy,food,5,tonnes,WFP,{'x' if n % 2 else '34.73'},36.71\n"
        for n in range(10)))
    job = find_job("aid_deliveries", "csv", path)

    def breaks_at_row_7(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
        if raw.number == 8:
            raise RuntimeError("simulated failure")
        return job.transform(raw, ctx)

    summary = run(replace(job, transform=breaks_at_row_7), path, engine, source="etlt_failed")
    assert summary.status == "failed" and summary.read == 7
    assert (summary.loaded, summary.quarantined, summary.reasons) == (0, 0, {})
    assert _run_row(engine, summary.run_id or 0)[:3] == ("failed", 0, 0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rows_read FROM etl_runs WHERE id = :r"),
                            {"r": summary.run_id}).scalar_one() == 7
        assert conn.execute(text("SELECT count(*) FROM quarantine WHERE etl_run_id = :r"),
                            {"r": summary.run_id}).scalar_one() == 0
