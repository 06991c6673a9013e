"""Issue 13, item 10: coordinates that are not lon/lat are refused, naming `--crs EPSG:XXXX`, and
`--crs` loads them. The files are the sample's own agreement areas and UCDP events written in Web
Mercator metres (a GeoJSON with no `crs` member, as web map exports are) or UTM zone 37N."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

SAMPLE = Path(__file__).parents[2] / "etl" / "sample"
TRUCE = [sys.executable, "-m", "cli.main"]
MAPPING = {"source_id": "id", "occurred_at": "date_start", "event_type": "type",
           "lon": "x", "lat": "y"}


def _projected(srid: int) -> Transformer:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{srid}", always_xy=True)


def _convert(coords: Any, to: Transformer) -> Any:
    if isinstance(coords[0], int | float):
        return [round(v, 2) for v in to.transform(coords[0], coords[1])]
    return [_convert(c, to) for c in coords]


def _areas_in(srid: int, path: Path, count: int = 3) -> list[dict[str, Any]]:
    """The sample's first `count` agreement areas in EPSG:`srid`, with no `crs` member."""
    source = json.loads((SAMPLE / "illustrative" / "agreement_areas.geojson").read_text())
    features = source["features"][:count]
    to = _projected(srid)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": f["properties"],
         "geometry": {"type": f["geometry"]["type"],
                      "coordinates": _convert(f["geometry"]["coordinates"], to)}}
        for f in features]}))
    return features


def _events_in(srid: int, path: Path, rows: int = 40) -> list[tuple[str, float, float]]:
    """The first UCDP sample events as a generic CSV with x/y in EPSG:`srid`: (id, lon, lat)."""
    with open(SAMPLE / "ucdp" / "ged_syria_2016_H1.csv", encoding="utf-8") as handle:
        events = [(r["id"], float(r["longitude"]), float(r["latitude"]), r["date_start"])
                  for _, r in zip(range(rows), csv.DictReader(handle), strict=False)]
    to = _projected(srid)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "date_start", "type", "x", "y"])
        for sid, lon, lat, day in events:
            x, y = to.transform(lon, lat)
            writer.writerow([sid, day, "Battles", f"{x:.2f}", f"{y:.2f}"])
    return [(sid, lon, lat) for sid, lon, lat, _ in events]


def _count(engine: Engine, table: str, source: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE source = :s"),
                                {"s": source}).scalar_one())


def test_web_mercator_areas_fail_naming_crs_then_load_with_it(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "areas_3857.geojson"
    features = _areas_in(3857, path)
    job = find_job("agreement_areas", "auto", path)
    summary = run(job, path, engine, source="etlt_crs_areas")
    assert summary.status == "failed" and "--crs EPSG:3857" in str(summary.error), summary
    assert (summary.loaded, summary.quarantined) == (0, 0)
    assert _count(engine, "agreement_areas", "etlt_crs_areas") == 0
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM quarantine WHERE etl_run_id = :r"),
                            {"r": summary.run_id}).scalar_one()
    assert kept == 0

    summary = run(job, path, engine, source="etlt_crs_areas", options={"crs": "EPSG:3857"})
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 3, 0), summary
    with engine.connect() as conn:
        for feature in features:
            gap = conn.execute(text(
                "SELECT ST_HausdorffDistance(a.geom, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)) "
                "FROM agreement_areas a WHERE a.source = 'etlt_crs_areas' AND a.source_id = :id"),
                {"g": json.dumps(feature["geometry"]),
                 "id": feature["properties"]["source_id"]}).scalar_one()
            assert gap < 1e-5  # degrees: the metres were rounded to centimetres


@pytest.mark.parametrize("srid", [3857, 32637])
def test_projected_csv_fails_naming_crs_then_loads_with_it(
        engine: Engine, sample_loaded: list, tmp_path: Path, srid: int) -> None:
    path = tmp_path / f"events_{srid}.csv"
    events = _events_in(srid, path)
    job = find_job("incidents", "csv", path)
    source = f"etlt_crs_events_{srid}"
    summary = run(job, path, engine, source=source, mapping=MAPPING)
    assert summary.status == "failed" and f"--crs EPSG:{srid}" in str(summary.error), summary
    assert _count(engine, "incidents", source) == 0

    summary = run(job, path, engine, source=source, mapping=MAPPING,
                  options={"crs": f"EPSG:{srid}"})
    assert (summary.status, summary.loaded) == ("completed", len(events)), summary
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT source_id, geom FROM incidents WHERE source = :s"),
                                   {"s": source}).tuples().all())
        for sid, lon, lat in events:
            gap = conn.execute(text("SELECT ST_Distance(CAST(:g AS geometry)::geography, "
                                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)"),
                               {"g": stored[sid], "x": lon, "y": lat}).scalar_one()
            assert gap < 1.0  # metres


def test_points_geojson_in_metres_fails_and_loads_with_crs(engine: Engine, sample_loaded: list,
                                                           tmp_path: Path) -> None:
    csv_path = tmp_path / "events.csv"
    events = _events_in(3857, csv_path, rows=5)
    to = _projected(3857)
    path = tmp_path / "events_3857.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"source_id": sid, "occurred_at": "2016-01-01",
                                           "event_type": "battles"},
         "geometry": {"type": "Point", "coordinates": list(to.transform(lon, lat))}}
        for sid, lon, lat in events]}))
    job = find_job("incidents", "auto", path)
    summary = run(job, path, engine, source="etlt_crs_points")
    assert summary.status == "failed" and "--crs EPSG:3857" in str(summary.error), summary
    summary = run(job, path, engine, source="etlt_crs_points", options={"crs": "EPSG:3857"})
    assert (summary.status, summary.loaded) == ("completed", 5), summary


def test_coordinates_no_projection_explains_still_name_crs(engine: Engine, sample_loaded: list,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "garbled.csv"
    path.write_text("id,date_start,type,x,y\nG-1,2016-03-01,Battles,367137000,347324000\n"
                    "G-2,2016-03-01,Battles,371612000,362021000\n")
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_crs_garbled",
                  mapping=MAPPING)
    assert summary.status == "failed" and "--crs EPSG:XXXX" in str(summary.error), summary


def test_a_global_file_in_lon_lat_is_not_taken_for_a_projection(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    # a global export: every row outside Syria, but in lon/lat (Kabul, Mogadishu, Juba)
    path = tmp_path / "global.csv"
    path.write_text("id,date_start,type,x,y\nW-1,2017-03-01,Battles,69.1723,34.5281\n"
                    "W-2,2017-03-01,Battles,45.3182,2.0469\nW-3,2017-03-01,Battles,31.5825,4.8594\n")
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_crs_global",
                  mapping=MAPPING)
    assert (summary.status, summary.quarantined) == ("completed", 3), summary
    assert summary.reasons == {"outside_area_of_interest": 3}


def test_cli_names_crs_and_loads_with_it(database_url: str, sample_loaded: list,
                                         tmp_path: Path) -> None:
    path = tmp_path / "areas_3857.geojson"
    _areas_in(3857, path, count=2)
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    args = [*TRUCE, "etl", "load", str(path), "--layer", "agreement_areas", "--source",
            "etlt_crs_cli", "--json", "--no-alerts"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    out = json.loads(done.stdout)
    assert done.returncode == 1 and out["status"] == "failed", done.stderr
    assert "--crs EPSG:3857" in out["error"]
    done = subprocess.run([*args, "--crs", "EPSG:3857"], capture_output=True, text=True,
                          timeout=180, env=env)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and (out["status"], out["loaded"]) == ("completed", 2), done.stderr
    bad = subprocess.run([*args, "--crs", "metres"], capture_output=True, text=True, timeout=180,
                         env=env)
    assert bad.returncode == 2 and "EPSG" in bad.stdout + bad.stderr


def test_one_bad_point_among_rows_placed_by_name_is_that_rows_problem(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "mostly_named.csv"
    path.write_text("id,date_start,type,location_name,x,y\n"
                    "N-1,2016-03-01,Battles,Raju,,\nN-2,2016-03-01,Battles,Raju,,\n"
                    "N-3,2016-03-01,Battles,,3671.37,3473.24\n")
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_crs_named",
                  mapping=MAPPING)
    assert (summary.status, summary.loaded) == ("completed", 2), summary
    assert summary.reasons == {"coordinates_out_of_range": 1}
