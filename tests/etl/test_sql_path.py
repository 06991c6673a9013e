"""The set-based (COPY + SQL) path against the row-wise reference: the same loaded rows, the same
quarantine (line, reasons, raw row, details) and the same counts, on the real UCDP files and on a
file crafted to break every rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from etl.jobs import find_job
from etl.runner import run
from tests.etl.ucdp_rows import HEADER, NOW, ROWS, loaded_state

SAMPLES = Path(__file__).resolve().parents[2] / "etl" / "sample" / "ucdp"


def _both(engine: Engine, path: Path) -> None:
    job = find_job("incidents", "ucdp", path)
    ref = run(job, path, engine, source="etlt_rows", now=NOW, row_wise=True)
    fast = run(job, path, engine, source="etlt_copy", now=NOW)
    assert ref.status == fast.status == "completed", (ref.error, fast.error)
    assert (ref.method, fast.method) == ("rows", "copy")
    for name in ("read", "loaded", "updated", "unchanged", "quarantined", "repaired", "reasons"):
        assert getattr(fast, name) == getattr(ref, name), name
    assert loaded_state(engine, "etlt_copy", fast.run_id) == loaded_state(engine, "etlt_rows", ref.run_id)
    again = run(job, path, engine, source="etlt_copy", now=NOW)
    assert (again.method, again.loaded, again.updated) == ("copy", 0, 0)
    assert again.unchanged == fast.loaded + fast.updated + fast.unchanged


@pytest.mark.parametrize("name", ["ged_syria_2016_H1.csv", "ged_syria_2016_H2.csv"])
def test_sql_path_matches_the_python_path_on_ucdp_files(engine: Engine, name: str) -> None:
    _both(engine, SAMPLES / name)


def test_sql_path_matches_the_python_path_on_a_file_breaking_every_rule(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad_ucdp.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([HEADER, *ROWS, ""]).encode())
    _both(engine, path)
    latin = tmp_path / "latin1_ucdp.csv"
    latin.write_bytes("\n".join([HEADER.replace(",", ";"), *[
        r.replace(",", ";").replace("ok town", "Ma\u2019arrat") for r in ROWS[:2]],
        "30;1;c;Caf\u00e9;b;1;t;34.8;36.7;1;1;2016-01-01;;0;0;0;x", ""]).encode("latin-1",
                                                                               "replace"))
    _both(engine, latin)


def test_files_copy_cannot_read_like_csv_reader_take_the_row_wise_path(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([HEADER, ROWS[0], "2,1,c,a,b,1,short row", "",
                               '22,1,c,a,b,1,"two\nlines",34.8,36.7,1,1,2016-01-01,,0,0,0,x',
                               ""]))
    summary = run(find_job("incidents", "ucdp", path), path, engine, source="etlt_odd", now=NOW)
    assert summary.method == "rows" and summary.status == "completed"
    assert summary.read == summary.loaded + summary.quarantined == 3
    assert summary.fallback is None  # a planned hand-over, not a failure


def test_an_unforeseen_error_in_the_sql_path_is_reported_and_the_rows_still_load(
        engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace

    path = tmp_path / "fine.csv"
    path.write_text("\n".join([HEADER, ROWS[0], ROWS[4]]) + "\n")
    job = find_job("incidents", "ucdp", path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug in the set-based path\nsecond line")

    with caplog.at_level("WARNING", logger="truce.etl"):
        summary = run(replace(job, sql_load=broken), path, engine, source="etlt_fallback", now=NOW)
    assert summary.status == "completed" and summary.method == "rows"
    assert summary.fallback == "RuntimeError: simulated bug in the set-based path"
    assert summary.as_dict()["fallback"] == summary.fallback  # in the --json summary too
    assert "set-based path failed" in caplog.text
    assert summary.read == summary.loaded == 2
