"""Issue 13, item 4: a record cut by the end of the file, counts that contradict each other,
and overlong text are quarantined (or warned about), not stored as if whole. The field length
limit is TRUCE_ETL_MAX_FIELD_CHARS (default 10,000; tests/etl/test_field_limits.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

NOW = datetime(2024, 6, 1, tzinfo=UTC)
UCDP = ("id,type_of_violence,conflict_name,side_a,side_b,where_prec,where_coordinates,latitude,"
        "longitude,event_clarity,date_prec,date_start,date_end,low,best,high,source_headline\n")


def _reasons(engine: Engine, run_id: int | None) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, reasons FROM quarantine "
                                 "WHERE etl_run_id = :r"), {"r": run_id}).all()
    return {str(r[0]): list(r[1]) for r in rows}


@pytest.mark.parametrize("row_wise", [False, True])
def test_low_best_high_must_be_in_order(engine: Engine, sample_loaded: list, tmp_path: Path,
                                        row_wise: bool) -> None:
    path = tmp_path / "ucdp.csv"
    row = "{id},1,c,a,b,1,town,34.80,36.70,1,1,2016-01-01,2016-01-01,{counts},x\n"
    path.write_text(UCDP + "".join(row.format(id=i, counts=c) for i, c in [
        ("ok", "1,2,3"), ("equal", "2,2,2"), ("high-low", "1,18,1"), ("low-high", "20,18,30"),
        ("no-high", "1,2,"), ("no-best", "3,,1"), ("no-low", ",5,4"), ("none", ",,")]))
    summary = run(find_job("incidents", "ucdp", path), path, engine, now=NOW,
                  source=f"etlt_fatal_{int(row_wise)}", row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.read, summary.loaded, summary.quarantined) == (8, 4, 4), summary
    assert _reasons(engine, summary.run_id) == {
        k: ["inconsistent_fatalities"] for k in ("high-low", "low-high", "no-best", "no-low")}


HEADER = "source_id,occurred_at,event_type,fatalities,lat,lon,notes\n"
WHOLE = "ok-1,2016-06-01,shelling,1,34.73,36.71,fine\n"


@pytest.mark.parametrize("row_wise", [False, True])
@pytest.mark.parametrize(("last", "loaded", "reasons"), [
    ("cut-1,2016-06-01,shelling,13,34.73,36.71,fine", 2, {}),  # complete by the rules: warned
    ("cut-1,2016-06-01,shelling,13,34.73,36.71", 1,  # fewer fields
     {"cut-1": ["truncated_record", "wrong_column_count"]}),
    ('cut-1,2016-06-01,shelling,13,34.73,36.71,"an open quo', 1,  # a quote never closed
     {"cut-1": ["truncated_record"]}),
    ("cut-1,2016-06-01,shelling,13,34.73,36.", 1,  # fewer fields again (the notes are gone)
     {"cut-1": ["truncated_record", "wrong_column_count"]}),
    ("cut-1,2016-0", 1, {"cut-1": ["truncated_record", "wrong_column_count",
                                    "missing_coordinates", "unparseable_date",
                                    "missing_required_field"]}),
    ("cut-1,2016-06-01,shelling,1x,34.73,36.71,n", 1,  # a value its column cannot hold
     {"cut-1": ["truncated_record", "unparseable_number"]}),
])
def test_a_last_record_without_a_line_end(engine: Engine, sample_loaded: list, tmp_path: Path,
                                          row_wise: bool, last: str, loaded: int,
                                          reasons: dict[str, list[str]]) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(HEADER + WHOLE + last)  # no line end after the last record
    summary = run(find_job("incidents", "csv", path), path, engine, now=NOW,
                  source=f"etlt_cut_{int(row_wise)}", row_wise=row_wise)
    assert summary.status == "completed", summary
    assert (summary.read, summary.loaded, summary.quarantined) == (2, loaded, 2 - loaded)
    assert _reasons(engine, summary.run_id) == reasons
    with engine.connect() as conn:  # the raw row as the file has it, on both paths
        raws = conn.execute(text("SELECT raw FROM quarantine WHERE etl_run_id = :r"),
                            {"r": summary.run_id}).scalars().all()
    assert all("__unterminated__" not in r for r in raws)
    cut_warned = [w for w in summary.warnings if "line 3, the last, has no line end" in w]
    assert len(cut_warned) == (1 if not reasons else 0), summary.warnings


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_whole_file_with_its_line_end_is_not_warned(engine: Engine, sample_loaded: list,
                                                      tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "whole.csv"
    path.write_text(HEADER + WHOLE)
    summary = run(find_job("incidents", "csv", path), path, engine, now=NOW,
                  source=f"etlt_whole_{int(row_wise)}", row_wise=row_wise)
    assert summary.loaded == 1 and summary.warnings == []
    assert summary.method == ("rows" if row_wise else "copy")
