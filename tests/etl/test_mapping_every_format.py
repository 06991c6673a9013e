"""Issue 13, item 6, for every format a mapping applies to: a column the mapping names that no
feature of a GeoJSON (collection or sequence), GeoPackage, Shapefile (zipped or not) or KML has
is refused before a run starts (exit 2, every problem listed), as a CSV's is; the right
mapping loads."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app

POINT = (36.71, 34.73)  # Homs
ROW = {"Ref": "v-1", "When": "2016-06-01", "What": "shelling", "Dead": 3}
GOOD = "source_id: Ref\noccurred_at: When\nevent_type: What\nfatalities: Dead\n"
# a case typo (the file says Dead) and a target no layer has
BAD = GOOD.replace("Dead", "dead") + "killed_low: Dead\n"


@pytest.fixture()
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    return CliRunner()


def _feature(row: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": row,
            "geometry": {"type": "Point", "coordinates": list(POINT)}}


def _gdal(path: Path, driver: str) -> Path:
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(shapely.Point(*POINT))],
                                          dtype=object),
                      [np.array([ROW[k]], dtype=object if k != "Dead" else np.int64)
                       for k in ROW], list(ROW), driver=driver, geometry_type="Point",
                      crs="EPSG:4326")
    return path


def _write(tmp_path: Path, kind: str) -> Path:
    if kind == "geojson":
        path = tmp_path / "events.geojson"
        # the second feature has no Dead: a column any feature has is the file's
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            _feature({k: v for k, v in ROW.items() if k != "Dead"} | {"Ref": "v-0"}),
            _feature(ROW)]}))
        return path
    if kind == "geojsonl":
        path = tmp_path / "events.geojsonl"
        path.write_text(json.dumps(_feature(ROW)) + "\n")
        return path
    if kind == "gpkg":
        return _gdal(tmp_path / "events.gpkg", "GPKG")
    if kind in ("shp", "zip"):
        shp = _gdal(tmp_path / "events.shp", "ESRI Shapefile")
        if kind == "shp":
            return shp
        path = tmp_path / "events.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in tmp_path.glob("events.*"):
                if part.suffix != ".zip":
                    archive.write(part, part.name)
        return path
    path = tmp_path / "events.kml"
    data = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in ROW.items())
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
                    f"<ExtendedData>{data}</ExtendedData>"
                    f"<Point><coordinates>{POINT[0]},{POINT[1]}</coordinates></Point>"
                    "</Placemark></Document></kml>\n")
    return path


KINDS = ["geojson", "geojsonl", "gpkg", "shp", "zip", "kml"]


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM etl_runs")).scalar_one())


@pytest.mark.parametrize("kind", KINDS)
def test_a_column_no_feature_has_is_refused_before_a_run(
        cli: CliRunner, engine: Engine, sample_loaded: list, tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path, kind)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(BAD)
    before = _runs(engine)
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", f"etlt_mapfmt_{kind}", "--json",
                            "--no-alerts"])
    assert done.exit_code == 2, done.output
    problems = json.loads(done.stdout)["problems"]
    assert any("unknown target 'killed_low'" in p for p in problems), problems
    assert any("column 'dead' is not in the fields of the file's features" in p
               and "Dead" in p for p in problems), problems
    assert len(problems) == 2, problems
    assert _runs(engine) == before  # refused before a run started


@pytest.mark.parametrize("kind", KINDS)
def test_the_right_mapping_loads(cli: CliRunner, engine: Engine, sample_loaded: list,
                                 tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path, kind)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(GOOD)
    source = f"etlt_mapfmt_ok_{kind}"
    done = cli.invoke(app, ["etl", "load", str(path), "--layer", "incidents", "--mapping",
                            str(mapping), "--source", source, "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["quarantined"] == 0 and body["loaded"] == body["read"] >= 1, body
    with engine.connect() as conn:
        dead = conn.execute(text("SELECT fatalities FROM incidents WHERE source = :s "
                                 "AND source_id = 'v-1'"), {"s": source}).scalar_one()
    assert dead == 3
