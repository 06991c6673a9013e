"""Versioned history under the ETL (migration 15a): a first load writes one seal per statement
and no history, an idempotent rerun writes nothing at all (no seal, no history, no log entry),
a load that changes some rows moves exactly their previous versions into the history, and a load
killed while it seals leaves no rows, history or seals."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from bench.etl import generate
from etl.jobs import find_job
from etl.runner import run
from tests.etl.interrupted_loads import no_loader_left, start_load, wait_for_lock_wait

SOURCE = "etlt_history"


def _written(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(  # type: ignore[return-value]
            "SELECT (SELECT count(*) FROM audit_seals), (SELECT count(*) FROM incidents_history),"
            " (SELECT coalesce(max(seq), 0) FROM audit_log)")).one())


def test_rerun_writes_nothing_and_an_update_moves_only_changed_rows(
        engine: Engine, tmp_path: Path) -> None:
    first, changed = tmp_path / "first.csv", tmp_path / "changed.csv"
    generate(first, 300)
    generate(changed, 300, seed=8)  # same ids, other values
    job = find_job("incidents", "ucdp", first)
    loaded = run(job, first, engine, source=SOURCE)
    assert loaded.status == "completed", loaded.error
    with engine.connect() as conn:
        seals = conn.execute(text(
            "SELECT count(*), sum(written) FROM audit_seals WHERE actor = :a AND action = 'insert'"
        ), {"a": f"etl:run/{loaded.run_id}"}).one()
    assert seals[0] >= 1 and seals[1] == loaded.loaded
    before = _written(engine)
    again = run(job, first, engine, source=SOURCE)
    assert (again.loaded, again.updated) == (0, 0)
    assert _written(engine) == before
    update = run(find_job("incidents", "ucdp", changed), changed, engine, source=SOURCE)
    assert update.status == "completed" and update.updated > 0, update.error
    with engine.connect() as conn:
        moved = conn.execute(text(
            "SELECT count(*) FROM incidents_history WHERE ended_by = :a AND source = :s"),
            {"a": f"etl:run/{update.run_id}", "s": SOURCE}).scalar_one()
        ended = conn.execute(text(
            "SELECT coalesce(sum(ended), 0) FROM audit_seals WHERE actor = :a"),
            {"a": f"etl:run/{update.run_id}"}).scalar_one()
    assert moved == ended == update.updated


def test_a_load_killed_while_sealing_leaves_no_rows_history_or_seal(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    before = _written(engine)
    with engine.connect() as conn:  # the load's rows are written; its seal waits on this lock
        conn.execute(text("LOCK TABLE audit_seals IN SHARE MODE"))
        try:
            proc = start_load(database_url, tmp_path, "etlt_killed_sealing",
                          TRUCE_ETL_CLIENT_CHECK_SECONDS="0.5")
            run_id = wait_for_lock_wait(engine, proc)
            proc.kill()
            proc.communicate(timeout=30)
            assert no_loader_left(engine, 10)
        finally:
            conn.rollback()
    with engine.connect() as conn:
        written = conn.execute(text("SELECT count(*) FROM incidents WHERE etl_run_id = :id"),
                               {"id": run_id}).scalar_one()
        logged = conn.execute(text("SELECT count(*) FROM audit_log WHERE actor = :a"),
                              {"a": f"etl:run/{run_id}"}).scalar_one()
    assert (written, logged) == (0, 0)
    assert _written(engine) == before
