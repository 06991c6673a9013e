"""Issue 13, item 3: every repair a load makes is recorded per row (run, line, field, value
before and after, rule), on both load paths; `truce etl runs show ID [--json]` lists them and
the load's --json summarises them under `repairs`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from etl.jobs import find_job
from etl.runner import run

HEADER = "source_id,occurred_at,event_type,fatalities,lat,lon\n"
ROWS = ("ok-1,2016-06-01,shelling,1,34.73,36.71\n"
        "swap-1,2016-06-01,shelling,1,36.71,34.73\n"
        "ok-2,2016-06-02,shelling,2,34.80,36.70\n")


def _repairs(engine: Engine, run_id: int | None) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT record_number, source_id, field, value_before, value_after, rule "
            "FROM etl_repairs WHERE etl_run_id = :r ORDER BY id"), {"r": run_id})]


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_swap_is_recorded_with_its_line_and_values(engine: Engine, sample_loaded: list,
                                                     tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text(HEADER + ROWS)
    summary = run(find_job("incidents", "csv", path), path, engine,
                  source=f"etlt_repairs_{int(row_wise)}", row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.status, summary.loaded, summary.repaired) == ("completed", 3, 1)
    assert summary.repairs == {"swapped_lat_lon_repaired": 1}
    assert _repairs(engine, summary.run_id) == [
        (3, "swap-1", "lon,lat", "34.73,36.71", "36.71,34.73", "swapped_lat_lon_repaired")]


def test_a_dry_run_counts_repairs_and_records_none(engine: Engine, sample_loaded: list,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text(HEADER + ROWS)
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_repairs_dry",
                  dry_run=True)
    assert summary.repairs == {"swapped_lat_lon_repaired": 1}
    assert summary.run_id is None


def test_runs_show_lists_the_repairs_and_load_json_summarises_them(
        engine: Engine, sample_loaded: list, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    path = tmp_path / "swapped.csv"
    path.write_text(HEADER + ROWS)
    cli = CliRunner()
    loaded = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--source",
                              "etlt_repairs_cli", "--json", "--no-alerts"])
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.stdout)
    assert summary["repairs"] == {"swapped_lat_lon_repaired": 1}
    shown = cli.invoke(app, ["etl", "runs", "show", str(summary["run_id"]), "--json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["id"] == summary["run_id"] and body["rows_repaired"] == 1
    assert body["repairs"] == {"swapped_lat_lon_repaired": 1}
    assert body["repair_rows"] == [{"line": 3, "source_id": "swap-1", "field": "lon,lat",
                                    "value_before": "34.73,36.71",
                                    "value_after": "36.71,34.73",
                                    "rule": "swapped_lat_lon_repaired"}]
    plain = cli.invoke(app, ["etl", "runs", "show", str(summary["run_id"])])
    assert plain.exit_code == 0 and "swap-1" in plain.stdout and "34.73,36.71" in plain.stdout
    missing = cli.invoke(app, ["etl", "runs", "show", "999999999", "--json"])
    assert missing.exit_code == 2, missing.output


def test_a_polygon_made_valid_is_recorded(engine: Engine, sample_loaded: list,
                                          tmp_path: Path) -> None:
    bowtie = [[36.70, 34.70], [36.80, 34.80], [36.80, 34.70], [36.70, 34.80], [36.70, 34.70]]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [bowtie]},
        "properties": {"source_id": "bow-1", "name": "bow tie", "agreement_type": "ceasefire",
                       "effective_from": "2016-02-27"}}]}))
    summary = run(find_job("agreement_areas", "geojson", path), path, engine,
                  source="etlt_repairs_polygon")
    assert summary.repairs == {"invalid_geometry_repaired": 1}, summary
    rows = _repairs(engine, summary.run_id)
    assert [(r[1], r[2], r[5]) for r in rows] == [
        ("bow-1", "geometry", "invalid_geometry_repaired")]
    assert str(rows[0][3]).startswith("Self-intersection")
