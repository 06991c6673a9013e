"""`--invalid-geometry repair|reject`: a bowtie polygon (self-intersecting) in GeoJSON and in a
GeoPackage is repaired with ST_MakeValid by default (and counted), or quarantined with the reason
GEOS gives, the same text as PostGIS's ST_IsValidReason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

TRUCE = [sys.executable, "-m", "cli.main"]
SQUARE = shapely.box(36.70, 34.70, 36.75, 34.75)
BOWTIE = shapely.Polygon([(36.8, 34.8), (36.9, 34.9), (36.9, 34.8), (36.8, 34.9)])


def _write(path: Path, driver: str) -> None:
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(SQUARE), shapely.to_wkb(BOWTIE)],
                                          dtype=object),
                      [np.array(["IG-1", "IG-2"], dtype=object),
                       np.array(["Square", "Bowtie"], dtype=object),
                       np.array(["signed", "signed"], dtype=object)],
                      ["source_id", "name", "status"], driver=driver, geometry_type="Polygon",
                      crs="EPSG:4326")


@pytest.mark.parametrize(("suffix", "driver"), [(".geojson", "GeoJSON"), (".gpkg", "GPKG")])
def test_reject_quarantines_the_bowtie_with_st_isvalidreason(
        engine: Engine, sample_loaded: list, tmp_path: Path, suffix: str, driver: str) -> None:
    path = tmp_path / f"areas{suffix}"
    _write(path, driver)
    source = f"etlt_invalid_reject{suffix.replace('.', '_')}"
    summary = run(find_job("agreement_areas", "auto", path), path, engine, source=source,
                  options={"invalid_geometry": "reject"})
    assert summary.status == "completed", summary.error
    assert (summary.read, summary.loaded, summary.quarantined, summary.repaired) == (2, 1, 1, 0)
    assert summary.reasons == {"invalid_geometry": 1}
    with engine.connect() as conn:
        detail, number, source_id, raw = conn.execute(text(
            "SELECT detail, record_number, source_id, raw FROM quarantine WHERE etl_run_id = :r"),
            {"r": summary.run_id}).one()
        postgis_reason = conn.execute(text("SELECT ST_IsValidReason(ST_GeomFromText(:w, 4326))"),
                                      {"w": BOWTIE.wkt}).scalar_one()
        loaded = conn.execute(text("SELECT source_id FROM agreement_areas WHERE source = :s"),
                              {"s": source}).scalars().all()
    assert detail["invalid_reason"] == postgis_reason == "Self-intersection[36.85 34.85]"
    assert (number, source_id, raw["name"]) == (2, "IG-2", "Bowtie")
    assert loaded == ["IG-1"]


@pytest.mark.parametrize(("suffix", "driver"), [(".geojson", "GeoJSON"), (".gpkg", "GPKG")])
def test_repair_is_the_default_and_is_counted(engine: Engine, sample_loaded: list,
                                              tmp_path: Path, suffix: str, driver: str) -> None:
    path = tmp_path / f"areas{suffix}"
    _write(path, driver)
    source = f"etlt_invalid_repair{suffix.replace('.', '_')}"
    summary = run(find_job("agreement_areas", "auto", path), path, engine, source=source)
    assert (summary.status, summary.loaded, summary.quarantined, summary.repaired) == (
        "completed", 2, 0, 1), summary
    with engine.connect() as conn:
        valid, area = conn.execute(text(
            "SELECT bool_and(ST_IsValid(geom)), sum(ST_Area(geom)) FROM agreement_areas "
            "WHERE source = :s AND source_id = 'IG-2'"), {"s": source}).one()
    # ST_MakeValid splits the bowtie into its two triangles: half the bounding square's area
    assert valid and abs(area - 0.005) < 1e-9


def test_cli_option_and_a_corrected_file_resolves_the_quarantined_row(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "areas.geojson"
    _write(path, "GeoJSON")
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    options = ["--layer", "agreement_areas", "--source", "etlt_invalid_cli", "--json"]
    args = [*TRUCE, "etl", "load", str(path), *options]
    done = subprocess.run([*args, "--invalid-geometry", "reject"], capture_output=True,
                          text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["loaded"], out["quarantined"], out["reasons"]) == (1, 1, {"invalid_geometry": 1})
    wrong = subprocess.run([*args, "--invalid-geometry", "ignore"], capture_output=True,
                           text=True, timeout=180, env=env)
    assert wrong.returncode == 2 and "repair, reject" in json.loads(wrong.stdout)["error"]
    fixed = tmp_path / "fixed.geojson"
    fixed.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"source_id": "IG-2", "name": "Bowtie", "status": "signed"},
        "geometry": shapely.geometry.mapping(shapely.make_valid(BOWTIE))}]}))
    done = subprocess.run([*TRUCE, "etl", "load", str(fixed), *options, "--invalid-geometry",
                           "reject"],
                          capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["loaded"] == 1, done.stderr
    with engine.connect() as conn:
        unresolved = conn.execute(text(
            "SELECT count(*) FROM quarantine WHERE source = 'etlt_invalid_cli' "
            "AND resolved_at IS NULL")).scalar_one()
    assert unresolved == 0
