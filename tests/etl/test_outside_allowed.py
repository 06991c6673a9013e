"""Issue 13, item 2: the rows `--allow-outside` admits are not only loaded but accounted for,
on every layer the area of interest applies to: counted in the run's summary
(`outside_allowed`, --json too) and listed one by one, with their line, by `truce etl runs show`
(kept with the repairs as rule outside_area_of_interest_allowed, not counted as repairs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from etl.jobs import find_job
from etl.runner import run

BORDER = Path(__file__).parent / "data" / "ucdp_border_towns.csv"
# Antakya, Kirikhan, Zaatari, Al Qa'im, Baalbek: lines 3 to 7 of the file
OUTSIDE = {"313402": 3, "313403": 4, "313404": 5, "313405": 6, "313406": 7}
FLAG = "outside_area_of_interest_allowed"


@pytest.fixture()
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    return CliRunner()


def _flagged(engine: Engine, run_id: int | None) -> dict[str, tuple[int, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, record_number, field, value_after "
                                 "FROM etl_repairs WHERE etl_run_id = :r AND rule = :f"),
                            {"r": run_id, "f": FLAG}).all()
    return {str(r[0]): (int(r[1]), str(r[2]), r[3]) for r in rows}


def test_rows_allowed_outside_are_counted_and_recorded(engine: Engine,
                                                       sample_loaded: list) -> None:
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_outside_rows", options={"allow_outside": True})
    assert (summary.loaded, summary.quarantined, summary.outside_allowed) == (8, 1, 5), summary
    assert summary.repairs == {"swapped_lat_lon_repaired": 1} and summary.repaired == 1
    flagged = _flagged(engine, summary.run_id)
    assert {k: v[0] for k, v in flagged.items()} == OUTSIDE
    assert flagged["313402"][1:] == ("lon,lat", "36.1612,36.2021")  # Antakya, as loaded


def test_a_dry_run_counts_them_too(engine: Engine, sample_loaded: list) -> None:
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine, dry_run=True,
                  source="etlt_outside_dry", options={"allow_outside": True})
    assert (summary.loaded, summary.outside_allowed) == (8, 5), summary


def test_without_the_option_nothing_is_allowed(engine: Engine, sample_loaded: list) -> None:
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_outside_none", row_wise=True)
    assert (summary.quarantined, summary.outside_allowed) == (6, 0), summary
    assert _flagged(engine, summary.run_id) == {}


def test_aid_deliveries_and_agreement_areas_allowed_outside_are_counted(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    aid = tmp_path / "aid.csv"
    aid.write_text("source_id,delivered_at,method,cargo_type,quantity,unit,organisation,"
                   "latitude,longitude\n"
                   "A-1,2017-03-01,convoy,food,5,tonnes,WFP,34.7324,36.7137\n"
                   "A-2,2017-03-01,convoy,food,5,tonnes,UNHCR,32.2950,36.3230\n")  # Zaatari
    summary = run(find_job("aid_deliveries", "csv", aid), aid, engine,
                  source="etlt_outside_aid", options={"allow_outside": True})
    assert (summary.loaded, summary.outside_allowed) == (2, 1), summary
    assert {k: v[0] for k, v in _flagged(engine, summary.run_id).items()} == {"A-2": 3}

    areas = tmp_path / "areas.geojson"
    square = [[35.87, 33.82], [35.93, 33.82], [35.93, 33.88], [35.87, 33.88], [35.87, 33.82]]
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"source_id": "L-1", "name": "Zahle"},
         "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    summary = run(find_job("agreement_areas", "geojson", areas), areas, engine,
                  source="etlt_outside_areas", options={"allow_outside": True})
    assert (summary.loaded, summary.outside_allowed) == (1, 1), summary
    assert summary.warnings[-1].startswith("1 rows outside the area of interest were loaded")
    assert _flagged(engine, summary.run_id) == {"L-1": (1, "geometry", None)}


def test_load_json_and_runs_show_list_them(cli: CliRunner, sample_loaded: list) -> None:
    done = cli.invoke(app, ["etl", "load", str(BORDER), "--layer", "incidents",
                            "--allow-outside", "--source", "etlt_outside_cli", "--json",
                            "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["outside_allowed"] == 5 and body["repairs"] == {"swapped_lat_lon_repaired": 1}
    shown = cli.invoke(app, ["etl", "runs", "show", str(body["run_id"]), "--json"])
    assert shown.exit_code == 0, shown.output
    run_row = json.loads(shown.stdout)
    assert run_row["rows_outside_allowed"] == 5
    assert run_row["repairs"] == {"swapped_lat_lon_repaired": 1}
    assert {r["source_id"]: r["line"] for r in run_row["repair_rows"]
            if r["rule"] == FLAG} == OUTSIDE
    table = cli.invoke(app, ["etl", "runs", "show", str(body["run_id"])])
    assert "rows_outside_allowed: 5" in table.stdout, table.stdout
    listed = table.stdout.split("loaded outside the area of interest (--allow-outside):")[1]
    assert all(f" {line} " in listed and sid in listed for sid, line in OUTSIDE.items())
    assert "313408" not in listed  # Homs, inside
