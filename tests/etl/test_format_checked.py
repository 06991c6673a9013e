"""Issue 13, item 7 and its bad input: `--format acled|ucdp|hxl` on a file whose header lacks
that format's required columns is exit 2 naming the missing ones, before a run starts; a run
that reads no rows (a KML whose only content is a NetworkLink) completes as `empty`, with a
warning that says why, and the database unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app

GENERIC = "source_id,occurred_at,event_type,lat,lon\nx-1,2016-06-01,shelling,34.73,36.71\n"


@pytest.fixture()
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    return CliRunner()


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM etl_runs")).scalar_one())


@pytest.mark.parametrize(("fmt", "said"), [
    ("acled", "is not an ACLED file: its header lacks event_id_cnty, event_date, latitude, "
              "longitude"),
    ("ucdp", "is not a UCDP GED file: its header lacks id, date_start, latitude, longitude, "
             "type_of_violence, best"),
    ("hxl", "is not an HXL file: its header lacks a hashtag row"),
])
def test_a_format_the_header_does_not_have_is_exit_2(cli: CliRunner, engine: Engine,
                                                     sample_loaded: list, tmp_path: Path,
                                                     fmt: str, said: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(GENERIC)
    before = _runs(engine)
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--format", fmt,
                            "--source", "etlt_fmt_check", "--json", "--no-alerts"])
    assert done.exit_code == 2, done.output
    body = json.loads(done.stdout)
    assert body["status"] == "failed" and body["run_id"] is None
    assert said in body["error"], body["error"]
    assert _runs(engine) == before  # before a run started


def test_a_kml_of_only_a_network_link_is_empty_and_says_why(cli: CliRunner, engine: Engine,
                                                            sample_loaded: list,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "offices.kml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Offices</name>'
                    "<NetworkLink><name>Incidents</name><Link><href>http://data.example/"
                    "incidents.kml</href></Link></NetworkLink></Document></kml>\n")
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--source",
                            "etlt_fmt_link", "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert (body["status"], body["read"], body["loaded"], body["quarantined"]) == (
        "empty", 0, 0, 0), body
    assert any("holds no Placemark, only 1 NetworkLink(s) to other files "
               "(http://data.example/incidents.kml)" in w for w in body["warnings"]), body
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM etl_runs WHERE id = :r"),
                              {"r": body["run_id"]}).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM incidents WHERE source = "
                                 "'etlt_fmt_link'")).scalar_one()
    assert (status, rows) == ("empty", 0)
