"""Raster extras: TileJSON, value at a point, statistics in a polygon, rescaling and colormaps,
rasters from settings and from the ETL's `rasters` catalogue. The rasters are tiny GeoTIFFs built
in tmp_path with known values."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from sqlalchemy import Engine, text

from server.main import create_app
from tests.conftest import make_settings
from tests.server.rasters import NODATA, population_grid


@pytest.fixture(scope="module")
def raster_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return population_grid(tmp_path_factory.mktemp("rasters") / "pop.tif")


@pytest.fixture(scope="module")
def rclient(database_url: str, raster_path: Path) -> Iterator[TestClient]:
    settings = make_settings(database_url)
    settings.raster.sources = {**settings.raster.sources, "pop": str(raster_path)}
    with TestClient(create_app(settings)) as client:
        yield client


def _square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1],
                                                [lon0, lat1], [lon0, lat0]]]}


def _png(content: bytes) -> np.ndarray:
    with MemoryFile(content) as mem, mem.open() as img:
        return img.read()


def test_tilejson(rclient: TestClient) -> None:
    tj = rclient.get("/rasters/pop/tilejson.json", params={"colormap_name": "viridis"}).json()
    assert tj["tilejson"] == "3.0.0" and tj["name"] == "pop"
    assert tj["tiles"][0].endswith("/rasters/pop/tiles/{z}/{x}/{y}.png?colormap_name=viridis")
    assert tj["bounds"] == pytest.approx([36.0, 34.0, 37.0, 35.0], abs=1e-6)
    assert 0 <= tj["minzoom"] <= tj["maxzoom"] <= 24
    assert rclient.get("/rasters/nope/tilejson.json").status_code == 404
    listed = rclient.get("/rasters").json()
    assert "pop" in [r["name"] for r in listed["rasters"]] and "viridis" in listed["colormaps"]


def test_value_at_a_point(rclient: TestClient) -> None:
    body = rclient.get("/rasters/pop/point", params={"lon": 36.555, "lat": 34.5}).json()
    assert body["values"] == [56.0]  # column 55 -> 56
    nodata = rclient.get("/rasters/pop/point", params={"lon": 36.005, "lat": 34.995}).json()
    assert nodata["values"] == [None]
    outside = rclient.get("/rasters/pop/point", params={"lon": 40.0, "lat": 34.5})
    assert outside.status_code == 404 and outside.json()["description"]
    assert rclient.get("/rasters/pop/point", params={"lon": 36.5, "lat": 100}).status_code == 400
    assert rclient.get("/rasters/pop/point", params={"lon": 36.5}).status_code == 400


def test_statistics_in_a_polygon(rclient: TestClient) -> None:
    # columns 20..29, rows 50..59: values 21..30, ten rows
    body = rclient.post("/rasters/pop/statistics", json=_square(36.2, 34.4, 36.3, 34.5)).json()
    band = body["bands"][0]
    assert band["valid_pixels"] == 100 and band["sum"] == pytest.approx(10 * sum(range(21, 31)))
    assert band["min"] == 21 and band["max"] == 30 and band["mean"] == pytest.approx(25.5)
    # the nodata corner is not counted
    corner = rclient.post("/rasters/pop/statistics",
                          json={"type": "Feature", "properties": {},
                                "geometry": _square(36.0, 34.8, 36.2, 35.0)}).json()["bands"][0]
    assert corner["valid_pixels"] == 400 - 100 and corner["masked_pixels"] >= 100
    assert corner["sum"] == pytest.approx(10 * sum(range(11, 21)) + 10 * sum(range(1, 21)))
    bad = rclient.post("/rasters/pop/statistics", json={"type": "Point", "coordinates": [36, 34]})
    assert bad.status_code == 400 and bad.json()["description"]
    far = rclient.post("/rasters/pop/statistics", json=_square(40, 30, 41, 31))
    assert far.status_code == 404


def test_tiles_rescale_and_colormap(rclient: TestClient) -> None:
    url = "/rasters/pop/tiles/8/153/102.png"  # covers lon 35.16..36.56, lat 34.3..35.5
    plain = rclient.get(url)
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/png"
    grey = _png(plain.content)
    coloured = _png(rclient.get(url, params={"colormap_name": "viridis"}).content)
    assert grey.shape[0] == 2 and coloured.shape[0] == 4  # grey + alpha; RGBA
    low = _png(rclient.get(url, params={"rescale": "0,50"}).content)
    high = _png(rclient.get(url, params={"rescale": "0,1000"}).content)
    assert low[0].max() == 255 and high[0].max() < 40  # 100 of 1000 -> about 25
    assert rclient.get(url, params={"colormap_name": "nope"}).status_code == 400
    assert rclient.get(url, params={"rescale": "5,1"}).status_code == 400
    assert rclient.get(url, params={"rescale": "a,b"}).status_code == 400
    assert rclient.get("/rasters/pop/tiles/8/0/0.png").status_code == 204
    assert rclient.get("/rasters/pop/tiles/8/153/102.gif").status_code == 400


def test_catalogue_rasters_are_served(rclient: TestClient, engine: Engine,
                                      tmp_path: Path) -> None:
    path = population_grid(tmp_path / "catalogued.tif")
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('rasters')")).scalar() is None:
            pytest.skip("no rasters catalogue table in this schema")
        conn.execute(text("""
            INSERT INTO rasters (name, kind, path, crs, bounds, width, height, band_count, dtype,
                                 resolution_x, resolution_y, nodata)
            VALUES ('test_catalogued_pop', 'population', :path, 'EPSG:4326',
                    ST_MakeEnvelope(36, 34, 37, 35, 4326), 100, 100, 1, 'float32', 0.01, 0.01,
                    -1)"""), {"path": str(path)})
    try:
        names = [r["name"] for r in rclient.get("/rasters").json()["rasters"]]
        assert "test_catalogued_pop" in names
        tile = rclient.get("/rasters/test_catalogued_pop/tiles/8/153/102.png")
        assert tile.status_code == 200 and _png(tile.content).shape[0] == 4  # default colormap
        value = rclient.get("/rasters/test_catalogued_pop/point", params={"lon": 36.555,
                                                                        "lat": 34.5})
        assert value.json()["values"] == [56.0]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM rasters WHERE name = 'test_catalogued_pop'"))


def test_tiles_rendered_once_then_from_memory_and_revalidated(rclient: TestClient,
                                                              raster_path: Path) -> None:
    path = "/rasters/pop/tiles/8/153/101.png"
    first = rclient.get(path, params={"colormap_name": "ylorrd"})
    assert first.status_code == 200 and first.headers["etag"].startswith('"')
    rendered = rclient.app.state.raster_tiles  # type: ignore[attr-defined]
    hits = rendered.hits
    again = rclient.get(path, params={"colormap_name": "ylorrd"})
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert rendered.hits == hits + 1
    kept = rclient.get(path, params={"colormap_name": "ylorrd"},
                       headers={"If-None-Match": first.headers["etag"]})
    assert kept.status_code == 304 and kept.headers["etag"] == first.headers["etag"]
    other = rclient.get(path, params={"colormap_name": "viridis"})
    assert other.headers["etag"] != first.headers["etag"]  # the style is part of the tag
    stat = raster_path.stat()
    os.utime(raster_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    edited = rclient.get(path, params={"colormap_name": "ylorrd"},
                         headers={"If-None-Match": first.headers["etag"]})
    assert edited.status_code == 200  # an edited file is rendered again


def test_statistics_over_the_world_read_only_the_rasters_pixels(rclient: TestClient) -> None:
    """A polygon far larger than the raster is clipped to the raster's extent first: every
    native pixel counted, nothing resampled (a world-sized window was read resampled)."""
    world = rclient.post("/rasters/pop/statistics", json=_square(-180, -89, 180, 89))
    assert world.status_code == 200, world.text
    body = world.json()
    band = body["bands"][0]
    assert body["resampled"] is False
    assert band["valid_pixels"] == 100 * 100 - 100
    assert band["sum"] == pytest.approx(100 * sum(range(1, 101)) - 10 * sum(range(1, 11)))
    assert band["min"] == 1 and band["max"] == 100
    # a ring around the raster that covers none of it
    ring = {"type": "Polygon", "coordinates": [
        [[30, 30], [40, 30], [40, 40], [30, 40], [30, 30]],
        [[35, 33], [38, 33], [38, 36], [35, 36], [35, 33]]]}
    assert rclient.post("/rasters/pop/statistics", json=ring).status_code == 404


def test_statistics_are_rio_tilers_and_a_large_polygon_is_read_resampled(
        tmp_path: Path) -> None:
    """The band statistics (computed with linear-time quantiles) equal rio-tiler's; a polygon
    over more than 4,000,000 native pixels is read at a coarser resolution, so the work of one
    answer is bounded."""
    from rio_tiler.io import Reader

    from server.raster import query

    rng = np.random.default_rng(7)
    data = rng.normal(size=(2100, 2100)).astype("float32")
    data[:50, :70] = NODATA
    path = tmp_path / "noise.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2100, height=2100, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=NODATA,
                       transform=from_origin(36.0, 35.0, 0.001, 0.001)) as dst:
        dst.write(data, 1)
    small = _square(36.1, 34.1, 36.6, 34.6)
    mine = query.statistics(path, small)
    assert mine["resampled"] is False
    with Reader(str(path)) as src:
        ref = src.feature({"type": "Feature", "properties": {}, "geometry": small}
                          ).statistics(percentiles=[2, 98])["b1"]
    band = mine["bands"][0]
    for name in ("min", "max", "mean", "std", "median", "percentile_2", "percentile_98", "sum",
                 "valid_pixels", "masked_pixels"):
        assert band[name] == pytest.approx(getattr(ref, name), rel=1e-9), name
    whole = query.statistics(path, _square(30, 30, 40, 40))
    assert whole["resampled"] is True  # 2100 x 2100 native pixels once clipped
