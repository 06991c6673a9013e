"""Issue 13, item 6: `truce etl fields` lists every target a mapping may name; a mapping with
an unknown target, a column the file lacks, or no file at all is refused (exit 2, every
problem listed; one JSON object with --json) before any row is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app

CSV = ("Ref,When,What,Y,X,Dead\n"
       "m-1,2016-06-01,shelling,34.73,36.71,3\n")


@pytest.fixture()
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    return CliRunner()


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM etl_runs")).scalar_one())


def test_fields_lists_every_target_with_type_vocabulary_and_required(cli: CliRunner) -> None:
    done = cli.invoke(app, ["etl", "fields", "--layer", "incidents", "--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    by_name = {f["name"]: f for f in body["fields"]}
    assert {"source_id", "occurred_at", "event_type", "lat", "lon", "fatalities",
            "location_name", "notes"} <= set(by_name)
    assert by_name["occurred_at"]["type"] == "date" and by_name["occurred_at"]["required"]
    assert by_name["notes"]["required"] is False
    aid = json.loads(cli.invoke(app, ["etl", "fields", "--layer", "aid_deliveries",
                                      "--json"]).stdout)
    method = next(f for f in aid["fields"] if f["name"] == "method")
    assert method["vocabulary"] == ["airdrop", "convoy", "handover"] and method["required"]
    table = cli.invoke(app, ["etl", "fields", "--layer", "incidents"])
    assert table.exit_code == 0 and "occurred_at" in table.stdout
    unknown = cli.invoke(app, ["etl", "fields", "--layer", "nowhere"])
    assert unknown.exit_code == 2


def test_every_mapping_problem_is_listed_before_a_run(cli: CliRunner, engine: Engine,
                                                      sample_loaded: list,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: When\nevent_type: What\nlat: Y\nlon: X\n"
                       "Fatalities: dead\nkilled_low: Dead\n"
                       "occurred_at_parts: {year: Year}\n")
    before = _runs(engine)
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", "etlt_map_bad", "--json", "--no-alerts"])
    assert done.exit_code == 2, done.output
    body = json.loads(done.stdout)
    assert body["status"] == "failed" and body["run_id"] is None
    problems = body["problems"]
    assert any("unknown target 'killed_low'" in p for p in problems), problems
    assert any("unknown target 'occurred_at_parts'" in p for p in problems), problems
    assert any("column 'dead' is not in the file's header" in p for p in problems), problems
    assert any("column 'Year' is not in the file's header" in p for p in problems), problems
    assert _runs(engine) == before  # refused before a run started


@pytest.mark.parametrize("content", [None, "source_id: [1, 2\n", "just text\n",
                                     "occurred_at: {week: W}\n"])
def test_a_missing_or_invalid_mapping_file_is_exit_2(cli: CliRunner, sample_loaded: list,
                                                     tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    mapping = tmp_path / "mapping.yaml"
    if content is not None:
        mapping.write_text(content)
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", "etlt_map_file", "--json", "--no-alerts"])
    assert done.exit_code == 2, done.output
    body = json.loads(done.stdout)
    assert body["status"] == "failed" and body["error"].startswith(
        ("--mapping", "occurred_at")), body
    assert "Traceback" not in done.output


def test_a_good_mapping_loads(cli: CliRunner, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: When\nevent_type: What\nlat: Y\nlon: X\n"
                       "fatalities: Dead\n")
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", "etlt_map_good", "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["loaded"] == 1


AWSD = ("Incident ID,Year,Month,Day,Country Code,Country,Region,District,City,Total killed,"
        "Total wounded,Means of attack,Attack context,Location,Latitude,Longitude,Actor type,"
        "Actor name,Details,Verified\n"
        "2981,2016,3,14,SY,Syrian Arab Republic,Homs,Homs,Homs,2,1,Shooting,Ambush,Road,"
        "34.73,36.71,Unknown,Unknown,Convoy hit near the café,Yes\n"
        "2990,2016,4,,SY,Syrian Arab Republic,Tartus,Tartus,Tartûs,0,3,Shelling,Combat/Crossfire,"
        "Office,34.89,35.89,State,Unknown,Office damaged,Yes\n")


def test_the_readme_mapping_loads_an_aid_worker_security_export(
        cli: CliRunner, engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block.startswith("# awsd.yaml")
    mapping = tmp_path / "awsd.yaml"
    mapping.write_text(block, encoding="utf-8")
    path = tmp_path / "security_incidents.csv"
    path.write_bytes(AWSD.encode("latin-1"))
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", "etlt_awsd", "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert (body["read"], body["loaded"], body["quarantined"]) == (2, 2, 0), body
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT source_id, (time_precision, fatalities, event_type, location_name) "
            "FROM incidents WHERE source = 'etlt_awsd'")).all())
    assert rows["2981"] == "(day,2,shooting,Homs)"
    assert rows["2990"] == "(month,0,shelling,Tartûs)"
