"""Files whose parts are damaged or do not belong together: refused with what to do, never
loaded in part (GDAL reads up to the damage and stops without an error)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from sqlalchemy import Engine

from etl.jobs import find_job
from etl.runner import run


def _points(path: Path, count: int, driver: str) -> None:
    geoms = [shapely.to_wkb(shapely.Point(36.6 + i / 1000, 34.7)) for i in range(count)]
    pyogrio.raw.write(str(path), np.array(geoms, dtype=object),
                      [np.array([f"D{i}" for i in range(count)], dtype=object),
                       np.array(["2016-03-01"] * count, dtype=object)],
                      ["source_id", "occurred_at"], driver=driver, geometry_type="Point",
                      crs="EPSG:4326")


def test_a_shapefile_whose_dbf_has_fewer_records_is_refused(engine: Engine, sample_loaded: list,
                                                            tmp_path: Path) -> None:
    _points(tmp_path / "five.shp", 5, "ESRI Shapefile")
    other = tmp_path / "other"
    other.mkdir()
    _points(other / "three.shp", 3, "ESRI Shapefile")
    shutil.copy(other / "three.dbf", tmp_path / "five.dbf")
    summary = run(find_job("incidents", "auto", tmp_path / "five.shp"), tmp_path / "five.shp",
                  engine, source="etlt_shp_parts")
    assert summary.status == "failed" and summary.read == 0
    assert summary.error == ("five.shp: its .shx lists 5 shapes but its .dbf has 3 records: the "
                             "parts do not belong together (or one is damaged); export the "
                             "shapefile again")
    zipped = tmp_path / "five.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            archive.write(tmp_path / f"five{suffix}", f"five{suffix}")
    summary = run(find_job("incidents", "auto", zipped), zipped, engine, source="etlt_shp_parts")
    assert summary.status == "failed" and "five.zip: five.shp: its .shx lists 5 shapes" in (
        summary.error or ""), summary.error


def test_a_shapefile_without_its_index_says_so(engine: Engine, sample_loaded: list,
                                               tmp_path: Path) -> None:
    _points(tmp_path / "noindex.shp", 2, "ESRI Shapefile")
    (tmp_path / "noindex.shx").unlink()
    summary = run(find_job("incidents", "auto", tmp_path / "noindex.shp"),
                  tmp_path / "noindex.shp", engine, source="etlt_shp_parts")
    assert summary.status == "failed"
    assert summary.error == ("noindex.shp: the .shx file (the index) is missing next to it; copy "
                             "all the shapefile's parts (.shp .shx .dbf .prj)")


def test_a_damaged_geopackage_is_refused(engine: Engine, sample_loaded: list, tmp_path: Path
                                         ) -> None:
    path = tmp_path / "damaged.gpkg"
    _points(path, 100, "GPKG")
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 2, pages):  # the latter half's pages, past their headers
        data[page * 4096 + 8:(page + 1) * 4096] = bytes([0xA5]) * 4088
    path.write_bytes(bytes(data))
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_gpkg_damaged")
    assert summary.status == "failed" and summary.loaded == 0
    assert (summary.error or "").startswith("damaged.gpkg is damaged (SQLite finds: ")
    assert (summary.error or "").endswith("export the GeoPackage again")
