"""Issue 13, item 11: a load tells its progress while it runs (rows read, rows/s, and when the
file's size tells it, percent and time left) on both load paths; the summary fits an
80-column terminal; --json is unchanged."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner

from bench.etl import generate
from cli.etl_commands import progress_line
from cli.main import app, summary_table
from etl import progress
from etl.jobs import find_job
from etl.loaders import copy_csv
from etl.runner import run


@pytest.mark.parametrize("row_wise", [False, True])
def test_both_paths_report_rows_and_the_fraction_done(engine: Engine, sample_loaded: list,
                                                      tmp_path: Path, row_wise: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "EVERY_S", 0.0)  # every chance to report is taken
    monkeypatch.setattr(progress, "_SAMPLE", 1 << 14)
    monkeypatch.setattr(copy_csv, "COPY_CHUNK", 1 << 14)
    path = tmp_path / "ucdp.csv"
    generate(path, 3_000)
    calls: list[tuple[int, float | None, str | None]] = []
    summary = run(find_job("incidents", "ucdp", path), path, engine, dry_run=True,
                  source=f"etlt_progress_{int(row_wise)}", row_wise=row_wise,
                  progress=lambda rows, fraction, phase: calls.append((rows, fraction, phase)))
    assert summary.status == "completed" and summary.method == ("rows" if row_wise else "copy")
    reading = [c for c in calls if c[2] is None and c[1] is not None and c[1] < 1]
    assert reading, calls  # told while reading, with a fraction
    assert all(0 < c[1] < 1 for c in reading if c[1] is not None)
    assert [c[0] for c in reading] == sorted(c[0] for c in reading)
    assert any(c[2] in ("checking", "writing") for c in calls), calls
    assert calls[-1] == (summary.read, 1.0, None)


def test_row_wise_reports_at_least_every_second(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n" + "1,2\n" * 10)
    told: list[int] = []
    meter = progress.Meter(lambda rows, fraction, phase: told.append(rows), path)
    clock = iter([100.0, 100.1, 101.2, 101.3])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    for rows in (256, 512, 768, 1024):
        meter.row(rows)
    assert told == [256, 768]  # at most EVERY_S apart, never more than a second


def test_the_progress_line_says_rows_rate_percent_and_time_left() -> None:
    assert progress_line(50_000, 0.25, None, 10.0) == (
        "50,000 rows read, 5,000 rows/s, 25%, 30 s left")
    assert progress_line(50_000, None, None, 10.0) == "50,000 rows read, 5,000 rows/s"
    assert progress_line(50_000, None, "checking", 10.0).endswith("; checking")
    assert "2 min 30 s left" in progress_line(10, 0.5, None, 150.0)


def test_the_summary_fits_80_columns() -> None:
    runs = [SimpleNamespace(run_id=123456, path="/x/a_very_long_export_name_of_a_partner.csv",
                            layer="aid_deliveries", status="interrupted", read=12_345_678,
                            loaded=12_345_678, updated=1_234_567, unchanged=12_345_678,
                            quarantined=1_234_567),
            SimpleNamespace(run_id=7, path="ged.csv", layer="incidents", status="completed",
                            read=2_984, loaded=2_975, updated=0, unchanged=0, quarantined=9)]
    out = io.StringIO()
    Console(width=80, file=out).print(summary_table(runs, 80))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "12,345,678" in out.getvalue() and "2,975" in out.getvalue()
    assert "quarantined" in lines[0] and "completed," in out.getvalue()


def test_json_output_has_no_progress(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                     sample_loaded: list, tmp_path: Path) -> None:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    monkeypatch.setattr("cli.etl_commands.stdout_is_terminal", lambda: True)
    path = tmp_path / "ucdp.csv"
    generate(path, 200)
    done = CliRunner().invoke(app, ["etl", "load", str(path), "--layer", "incidents",
                                    "--dry-run", "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)  # one JSON object, nothing else
    assert body["read"] == 200 and "warnings" in body and "repairs" in body
