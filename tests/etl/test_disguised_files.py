"""Files that are not what their name says: GDAL opens a file by its content, so a GDAL VRT named
`x.gpkg` would read any local file or URL it names. The loader opens a file only when its
content is of the format asked for, with only that format's GDAL drivers and no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from etl.sources import gdal_guard

from .listener import Listener

CANARY = "CANARY_5f3a9e_local_secret"
TRUCE = [sys.executable, "-m", "cli.main"]


@pytest.fixture()
def listener() -> Iterator[Listener]:
    served = Listener(CANARY)
    yield served
    served.close()


@pytest.fixture()
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text(f"id,name,lon,lat\n1,{CANARY},36.7,34.7\n")
    return path


def _vrt(source: str) -> str:
    layer = Path(source.rsplit("/", 1)[-1]).stem
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}</SrcDataSource>'
            f'<SrcLayer>{layer}</SrcLayer>'
            '<GeometryType>wkbPoint</GeometryType>'
            '<GeometryField encoding="PointFromColumns" x="lon" y="lat"/>'
            '</OGRVRTLayer></OGRVRTDataSource>')


def _nothing_stored(engine: Engine) -> None:
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT (SELECT count(*) FROM incidents WHERE row_to_json(incidents)::text LIKE :c)"
            " + (SELECT count(*) FROM quarantine WHERE raw::text LIKE :c)"
            " + (SELECT count(*) FROM agreement_areas WHERE row_to_json(agreement_areas)::text "
            "LIKE :c)"), {"c": f"%{CANARY}%"}).scalar_one()
    assert found == 0


@pytest.mark.parametrize("name, fmt", [("x.gpkg", "gpkg"), ("x.geojson", "geojson"),
                                       ("x.shp", "shp"), ("x.gpkg", "auto")])
def test_a_vrt_by_another_name_is_refused(engine: Engine, sample_loaded: list, tmp_path: Path,
                                          canary: Path, name: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_text(_vrt(f"CSV:{canary}"))
    job = find_job("incidents", fmt, path)
    summary = run(job, path, engine, source="etlt_vrt")
    assert summary.status == "failed" and summary.read == 0
    kind = {"gpkg": "GeoPackage", "geojson": "GeoJSON", "shp": "Shapefile"}[job.format]
    assert f"{name} is not a {kind}" in (summary.error or ""), summary.error
    assert "GDAL VRT" in (summary.error or "")
    _nothing_stored(engine)


def test_a_vrt_in_a_zip_is_refused(engine: Engine, sample_loaded: list, tmp_path: Path,
                                   canary: Path) -> None:
    for member in ("layer.vrt", "layer.shp"):
        path = tmp_path / f"{Path(member).suffix[1:]}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(member, _vrt(f"CSV:{canary}"))
        summary = run(find_job("agreement_areas", "auto", path), path, engine,
                      source="etlt_vrt_zip")
        assert summary.status == "failed", member
        assert "GDAL" not in (summary.error or "").replace("GDAL VRT", ""), summary.error
        _nothing_stored(engine)


def test_a_vrt_cannot_make_requests(engine: Engine, sample_loaded: list, tmp_path: Path,
                                    listener: Listener) -> None:
    path = tmp_path / "remote.gpkg"
    path.write_text(_vrt(f"CSV:/vsicurl/{listener.url}/data.csv"))
    summary = run(find_job("incidents", "gpkg", path), path, engine, source="etlt_vrt_url")
    assert summary.status == "failed"
    assert listener.hits == []
    _nothing_stored(engine)


def test_a_geojson_crs_link_is_not_fetched(engine: Engine, sample_loaded: list, tmp_path: Path,
                                           listener: Listener) -> None:
    """GDAL fetches a GeoJSON's `"crs": {"type": "link"}` URL by itself: refused, and the
    request is never made."""
    path = tmp_path / "linked.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": f"{listener.url}/crs.wkt",
                                               "type": "ogcwkt"}},
        "features": [{"type": "Feature", "properties": {"source_id": "L1"},
                      "geometry": {"type": "Point", "coordinates": [36.7, 34.7]}}]}))
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_crs_link")
    assert summary.status == "failed" and listener.hits == []
    assert "linked.geojson refers to" in (summary.error or "") and "EPSG:4326" in (
        summary.error or "")


def test_gdal_is_as_it_was_after_a_read(tmp_path: Path) -> None:
    drivers = pyogrio.list_drivers()
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with gdal_guard.only("geojson"):
        assert set(pyogrio.list_drivers()) == {"GeoJSON", "GeoJSONSeq"}
    assert pyogrio.list_drivers() == drivers


@pytest.mark.parametrize("name, content, says", [
    ("points.csv", json.dumps({"type": "FeatureCollection", "features": []}),
     "points.csv is not a CSV file: its content is JSON (GeoJSON)"),
    ("areas.geojson", "source_id,name\n1,x\n", "areas.geojson is not a GeoJSON file: its content "
                                               "is text (CSV)"),
    ("areas.gpkg", "source_id,name\n1,x\n", "areas.gpkg is not a GeoPackage: its content is text"),
])
def test_content_of_another_format_is_refused_naming_both(
        engine: Engine, sample_loaded: list, tmp_path: Path, name: str, content: str,
        says: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    layer = "incidents" if name.endswith(".csv") else "agreement_areas"
    summary = run(find_job(layer, "auto", path), path, engine, source="etlt_other_format")
    assert summary.status == "failed" and says in (summary.error or ""), summary.error


def test_a_nested_zip_says_what_to_do(engine: Engine, sample_loaded: list, tmp_path: Path
                                      ) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("readme.txt", "x")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "inner.zip")
    summary = run(find_job("agreement_areas", "auto", outer), outer, engine,
                  source="etlt_nested_zip")
    assert summary.status == "failed"
    assert summary.error == ("outer.zip holds another zip (inner.zip) and no shapefile: unzip it "
                             "and load the file inside")


def test_cli_refuses_a_disguised_vrt(database_url: str, sample_loaded: list, engine: Engine,
                                     tmp_path: Path, canary: Path) -> None:
    path = tmp_path / "x.gpkg"
    path.write_text(_vrt(f"CSV:{canary}"))
    done = subprocess.run([*TRUCE, "etl", "load", str(path), "--layer", "incidents",
                           "--source", "etlt_vrt_cli", "--json"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "failed" and out["error"].startswith("x.gpkg is not a GeoPackage")
    assert "Traceback" not in done.stderr
    _nothing_stored(engine)
