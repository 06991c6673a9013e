"""The viewer in English, Arabic and Russian (headless Chromium, real API): the language switch,
right-to-left layout, one vocabulary in the legend, filters and details, and two small faults (a
shared link's count, a second spatial check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from sqlalchemy import Engine, text

from tests.web.pages import Page

pytestmark = pytest.mark.browser

I18N = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
CATALOGUES = {lang: json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
              for lang in ("en", "ar", "ru")}


def _open(browser: Any, live_server: str, path: str = "", **kwargs: Any) -> Page:
    page = Page(browser, live_server, path, **kwargs)
    page.settle()
    return page


def test_arabic_flips_the_page_right_to_left_and_is_remembered(browser: Any,
                                                               live_server: str) -> None:
    ar = CATALOGUES["ar"]
    page = _open(browser, live_server, "?lang=ar")
    try:
        p = page.page
        assert p.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") \
            == ["ar", "rtl"]
        assert p.inner_text("#filters-title") == ar["filters.title"]
        assert p.inner_text("#layers-title") == ar["layers.title"]
        assert p.inner_text("label[for='layer-incidents']") == ar["layer.incidents"]
        assert p.inner_text("#time-reset") == ar["time.whole"]
        assert p.get_attribute("#search-input", "placeholder") == ar["search.placeholder"]
        assert p.inner_text("#draw-point") == ar["draw.point"]
        assert p.evaluate("() => document.title") == ar["app.title"]
        # mirrored: the layer panel on the right of the map, its text aligned to the right
        panel = p.locator("#layer-panel").bounding_box()
        map_box = p.locator("#map").bounding_box()
        assert panel and map_box and panel["x"] > map_box["x"] + map_box["width"] - 1
        assert p.evaluate("() => getComputedStyle(document.getElementById('filters-title'))"
                          ".direction") == "rtl"
        assert p.input_value("#lang-select") == "ar"
        # remembered: the same browser opens the viewer in Arabic without ?lang
        p.goto(f"{live_server}/")
        p.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert p.evaluate("() => document.documentElement.dir") == "rtl"
        assert p.inner_text("#filters-title") == ar["filters.title"]
        assert not page.errors, page.errors
    finally:
        page.page.close()


def test_russian_shows_russian_and_the_switch_changes_the_language(browser: Any,
                                                                   live_server: str) -> None:
    ru, en = CATALOGUES["ru"], CATALOGUES["en"]
    page = _open(browser, live_server, "?lang=ru#map=8.00/34.7300/36.7200")
    try:
        p = page.page
        assert p.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") \
            == ["ru", "ltr"]
        assert p.inner_text("#filters-title") == ru["filters.title"]
        assert p.inner_text("#export-title") == ru["export.title"]
        assert p.inner_text("label[for='filter-actor']") == ru["filters.actor"]
        p.wait_for_function("() => document.querySelector('#filter-count').textContent !== ''")
        assert ru["filters.count"].split("{n}")[0] in p.inner_text("#filter-count")
        # the switch reloads in English, the map's place kept
        with p.expect_navigation():
            p.select_option("#lang-select", "en")
        p.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert "lang=en" in p.url and "map=8.00/34.7300/36.7200" in p.url
        assert p.inner_text("#filters-title") == en["filters.title"]
        assert p.evaluate("() => document.documentElement.lang") == "en"
        assert not page.errors, page.errors
    finally:
        page.page.close()


@pytest.mark.parametrize("lang", ["en", "ar", "ru"])
def test_an_event_type_reads_the_same_in_legend_filter_and_details(
        browser: Any, live_server: str, lang: str) -> None:
    page = _open(browser, live_server, f"?lang={lang}")
    try:
        page.click_an_incident_near_homs()
        p = page.page
        feature_id = p.evaluate("() => document.body.dataset.detail").split("/")[1]
        record = p.request.get(f"{live_server}/collections/incidents/items/{feature_id}?f=json")
        code = record.json()["properties"]["event_type"]
        label = CATALOGUES[lang][f"vocab.event_type.{code}"]
        rows = dict(p.evaluate("""() => [...document.querySelectorAll('#details > table tr')]
            .map(tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])"""))
        assert rows[CATALOGUES[lang]["details.type"]] == label
        assert " › " in rows[CATALOGUES[lang]["details.admin"]]  # governorate › district › ...
        assert label in p.inner_text("#details-title")
        legend = p.locator("#layer-item-incidents .legend li").all_inner_texts()
        assert label in [x.strip() for x in legend]
        option = p.evaluate("(code) => document.querySelector("
                            "`#filter-event-type option[value='${code}']`).textContent", code)
        assert option == label
        assert code not in p.inner_text("#details > table")  # no raw code in what is shown
        assert not page.errors, page.errors
    finally:
        page.page.close()


def test_a_shared_links_count_is_the_count_of_its_time_range(browser: Any,
                                                            live_server: str) -> None:
    page = _open(browser, live_server, "#map=7.00/35.0000/38.5000&t=2016-03-01/2016-03-31")
    try:
        p = page.page
        p.wait_for_function("() => /\\d/.test(document.querySelector('#filter-count').textContent)")
        shown = int("".join(c for c in p.inner_text("#filter-count").split(" ")[0] if c.isdigit()))
        # the API's count for the same view and range, from the series the page asked for
        series_url = [u for u in page.requests if "/analysis/timeseries" in u][-1]
        query = {k: v[0] for k, v in parse_qs(urlparse(series_url).query).items()}
        whole = sum(r["incidents"] for r in p.request.get(
            f"{live_server}/analysis/timeseries?{urlencode(query)}").json()["series"])
        query["datetime"] = "2016-03-01T00:00:00Z/2016-03-31T23:59:59Z"
        march = sum(r["incidents"] for r in p.request.get(
            f"{live_server}/analysis/timeseries?{urlencode(query)}").json()["series"])
        assert 0 < march < whole
        assert shown == march
    finally:
        page.page.close()


@pytest.fixture(scope="module")
def inside(engine: Engine, live_server: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT id, ST_PointOnSurface(geom) p"
            " FROM agreement_areas WHERE name = 'Ar-Rastan sub-district') s")).one()
    return {"id": row.id, "lon": row.lon, "lat": row.lat}


def test_a_second_check_replaces_the_first_result(browser: Any, live_server: str,
                                                  inside: dict[str, Any]) -> None:
    page = _open(browser, live_server, f"#map=10.00/{inside['lat']:.4f}/{inside['lon']:.4f}")
    try:
        p = page.page
        p.click("#draw-point")
        page.click_lonlat(inside["lon"], inside["lat"])
        p.wait_for_selector("#analysis[data-loaded='1']", timeout=15_000)
        p.click("#result-areas button.link")  # the area's report opens in the details
        p.wait_for_selector("#details:not([hidden])")
        # a second check, elsewhere: its result takes the side column, nothing left under it
        p.click("#draw-point")
        page.click_lonlat(inside["lon"] + 0.05, inside["lat"] + 0.05)
        p.wait_for_function("() => document.querySelectorAll("
                            "'body[data-detail]').length === 0", timeout=15_000)
        p.wait_for_selector("#analysis[data-loaded='1']", timeout=15_000)
        assert p.is_hidden("#details")
        assert p.locator("#analysis #result-areas").count() == 1
        side = p.locator(".side > aside:visible").count()
        assert side == 1
        assert not page.errors, page.errors
    finally:
        page.page.close()
