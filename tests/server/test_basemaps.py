"""The shipped offline basemap (vector tiles from the repository's own data), its glyphs, and a
basemap an operator adds with `truce basemap add` (a small PMTiles file built here)."""

from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pmtiles.tile import TileType

from server.main import create_app
from server.settings import BasemapSettings
from tests.conftest import ROOT, make_settings
from tests.server.pmtiles_files import TRUCE, pmtiles_file


def _layers(client: TestClient, z: int, x: int, y: int, name: str = "region") -> dict[str, Any]:
    res = client.get(f"/basemaps/{name}/tiles/{z}/{x}/{y}.mvt")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded: dict[str, Any] = mapbox_vector_tile.decode(res.content)
    return decoded


def test_the_shipped_basemap_is_listed_with_its_layers(client: TestClient) -> None:
    body = client.get("/basemaps").json()
    region = next(b for b in body["basemaps"] if b["name"] == "region")
    assert region["default"] and region["shipped"]
    for layer in ("land", "countries", "water", "rivers", "borders", "governorates", "country_labels",
                  "governorate_labels", "places"):
        assert layer in region["vector_layers"]
    tj = client.get("/basemaps/region/tilejson.json").json()
    assert tj["tiles"][0].endswith("/basemaps/region/tiles/{z}/{x}/{y}.mvt")
    assert tj["maxzoom"] == 10 and "Natural Earth" in tj["attribution"]


def test_the_first_view_has_countries_capitals_and_water_in_three_languages(client: TestClient) -> None:
    # z6 tile holding Damascus, Homs, Beirut's coast and the Orontes valley
    layers = _layers(client, 6, 38, 25)
    names = {f["properties"]["name_en"]: f["properties"] for f in layers["country_labels"]["features"]}
    assert names["Lebanon"]["name_ar"] == "لبنان" and names["Lebanon"]["name_ru"] == "Ливан"
    places = {f["properties"]["name_en"]: f["properties"] for f in layers["places"]["features"]}
    assert places["Damascus"]["name_ar"] == "دمشق" and places["Damascus"]["name_ru"] == "Дамаск"
    assert places["Homs"]["name_ar"] == "حمص" and places["Homs"]["capital"] == 1
    governorates = {f["properties"]["pcode"]: f["properties"]
                    for f in layers["governorate_labels"]["features"]}
    assert governorates["SY04"]["name_ar"] == "حمص" and governorates["SY04"]["name_ru"] == "Хомс"
    assert layers["borders"]["features"] and layers["rivers"]["features"]
    assert layers["governorates"]["features"] and layers["water"]["features"]
    # a lower zoom thins the places: the governorate capitals and the neighbours' capitals only
    z4 = _layers(client, 4, 9, 6)
    abroad = {f["properties"]["name_en"] for f in z4["places"]["features"]
              if f["properties"]["abroad"] == 1}
    assert {"Beirut", "Amman", "Baghdad", "Ankara"} <= abroad
    with (ROOT / "tools" / "basemap" / "data" / "neighbour_places.csv").open(encoding="utf-8") as f:
        national_capitals = {r["name"] for r in csv.DictReader(f) if r["capital"] == "1"}
    assert abroad <= national_capitals
    assert all(f["properties"]["capital"] == 1 for f in z4["places"]["features"]
               if f["properties"]["abroad"] == 0)


def test_labels_at_high_zoom_and_204_outside(client: TestClient) -> None:
    layers = _layers(client, 10, 616, 406)  # Homs
    assert any(f["properties"]["name_en"] == "Homs" for f in layers["places"]["features"])
    assert client.get("/basemaps/region/tiles/10/0/0.mvt").status_code == 204
    assert client.get("/basemaps/region/tiles/3/0/0.mvt").status_code == 204
    missing = client.get("/basemaps/nowhere/tiles/1/0/0.mvt")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/basemaps/region/tiles/2/9/0.mvt").status_code == 404


def test_glyph_ranges_for_latin_arabic_and_cyrillic(client: TestClient) -> None:
    for rng in ("0-255", "1024-1279", "1536-1791", "65024-65279"):
        res = client.get(f"/basemaps/fonts/DejaVu Sans/{rng}.pbf")
        assert res.status_code == 200 and res.headers["content-type"] == "application/x-protobuf"
        assert len(res.content) > 10_000, rng
    # a font stack: the first font that has the range
    assert client.get("/basemaps/fonts/Nope,DejaVu Sans Bold/0-255.pbf").content \
        == client.get("/basemaps/fonts/DejaVu Sans Bold/0-255.pbf").content
    empty = client.get("/basemaps/fonts/DejaVu Sans/19968-20223.pbf")
    assert empty.status_code == 200 and len(empty.content) < 64
    assert client.get("/basemaps/fonts/DejaVu Sans/1-256.pbf").status_code == 404


def _add(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, "basemap", "add", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TRUCE_BASEMAP_DIRECTORY": str(folder)})


@pytest.fixture()
def folder(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "basemaps"


def test_an_added_pmtiles_extract_is_served(tmp_path: Path, folder: Path, database_url: str) -> None:
    done = _add([str(pmtiles_file(tmp_path / "homs.pmtiles")), "--name", "homs-osm"], folder)
    assert done.returncode == 0, done.stderr
    assert "added basemap 'homs-osm'" in done.stdout and "roads, places" in done.stdout
    again = _add([str(tmp_path / "homs.pmtiles"), "--name", "homs-osm"], folder)
    assert again.returncode == 2 and "--replace" in again.stderr
    settings = make_settings(database_url)
    settings.basemap = BasemapSettings(directory=str(folder))
    with TestClient(create_app(settings)) as client:
        listed = {b["name"]: b for b in client.get("/basemaps").json()["basemaps"]}
        assert set(listed) == {"region", "homs-osm"}
        assert listed["homs-osm"]["vector_layers"] == ["roads", "places"]
        assert not listed["homs-osm"]["default"]
        tj = client.get("/basemaps/homs-osm/tilejson.json").json()
        assert tj["minzoom"] == 13 and tj["maxzoom"] == 14
        layers = _layers(client, 14, 9863, 6504, "homs-osm")
        assert layers["roads"]["features"][0]["properties"]["name"] == "Shari' al-Hamra"
        assert client.get("/basemaps/homs-osm/tiles/14/0/0.mvt").status_code == 204


def test_not_a_pmtiles_file_or_raster_tiles_exit_2_saying_why(tmp_path: Path, folder: Path) -> None:
    text = tmp_path / "notes.pmtiles"
    text.write_text("hello")
    done = _add([str(text), "--name", "notes"], folder)
    assert done.returncode == 2 and "not a PMTiles file" in done.stderr and "Traceback" not in done.stderr
    png = pmtiles_file(tmp_path / "relief.pmtiles", TileType.PNG)
    done = _add([str(png), "--name", "relief"], folder)
    assert done.returncode == 2 and "png tiles" in done.stderr and "vector tiles (MVT)" in done.stderr
    done = _add([str(tmp_path / "missing.pmtiles"), "--name", "x"], folder)
    assert done.returncode == 2 and "no such file" in done.stderr
    good = pmtiles_file(tmp_path / "ok.pmtiles")
    for bad in ("Bad Name", "region"):
        done = _add([str(good), "--name", bad], folder)
        assert done.returncode == 2 and "--name" in done.stderr
    assert not folder.exists() or not list(folder.iterdir())
