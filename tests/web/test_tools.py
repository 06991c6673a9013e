"""The viewer's analysis tools in headless Chromium against the real API: the spatial check
(point, drawn area, keyboard), filters, the per-day histogram, the area report, export, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import Engine, text

from tests.web.pages import Page

pytestmark = pytest.mark.browser

AREA = "Ar-Rastan sub-district"


@pytest.fixture(scope="module")
def inside(engine: Engine, live_server: str) -> dict[str, Any]:
    """A point surely inside the Ar-Rastan agreement area, from PostGIS."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT id, ST_PointOnSurface(geom) p"
            " FROM agreement_areas WHERE name = :name) s"), {"name": AREA}).one()
    return {"id": row.id, "lon": row.lon, "lat": row.lat}


def _open(browser: Any, live_server: str, hash_: str = "", api_key: str | None = None) -> Page:
    page = Page(browser, live_server, hash_, api_key=api_key)
    page.settle()
    return page


@pytest.fixture()
def near_area(browser: Any, live_server: str, inside: dict[str, Any],
              analyst_key: str) -> Iterator[Page]:
    # the check lists nearby incidents of every status: the analyst's key, as typed in the viewer
    opened = _open(browser, live_server, f"#map=10.00/{inside['lat']:.4f}/{inside['lon']:.4f}",
                   api_key=analyst_key)
    yield opened
    opened.page.close()


def _checks(page: Page) -> list[str]:
    return [u for u in page.requests if u.endswith("/analysis/deconfliction")]


def test_check_here_finds_the_agreement_area_under_a_point(
        near_area: Page, inside: dict[str, Any], artifacts: Path) -> None:
    page = near_area.page
    page.click("#draw-point")
    assert page.get_attribute("#draw-point", "aria-pressed") == "true"
    near_area.click_lonlat(inside["lon"], inside["lat"])
    page.wait_for_selector("#analysis[data-loaded='1']", timeout=15_000)
    areas = page.inner_text("#result-areas")
    assert AREA in areas and "inside" in areas and "Violated" in areas  # the vocabulary label
    assert "Ar Rastan" in page.inner_text("#result-settlements")  # the town in the area
    assert page.locator("#result-incidents tbody tr").count() > 0
    assert len(_checks(near_area)) == 1
    # the area is highlighted on the map
    highlighted = page.evaluate("""() => {
        const map = window.truceMap;
        return map.getLayoutProperty('agreement_areas-highlight', 'visibility') === 'visible'
            && JSON.stringify(map.getFilter('agreement_areas-highlight'));
    }""")
    assert highlighted and str(inside["id"]) in highlighted
    near_area.settle()
    page.screenshot(path=str(artifacts / "viewer_check_here.png"))
    assert not near_area.errors, near_area.errors
    # the area's name opens its report
    page.click("#result-areas button.link")
    page.wait_for_selector("#details[data-report='1']", timeout=15_000)
    assert AREA in page.inner_text("#details h2")


def test_drawing_an_area_finds_the_agreement_area_and_escape_cancels(
        near_area: Page, inside: dict[str, Any]) -> None:
    page = near_area.page
    lon, lat, d = inside["lon"], inside["lat"], 0.01
    page.click("#draw-polygon")
    for x, y in ((lon - d, lat - d), (lon + d, lat - d), (lon, lat + d)):
        near_area.click_lonlat(x, y)
    assert not _checks(near_area), "no request before the shape is finished"
    page.keyboard.press("Enter")
    page.wait_for_selector("#analysis[data-loaded='1']", timeout=15_000)
    assert page.inner_text("#analysis h2") == "Check of an area"
    assert AREA in page.inner_text("#result-areas")
    assert len(_checks(near_area)) == 1
    # a line started and cancelled with Escape asks nothing
    page.click("#draw-line")
    near_area.click_lonlat(lon - d, lat)
    page.keyboard.press("Escape")
    assert page.get_attribute("#draw-line", "aria-pressed") == "false"
    near_area.click_lonlat(lon + d, lat)
    page.wait_for_timeout(500)
    assert len(_checks(near_area)) == 1
    # a line finished with a double-click is checked
    page.click("#draw-line")
    near_area.click_lonlat(lon - d, lat)
    near_area.click_lonlat(lon + d, lat, double=True)
    page.wait_for_function("() => document.querySelector('#analysis h2').textContent.includes('line')"
                           " && document.querySelector('#analysis').dataset.loaded === '1'",
                           timeout=15_000)
    assert AREA in page.inner_text("#result-areas")
    assert len(_checks(near_area)) == 2
    assert not near_area.errors, near_area.errors


def test_check_here_with_the_keyboard(near_area: Page, inside: dict[str, Any]) -> None:
    page = near_area.page
    page.evaluate("([lon, lat]) => window.truceMap.jumpTo({center: [lon, lat]})",
                  [inside["lon"], inside["lat"]])
    page.focus("#draw-point")
    page.keyboard.press("Enter")  # activates the tool and moves focus to the map
    assert page.evaluate("() => document.activeElement === window.truceMap.getCanvas()")
    page.keyboard.press(" ")  # checks the point under the cross-hair (the map's centre)
    page.wait_for_selector("#analysis[data-loaded='1']", timeout=15_000)
    assert AREA in page.inner_text("#result-areas")


def test_filters_reach_the_tiles_the_counts_and_the_link(
        browser: Any, live_server: str, artifacts: Path) -> None:
    page = _open(browser, live_server, "#map=7.00/35.0000/37.5000")
    try:
        before = page.tile_requests("incidents")[-1]
        assert "event_type" not in before and "filter=" not in before
        page.page.select_option("#filter-event-type", "one_sided_violence")
        page.page.fill("#filter-actor", "IS")
        page.page.fill("#filter-fat-min", "1")
        page.page.dispatch_event("#filter-fat-min", "change")
        page.page.wait_for_function(
            "() => location.hash.includes('fatalities=1..') && location.hash.includes('actor=IS')")
        page.settle()
        tile = page.tile_requests("incidents")[-1]
        query = parse_qs(urlparse(tile).query)
        assert query["incidents.event_type"] == ["one_sided_violence"]
        assert "casei(actor1) LIKE casei('%IS%')" in query["incidents.filter"][0]
        assert "fatalities >= 1" in query["incidents.filter"][0]
        # the histogram (and its count) asks for every filter too
        series = parse_qs(urlparse(
            [u for u in page.requests if "/analysis/timeseries" in u][-1]).query)
        assert series["event_type"] == ["one_sided_violence"]
        assert "casei(actor1) LIKE casei('%IS%')" in series["filter"][0]
        assert "fatalities >= 1" in series["filter"][0]
        page.page.wait_for_function(
            "() => document.querySelector('#filter-count').textContent.includes('incidents in view')")
        # the export follows the filters
        assert "event_type=one_sided_violence" in page.page.get_attribute("#export-csv", "href")
        page.page.screenshot(path=str(artifacts / "viewer_filters.png"))
        assert not page.errors, page.errors
        shared = page.page.evaluate("() => location.hash")
    finally:
        page.page.close()
    reopened = _open(browser, live_server, shared)
    try:
        assert reopened.page.input_value("#filter-event-type") == "one_sided_violence"
        assert reopened.page.input_value("#filter-actor") == "IS"
        assert reopened.page.input_value("#filter-fat-min") == "1"
        assert all("event_type=one_sided_violence" in u
                   for u in reopened.tile_requests("incidents"))
        reopened.page.click("#filter-clear")
        reopened.page.wait_for_function("() => !location.hash.includes('event_type=')")
        reopened.settle()
        assert "event_type" not in reopened.tile_requests("incidents")[-1]
    finally:
        reopened.page.close()


def test_histogram_shows_incidents_per_day_and_the_selected_range(
        browser: Any, live_server: str) -> None:
    page = _open(browser, live_server)
    try:
        page.page.wait_for_selector("#histogram[data-bars]")
        bars = int(page.page.get_attribute("#histogram", "data-bars") or 0)
        assert bars > 100  # the sample has incidents on most days of 2016
        assert page.page.locator("#histogram rect.out").count() == 0
        page.page.fill("#time-start", "2016-03-01")
        page.page.dispatch_event("#time-start", "change")
        page.page.fill("#time-end", "2016-03-31")
        page.page.dispatch_event("#time-end", "change")
        inside = page.page.locator("#histogram rect.in").count()
        assert 0 < inside <= 31
        assert page.page.locator("#histogram rect.out").count() == bars - inside
        # the bars are the API's daily counts
        series = page.page.evaluate("""async () => (await (await fetch(
            '/analysis/timeseries?step=day&datetime=2016-03-01T00:00:00Z/2016-03-31T23:59:59Z'
        )).json()).series.filter(r => r.incidents > 0).length""")
        assert series >= inside
    finally:
        page.page.close()


def test_clicking_an_area_opens_its_report_and_the_sitrep_map(
        browser: Any, live_server: str, inside: dict[str, Any], artifacts: Path) -> None:
    page = _open(browser, live_server,
                 f"#map=10.00/{inside['lat']:.4f}/{inside['lon']:.4f}"
                 "&t=2016-02-27/2016-06-30&layers=agreement_areas")
    try:
        page.click_lonlat(inside["lon"], inside["lat"])
        page.page.wait_for_selector("#details[data-report='1']", timeout=15_000)
        text_ = page.page.inner_text("#details")
        assert AREA in text_
        for heading in ("Compliance", "Incidents inside", "Aid deliveries", "Status history"):
            assert heading in text_
        assert "as of 2016-06-30" in text_
        href = page.page.get_attribute("#sitrep-link", "href")
        assert href == f"/reports/areas/{inside['id']}/map.html?start=2016-02-27&end=2016-06-30"
        reply = page.page.request.get(f"{live_server}{href}")
        assert reply.ok and reply.headers["content-type"].startswith("text/html")
        assert AREA in reply.text()
        page.page.screenshot(path=str(artifacts / "viewer_area_report.png"))
        assert not page.errors, page.errors
    finally:
        page.page.close()


def test_export_links_download_the_view(browser: Any, live_server: str) -> None:
    page = _open(browser, live_server, "#map=9.00/34.7300/36.7200&t=2016-03-01/2016-03-31")
    try:
        csv_href = page.page.get_attribute("#export-csv", "href")
        query = parse_qs(urlparse(csv_href).query)
        assert query["f"] == ["csv"]
        assert query["datetime"] == ["2016-03-01T00:00:00Z/2016-03-31T23:59:59Z"]
        minx, miny, maxx, maxy = map(float, query["bbox"][0].split(","))
        assert minx < 36.72 < maxx and miny < 34.73 < maxy
        reply = page.page.request.get(f"{live_server}{csv_href}")
        assert reply.ok and reply.text().splitlines()[0].startswith("id,")
        geojson = page.page.request.get(
            f"{live_server}{page.page.get_attribute('#export-geojson', 'href')}")
        body = json.loads(geojson.text())
        assert body["type"] == "FeatureCollection" and body["features"]
        assert all(f["properties"]["occurred_at"].startswith("2016-03") for f in body["features"])
    finally:
        page.page.close()


def test_fits_1280x720_and_a_failed_check_says_so(
        near_area: Page, inside: dict[str, Any], artifacts: Path) -> None:
    page = near_area.page
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 720
    for selector in ("#time-play", "#time-end", "#draw-point", "#draw-distance", "#histogram"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720, selector
    page.route("**/analysis/deconfliction", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body=json.dumps({"code": "unavailable", "description": "database is restarting"})))
    page.click("#draw-point")
    near_area.click_lonlat(inside["lon"], inside["lat"])
    page.wait_for_selector("#analysis[data-failed='1']", timeout=15_000)
    assert "503" in page.inner_text("#analysis")
    assert "database is restarting" in page.inner_text("#error-banner")
    assert page.is_visible("#error-banner")
    page.screenshot(path=str(artifacts / "viewer_check_failed.png"))
