"""Points load as incidents from newline-delimited GeoJSON (`.geojsonl`, `.ndjson`) and from
KML placemarks (their LIBKML ExtendedData fields mapped like columns)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import detect_format, find_job
from etl.runner import run

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
