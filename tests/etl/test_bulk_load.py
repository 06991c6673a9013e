"""Bulk mode of the staged upsert (a big first load): the table's definition is never touched (no
index is dropped: that would lock the readers out, tests/etl/test_load_readers.py), every row is
loaded and audited, and a rerun changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.loaders import postgis
from etl.runner import run


def _definition(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incidents' "
            "ORDER BY indexname")).all()
        keys = conn.execute(text(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = 'incidents'::regclass ORDER BY conname")).all()
    return list(indexes), list(keys)


def test_bulk_first_load_keeps_the_definition_and_reruns_idempotently(
        engine: Engine, bigger_than_the_table: tuple[Path, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, rows = bigger_than_the_table
    monkeypatch.setattr(postgis, "BULK_ROWS", 1)
    before = _definition(engine)
    job = find_job("incidents", "ucdp", path)
    first = run(job, path, engine, source="etlt_bulk")
    assert first.status == "completed", first.error
    assert (first.loaded, first.quarantined) == (rows, 0)
    assert _definition(engine) == before
    with engine.connect() as conn:
        audited = conn.execute(text(
            "SELECT count(DISTINCT row_id) FROM audit_log WHERE table_name = 'incidents' "
            "AND action = 'insert' AND actor = :actor"),
            {"actor": f"etl:run/{first.run_id}"}).scalar_one()
    assert audited == rows
    again = run(job, path, engine, source="etlt_bulk")
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, rows)
    assert _definition(engine) == before
