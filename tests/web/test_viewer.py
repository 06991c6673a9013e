"""The viewer in a real headless Chromium against the real API: offline, layers, time, details."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.web.pages import Page

pytestmark = pytest.mark.browser


@pytest.fixture()
def viewer(browser: Any, live_server: str) -> Any:
    opened = Page(browser, live_server)
    yield opened
    opened.page.close()


def test_page_loads_offline_with_no_console_errors(viewer: Page, live_server: str,
                                                  artifacts: Path) -> None:
    viewer.settle()
    schemes = {urlparse(u).scheme for u in viewer.requests}
    assert schemes <= {"http", "data", "blob"}, schemes  # blob: is MapLibre's worker
    hosts = {urlparse(u).hostname for u in viewer.requests if u.startswith("http")}
    assert hosts == {"127.0.0.1"}, hosts
    assert not viewer.errors, viewer.errors
    assert not viewer.failed, viewer.failed
    for collection in ("incidents", "agreement_areas", "aid_deliveries"):
        assert viewer.tile_requests(collection), f"no {collection} tiles requested"
    assert any("/rasters/shaded_relief/tiles/" in u for u in viewer.requests)
    rendered = viewer.page.evaluate(
        "() => window.truceMap.queryRenderedFeatures({layers: ['incidents-circle']}).length")
    assert rendered > 0
    viewer.page.screenshot(path=str(artifacts / "viewer.png"))


def test_toggling_a_layer_stops_its_tiles(viewer: Page) -> None:
    viewer.settle()
    viewer.page.uncheck("#layer-incidents")
    viewer.page.wait_for_function(
        "() => window.truceMap.getLayoutProperty('incidents-circle', 'visibility') === 'none'")
    viewer.settle()
    before = len(viewer.tile_requests("incidents"))
    viewer.page.evaluate("() => window.truceMap.jumpTo({zoom: 8, center: [36.7, 34.7]})")
    viewer.settle()
    assert len(viewer.tile_requests("incidents")) == before
    assert viewer.tile_requests("agreement_areas")
    assert "incidents" not in viewer.page.evaluate("() => location.hash").split("layers=")[1]


def test_moving_the_time_range_changes_the_tile_requests(viewer: Page) -> None:
    viewer.settle()
    viewer.page.fill("#time-start", "2016-02-27")
    viewer.page.dispatch_event("#time-start", "change")
    viewer.page.fill("#time-end", "2016-03-31")
    viewer.page.dispatch_event("#time-end", "change")
    viewer.settle()
    recent = viewer.tile_requests("incidents")[-1]
    assert "2016-02-27" in recent and "2016-03-31" in recent
    assert "t=2016-02-27/2016-03-31" in viewer.page.evaluate("() => location.hash")


def test_clicking_an_incident_opens_its_panel(viewer: Page, artifacts: Path) -> None:
    viewer.click_an_incident_near_homs()
    assert viewer.page.evaluate("() => document.body.dataset.detail").startswith("incidents/")
    # the source in human words; its code and the other technical fields under a closed "More"
    shown = viewer.page.inner_text("#details")
    assert "UCDP GED" in shown and "source_id" not in shown
    viewer.page.click("#details details.more summary")
    assert "ucdp_ged" in viewer.page.inner_text("#details details.more")
    viewer.page.screenshot(path=str(artifacts / "viewer_details.png"))


def test_a_shared_link_reopens_the_same_picture(browser: Any, live_server: str) -> None:
    opened = Page(browser, live_server,
                  "#map=9.00/34.7300/36.7200&t=2016-03-01/2016-03-15&layers=agreement_areas")
    try:
        opened.settle()
        zoom = opened.page.evaluate("() => window.truceMap.getZoom()")
        assert abs(zoom - 9) < 0.01
        assert opened.page.is_checked("#layer-agreement_areas")
        assert not opened.page.is_checked("#layer-incidents")
        assert opened.page.input_value("#time-start") == "2016-03-01"
    finally:
        opened.page.close()
