"""The Content-Security-Policy in headless Chromium: the viewer (with an area's report open), the
situation-report map and the API reference run under the server's policy with no violation, and
the policy allows no inline script but the ones it names by hash."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.pages import Watched

pytestmark = pytest.mark.browser


def _strict(policy: str) -> dict[str, str]:
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives["script-src"], policy
    assert "'unsafe-eval'" not in directives["script-src"], policy
    assert directives["frame-ancestors"] == "'none'", policy
    return directives


def test_viewer_and_area_report_run_without_csp_violations(browser: Any, live_server: str,
                                                           engine: Engine) -> None:
    with engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM agreement_areas"
            " WHERE name = 'Ar-Rastan sub-district') s")).one()
    watched = Watched(browser)
    try:
        headers = watched.goto(f"{live_server}/#map=10.00/{lat:.4f}/{lon:.4f}"
                               "&t=2016-02-27/2016-06-30&layers=agreement_areas")
        directives = _strict(headers["content-security-policy"])
        assert "blob:" in directives["worker-src"] and "data:" in directives["img-src"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        page = watched.page
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        watched.wait_until("() => window.truceMap.loaded() && window.truceMap.areTilesLoaded()")
        point = page.evaluate("([lon, lat]) => { const p = window.truceMap.project([lon, lat]);"
                              " return {x: p.x, y: p.y}; }", [lon, lat])
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        page.wait_for_selector("#details[data-report='1']", timeout=15_000)
        assert not watched.violations(), watched.violations()
        assert all(u.startswith((live_server, "blob:", "data:")) for u in watched.requests)
    finally:
        watched.page.close()


def test_sitrep_map_runs_under_its_own_policy(browser: Any, live_server: str) -> None:
    watched = Watched(browser)

    def inline(route: Any) -> None:  # shown in the page instead of downloaded, headers kept
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k != "content-disposition"}
        route.fulfill(response=response, headers=headers)

    try:
        watched.page.route("**/reports/areas/*/map.html*", inline)
        headers = watched.goto(f"{live_server}/reports/areas/4/map.html")
        directives = _strict(headers["content-security-policy"])
        assert "'sha256-" in directives["script-src"]
        watched.page.wait_for_selector(".leaflet-container path.leaflet-interactive",
                                       timeout=15_000)
        assert watched.page.locator(".leaflet-container path.leaflet-interactive").count() > 1
        watched.page.locator(".truce-delivery-icon").first.click()  # a delivery's popup
        watched.page.locator(".leaflet-popup-content").wait_for()
        assert not watched.violations(), watched.violations()
        assert all(u.startswith((live_server, "data:")) for u in watched.requests), \
            watched.requests
    finally:
        watched.page.close()


def test_api_reference_is_local_and_runs_without_csp_violations(browser: Any,
                                                                live_server: str) -> None:
    watched = Watched(browser)
    try:
        headers = watched.goto(f"{live_server}/api.html")
        _strict(headers["content-security-policy"])
        watched.page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        # Swagger UI (vendored): every operation listed, one opened
        assert watched.page.locator(".opblock").count() > 20
        assert "/collections/{collection_id}/items" in watched.page.inner_text("#swagger-ui")
        watched.page.locator(".opblock-summary").first.click()
        watched.page.wait_for_selector(".opblock-body")
        assert not watched.violations(), watched.violations()
        # the recorder sees a violation when there is one: an inline style the policy refuses
        watched.page.evaluate("() => { const s = document.createElement('style');"
                              " s.textContent = 'body { color: red }'; document.head.append(s); }")
        watched.wait_until("() => window.__csp.length > 0", seconds=5)
        assert "style-src" in watched.violations()[0]
        assert all(u.startswith((live_server, "data:")) for u in watched.requests), \
            watched.requests
    finally:
        watched.page.close()
