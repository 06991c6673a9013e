"""A basemap an operator added (`truce basemap add`, here a small PMTiles file of streets around
Homs built by the test) is offered in the viewer, drawn when chosen, and remembered; the shipped
one stays the default."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from server.main import create_app
from server.serving import uvicorn_options
from server.settings import BasemapSettings
from tests.conftest import make_settings, serving
from tests.server.pmtiles_files import TRUCE, pmtiles_file
from tests.web.pages import Page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_with_extract(database_url: str, sample_loaded: list[object],
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("basemaps")
    folder = tmp / "basemaps"
    extract = pmtiles_file(tmp / "homs.pmtiles")
    done = subprocess.run([*TRUCE, "basemap", "add", str(extract), "--name", "homs-osm"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TRUCE_BASEMAP_DIRECTORY": str(folder)})
    assert done.returncode == 0, done.stderr
    settings = make_settings(database_url)
    settings.basemap = BasemapSettings(directory=str(folder))
    with serving(create_app(settings), **uvicorn_options(settings.api)) as base:
        yield base


def test_an_added_basemap_is_chosen_and_remembered(browser: Any, served_with_extract: str) -> None:
    page = Page(browser, served_with_extract, "?lang=en#map=14.00/34.7300/36.7200")
    try:
        p = page.page
        p.wait_for_selector("#basemap-select option[value='homs-osm']", state="attached", timeout=15_000)
        assert p.input_value("#basemap-select") == "region"  # the shipped one by default
        assert p.is_visible("#basemap-select")
        p.select_option("#basemap-select", "homs-osm")
        page.settle()
        p.wait_for_function("""() => window.truceMap.queryRenderedFeatures(
            {layers: ['basemap-roads-line']}).length > 0""", timeout=15_000)
        assert not p.evaluate("() => window.truceMap.getLayer('basemap-country-labels')")
        assert any("/basemaps/homs-osm/tiles/14/" in u for u in page.requests)
        # remembered: the same browser opens on the chosen basemap
        p.reload()
        p.wait_for_selector("body[data-ready='1']", timeout=30_000)
        p.wait_for_function("() => !!window.truceMap.getLayer('basemap-roads-line')", timeout=15_000)
        assert p.input_value("#basemap-select") == "homs-osm"
        # and back to the shipped one
        p.select_option("#basemap-select", "region")
        p.wait_for_function("() => !!window.truceMap.getLayer('basemap-places')", timeout=15_000)
        assert not page.errors, page.errors
    finally:
        page.page.close()
