"""Catalogue rasters in the viewer: a population raster in the catalogue (`rasters`) becomes an
overlay with a panel entry (hidden until the catalogue has one), drawn from its own tiles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from sqlalchemy import Engine, text

from tests.web.pages import Page

pytestmark = pytest.mark.browser

NAME = "viewer_test_population"


@pytest.fixture
def population(engine: Engine, sample_loaded: list[object], tmp_path: Path) -> Iterator[str]:
    """A small population raster over Homs in the catalogue; removed afterwards."""
    path = tmp_path / "population.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1,
                       transform=from_origin(36.2, 35.2, 0.01, 0.01)) as dst:
        dst.write(np.arange(10000, dtype="float32").reshape(1, 100, 100))
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO rasters (name, kind, path, crs, bounds, width, height, band_count, dtype,
                                 resolution_x, resolution_y, nodata)
            VALUES (:name, 'population', :path, 'EPSG:4326',
                    ST_MakeEnvelope(36.2, 34.2, 37.2, 35.2, 4326), 100, 100, 1, 'float32',
                    0.01, 0.01, -1)"""), {"name": NAME, "path": str(path)})
    yield NAME
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rasters WHERE name = :name"), {"name": NAME})


def test_a_catalogued_population_raster_is_an_overlay(
        browser: Any, live_server: str, population: str, artifacts: Path) -> None:
    page = Page(browser, live_server, "#map=8.00/34.7000/36.7000")
    try:
        page.page.wait_for_selector("#layer-item-population:not([hidden])", timeout=15_000)
        assert not page.page.is_checked("#layer-population")  # off until asked for
        assert not any(f"/rasters/{population}/tiles/" in u for u in page.requests)
        page.page.check("#layer-population")
        page.settle()
        assert any(f"/rasters/{population}/tiles/" in u for u in page.requests)
        assert "population" in page.page.evaluate("() => location.hash").split("layers=")[1]
        assert not page.errors, page.errors
        page.page.screenshot(path=str(artifacts / "viewer_population.png"))
    finally:
        page.page.close()


def test_without_a_catalogued_population_raster_there_is_no_entry(
        browser: Any, live_server: str) -> None:
    page = Page(browser, live_server)
    try:
        page.settle()
        page.page.wait_for_function("() => performance.getEntriesByType('resource')"
                                    ".some((e) => e.name.endsWith('/rasters'))")
        assert page.page.locator("#layer-item-population").is_hidden()
        assert not page.errors, page.errors
    finally:
        page.page.close()
