"""The offline basemap in the viewer (headless Chromium, real API): country names, neighbouring
countries and governorate capitals labelled by the map itself at the first view, in the chosen
language (Arabic shaped right to left by the vendored plugin), no request leaving the host; and
the settlement search by Arabic, Russian and alternate names."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.web.pages import Page

pytestmark = pytest.mark.browser

def _labels(page: Page, layers: list[str]) -> set[str]:
    """The label texts MapLibre placed (symbols it drew, after collisions) in those layers."""
    return set(page.page.evaluate(
        """(layers) => window.truceMap.queryRenderedFeatures({layers}).map((f) => {
             const lang = document.documentElement.lang;
             return f.properties[`name_${lang}`] ?? f.properties.name_en; })""", layers))


def _open(browser: Any, live_server: str, path: str) -> Page:
    page = Page(browser, live_server, path)
    page.settle()
    page.page.wait_for_timeout(500)
    return page


def test_the_first_view_is_labelled_by_the_map_in_english(browser: Any, live_server: str) -> None:
    page = _open(browser, live_server, "?lang=en")
    try:
        assert round(page.page.evaluate("() => window.truceMap.getZoom()")) == 6
        countries = _labels(page, ["basemap-country-labels"])
        assert {"Syria", "Lebanon", "Iraq"} <= countries, countries
        places = _labels(page, ["basemap-places"])
        assert {"Damascus", "Aleppo", "Homs", "Latakia", "Deir ez-Zor"} <= places, places
        # the neighbouring countries' cities too
        assert {"Beirut", "Mosul", "Gaziantep"} <= places, places
        page.page.evaluate("() => window.truceMap.jumpTo({zoom: 5.5, center: [39, 33.5]})")
        page.settle()
        assert {"Amman", "Baghdad", "Beirut", "Damascus"} <= _labels(page, ["basemap-places"])
        # drawn from vector tiles with glyphs from this host; no HTML name markers any more
        assert page.page.locator(".settlement-label").count() == 0
        assert any("/basemaps/region/tiles/" in u for u in page.requests)
        assert any("/basemaps/fonts/DejaVu%20Sans" in u for u in page.requests)
        hosts = {urlparse(u).hostname for u in page.requests if u.startswith("http")}
        assert hosts == {"127.0.0.1"}, hosts
        assert not page.failed and not page.errors, (page.failed, page.errors)
    finally:
        page.page.close()


def test_arabic_labels_are_shaped_right_to_left(browser: Any, live_server: str) -> None:
    page = _open(browser, live_server, "?lang=ar")
    try:
        assert page.page.evaluate("() => document.documentElement.dir") == "rtl"
        places = _labels(page, ["basemap-places"])
        assert {"دمشق", "حلب", "حمص"} <= places, places
        assert {"بيروت", "الموصل"} <= places, places
        assert "سوريا" in _labels(page, ["basemap-country-labels"])
        # the right-to-left plugin came from this host and was loaded
        assert page.page.evaluate("() => maplibregl.getRTLTextPluginStatus()") == "loaded"
        assert any("/static/vendor/mapbox-gl-rtl-text/" in u for u in page.requests)
        assert any("/basemaps/fonts/DejaVu%20Sans/65024-65279.pbf" in u for u in page.requests)
        assert not page.failed and not page.errors, (page.failed, page.errors)
    finally:
        page.page.close()


def test_russian_labels(browser: Any, live_server: str) -> None:
    page = _open(browser, live_server, "?lang=ru")
    try:
        places = _labels(page, ["basemap-places"])
        assert {"Дамаск", "Алеппо", "Хомс"} <= places, places
        assert {"Бейрут", "Мосул"} <= places, places
        assert "Ливан" in _labels(page, ["basemap-country-labels"])
        assert not page.errors, page.errors
    finally:
        page.page.close()


@pytest.mark.parametrize(("query", "expected"), [
    ("دمشق", "Damascus"), ("Hims", "Homs"), ("Дамаск", "Damascus"), ("Tadmur", "Tadmur"),
    ("Palmyra", "Tadmur"), ("Lattakia", "Latakia"), ("Deir Ezzor", "Deir ez-Zor"), ("ادلب", "Idlib"),
])
def test_search_finds_places_by_any_of_their_names(browser: Any, live_server: str, query: str,
                                                  expected: str) -> None:
    page = Page(browser, live_server, "?lang=en")
    try:
        page.page.fill("#search-input", query)
        page.page.wait_for_selector("#search-results li button", timeout=15_000)
        first = page.page.inner_text("#search-results li:first-child button")
        assert expected in first, (query, first)
    finally:
        page.page.close()
