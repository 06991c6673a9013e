"""Sources and options of issue 3 not covered elsewhere: newline-delimited GeoJSON, KML points
as incidents (LIBKML ExtendedData fields), ACLED `--since`, and a watch that goes on past a file
it cannot load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import detect_format, find_job
from etl.runner import run
from tests.etl.test_formats import ACLED_HEADER, _acled_row

TRUCE = [sys.executable, "-m", "cli.main"]
MAPPING = {"source_id": "uid", "occurred_at": "day", "event_type": "kind"}


def _feature(uid: str, day: str, lon: float = 36.71, lat: float = 34.73) -> str:
    return json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                       "properties": {"uid": uid, "day": day, "kind": "Shelling"}})


@pytest.mark.parametrize("suffix", [".geojsonl", ".ndjson"])
def test_newline_delimited_geojson(engine: Engine, sample_loaded: list, tmp_path: Path,
                                   suffix: str) -> None:
    path = tmp_path / f"feed{suffix}"
    path.write_text("\n".join([_feature("N1", "2016-06-03"), _feature("N2", "2016-06-04"),
                               _feature("N3", "not a date")]) + "\n")
    assert detect_format(path, "incidents") == "geojson"
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_ndjson",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 3, 2, 1), summary
    assert summary.reasons == {"unparseable_date": 1}


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>field</name>
{placemarks}
</Document></kml>
"""
PLACEMARK = """<Placemark><name>{uid}</name><ExtendedData>
<Data name="day"><value>{day}</value></Data><Data name="kind"><value>Shelling</value></Data>
</ExtendedData><Point><coordinates>{lon},{lat},0</coordinates></Point></Placemark>"""


def test_kml_points_load_as_incidents_and_bad_ones_are_kept(engine: Engine, sample_loaded: list,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "field.kml"
    path.write_text(KML.format(placemarks="\n".join([
        PLACEMARK.format(uid="K1", day="2016-06-03", lon=36.71, lat=34.73),
        PLACEMARK.format(uid="K2", day="2016-06-04", lon=36.72, lat=34.74),
        PLACEMARK.format(uid="K3", day="2016-06-05", lon=2.35, lat=48.85),  # Paris: outside AOI
    ])))
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_kml_points",
                  mapping={**MAPPING, "source_id": "Name"})
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 2, 1), summary
    assert summary.reasons == {"outside_area_of_interest": 1}
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT raw FROM quarantine WHERE etl_run_id = :r"),
                           {"r": summary.run_id}).scalar_one()
        points = conn.execute(text(
            "SELECT source_id, round(ST_X(geom)::numeric, 2) FROM incidents "
            "WHERE source = 'etlt_kml_points' ORDER BY 1")).all()
    assert raw["Name"] == "K3" and raw["day"] == "2016-06-05"
    assert [(r[0], float(r[1])) for r in points] == [("K1", 36.71), ("K2", 36.72)]


def test_acled_since_skips_rows_reported_before(database_url: str, engine: Engine,
                                               sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "acled.csv"
    old = _acled_row("SYR-OLD", "2016-03-01", "Jablah", "35.3621", "35.9276")
    new = _acled_row("SYR-NEW", "2016-03-02", "Jablah", "35.3621", "35.9276")
    path.write_text("\n".join([ACLED_HEADER, old.replace("1618317040", "1600000000"),
                               new.replace("1618317040", "1700000000")]) + "\n")
    done = subprocess.run([*TRUCE, "etl", "load", str(path), "--layer", "incidents", "--source",
                           "etlt_since", "--since", "2021-01-01", "--json"], capture_output=True,
                          text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["read"], out["loaded"], out["unchanged"], out["quarantined"]) == (2, 1, 1, 0)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT source_id FROM incidents WHERE source = 'etlt_since'")
                           ).scalars().all()
    assert ids == ["SYR-NEW"]


def test_watch_reports_a_file_it_cannot_load_and_goes_on(database_url: str, engine: Engine,
                                                         sample_loaded: list, tmp_path: Path
                                                         ) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(b"PK\x03\x04 not a format the ETL reads")
    (inbox / "b.csv").write_text(
        "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude\n"
        "WW-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    args = [*TRUCE, "etl", "watch", str(inbox), "--layer", "aid_deliveries", "--source",
            "etlt_watch_goes_on", "--once", "--json"]
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(Path(x["path"]).name, x["status"]) for x in lines] == [("a.xlsx", "failed"),
                                                                   ("b.csv", "completed")]
    assert "cannot tell the format" in lines[0]["error"] and lines[1]["loaded"] == 1
