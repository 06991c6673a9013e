"""The situation-report map: GET /reports/areas/{id}/map.html and `truce report area`.

The document must open with no network: it is checked statically (no src/href/url() leaving the
file) and in headless Chromium from a file:// URL with every other request aborted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.maps.sitrep import SitrepMap, build_sitrep_map

ROOT = Path(__file__).resolve().parents[2]
URL = "/reports/areas/{}/map.html"
RASTAN = 4  # Ar-Rastan sub-district: signed 2016-02-27 12:00 UTC, status "violated"
KHALIDIYAH = 3  # pending, never signed
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


class _Refs(HTMLParser):
    """Every tag, and every URL-bearing attribute, of a document (script bodies are data)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "action") and v]


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


def _expected_counts(engine: Engine, area_id: int, start: datetime, end: datetime,
                     buffer_m: float = 5000) -> tuple[int, int]:
    """Incidents and deliveries the report should count, computed here without the index box."""
    with engine.connect() as conn:
        incidents = conn.execute(text("""
            SELECT count(*) FROM incidents i JOIN agreement_areas a ON a.id = :id
            WHERE i.occurred_at BETWEEN :start AND :end
              AND ST_DWithin(i.geom::geography, a.geom::geography, :buffer)
              AND i.sensitivity = 'public'
              AND i.verification_status NOT IN ('rejected', 'duplicate')"""),
            {"id": area_id, "start": start, "end": end, "buffer": buffer_m}).scalar_one()
        deliveries = conn.execute(text("""
            SELECT count(*) FROM aid_deliveries d JOIN agreement_areas a ON a.id = :id
            WHERE d.delivered_at BETWEEN :start AND :end
              AND (d.agreement_area_id = a.id
                   OR ST_DWithin(d.geom::geography, a.geom::geography, :buffer))"""),
            {"id": area_id, "start": start, "end": end, "buffer": buffer_m}).scalar_one()
    return int(incidents), int(deliveries)


def _assert_offline_document(html: str) -> None:
    refs = _refs(html)
    assert "html" in refs.tags and "script" in refs.tags
    assert "link" not in refs.tags, "stylesheets must be inlined, not linked"
    assert not [u for u in refs.urls if re.match(r"\s*([a-z][a-z0-9+.-]*:)?//", u, re.I)], refs.urls
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html and "bootstrapcdn" not in html
    assert "sourceMappingURL" not in html
    for css_url in re.findall(r"url\(\s*['\"]?([^'\")]+)", html):
        assert css_url.startswith(("data:", "#")), css_url
    assert "Leaflet 1.9.4" in html  # the vendored copy, with its licence header


def test_map_is_a_standalone_html_attachment(client: TestClient, engine: Engine) -> None:
    response = client.get(URL.format(RASTAN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="sitrep-area-4-20160227-20160328.html"'
    html = response.text
    _assert_offline_document(html)
    incidents, deliveries = _expected_counts(engine, RASTAN, datetime(2016, 2, 27, 12, tzinfo=UTC),
                                             datetime(2016, 3, 28, 12, tzinfo=UTC))
    assert incidents > 0 and deliveries > 0
    assert "Situation report: Ar-Rastan sub-district" in html
    assert "Status: Violated (signed 2016-02-27)" in html
    assert "Period: 2016-02-27 12:00 to 2016-03-28 12:00 UTC" in html
    assert f"Incidents within 5 km: {incidents} (" in html
    assert f"Aid deliveries: {deliveries}<" in html
    assert "Incidents: UCDP GED; boundaries: OCHA/UNCS; illustrative agreement areas" in html
    assert "Incidents by type" in html and "Aid deliveries by method" in html
    assert "Basemap: Natural Earth, WDB II, GSHHG, OCHA COD-AB, GeoNames." in html


def test_unsigned_area_defaults_to_the_whole_incident_range(client: TestClient) -> None:
    response = client.get(URL.format(KHALIDIYAH))
    assert response.status_code == 200
    assert "sitrep-area-3-20160101-20161231.html" in response.headers["content-disposition"]
    assert "Status: Pending (not signed)" in response.text


def test_explicit_period_and_buffer_are_used(client: TestClient, engine: Engine) -> None:
    response = client.get(URL.format(RASTAN),
                          params={"start": "2016-03-01", "end": "2016-03-31", "buffer": "10000"})
    assert response.status_code == 200
    assert "sitrep-area-4-20160301-20160331.html" in response.headers["content-disposition"]
    incidents, _ = _expected_counts(engine, RASTAN, datetime(2016, 3, 1, tzinfo=UTC),
                                    datetime(2016, 3, 31, 23, 59, 59, tzinfo=UTC), 10000)
    assert f"Incidents within 10 km: {incidents} (" in response.text
    assert "Period: 2016-03-01 00:00 to 2016-03-31 23:59 UTC" in response.text


@pytest.mark.parametrize("area", ["999999", "not-a-number", "\u00b2"])  # a superscript: isdigit, not int
def test_unknown_area_is_404_json(client: TestClient, area: str) -> None:
    response = client.get(URL.format(area))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "not_found" and "agreement area" in body["description"]


@pytest.mark.parametrize("params", [
    {"start": "yesterday"},
    {"end": "2016-02-30"},
    {"start": "2016-03-10", "end": "2016-03-01"},
    {"start": "2016-03-01/2016-03-10"},
    {"buffer": "-5"},
    {"buffer": "far"},
])
def test_bad_dates_or_buffer_are_400_json(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(URL.format(RASTAN), params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["description"]


def _area_feature(name: str) -> dict[str, Any]:
    ring = [[36.6, 34.7], [36.7, 34.7], [36.7, 34.8], [36.6, 34.8], [36.6, 34.7]]
    return {"type": "Feature", "id": 1,
            "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
            "properties": {"id": 1, "name": name, "kind": "settlement", "status": "signed",
                           "signed_at": "2016-02-26T12:00:00+00:00", "parties": ["A", "B"]}}


def test_builder_escapes_text_and_handles_an_empty_period() -> None:
    evil = '<img src=x onerror="alert(1)">'
    incident = {"type": "Feature", "id": 7,
                "geometry": {"type": "Point", "coordinates": [36.65, 34.75]},
                "properties": {"occurred_at": "2016-03-01T00:00:00+00:00", "event_type": "battles",
                               "verification_status": "reported", "fatalities": None,
                               "location_name": evil, "inside": True, "distance_m": 0}}
    html = build_sitrep_map(SitrepMap(
        area=_area_feature(evil), start=datetime(2016, 3, 1, tzinfo=UTC),
        end=datetime(2016, 3, 31, tzinfo=UTC), buffer_m=0, incidents=[incident],
        incident_count=1, bounds=(36.6, 34.7, 36.7, 34.8)))
    assert evil not in html and "<img" not in html
    _assert_offline_document(html)

    empty = build_sitrep_map(SitrepMap(
        area=_area_feature("Quiet place"), start=datetime(2016, 3, 1, tzinfo=UTC),
        end=datetime(2016, 3, 31, tzinfo=UTC), buffer_m=5000))
    assert "Incidents within 5 km: 0 (0 inside the area)" in empty
    assert "none in the period" in empty
    _assert_offline_document(empty)


@pytest.mark.browser
def test_report_opens_offline_in_chromium(client: TestClient, engine: Engine, tmp_path: Path,
                                          artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    html = client.get(URL.format(RASTAN)).text
    incidents, deliveries = _expected_counts(engine, RASTAN, datetime(2016, 2, 27, 12, tzinfo=UTC),
                                             datetime(2016, 3, 28, 12, tzinfo=UTC))
    path = tmp_path / "sitrep.html"
    path.write_text(html, encoding="utf-8")
    problems: list[str] = []
    requested: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        requested.append(url)
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            problems.append(f"network request: {url}")
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.route("**/*", only_local)
            page.goto(path.as_uri())
            page.wait_for_selector(".leaflet-container path.leaflet-interactive")
            page.wait_for_function("document.querySelectorAll('.leaflet-marker-icon').length > 0")

            # one interactive path for the area, one per incident; deliveries are div icons
            assert page.locator("path.leaflet-interactive").count() == 1 + incidents
            assert page.locator(".leaflet-marker-icon.truce-delivery-icon").count() == deliveries
            # on the viewer's basemap: land, sea, rivers and borders (not clickable), place names
            places = page.locator(".truce-place-label").all_inner_texts()
            assert {"Homs", "Ar Rastan", "Hama"} <= set(places), places
            assert page.locator(".leaflet-container path:not(.leaflet-interactive)").count() > 3
            assert page.locator(".truce-place-label.leaflet-interactive").count() == 0
            assert page.locator(".truce-place-label[tabindex]").count() == 0
            assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-container'))"
                                 ".backgroundColor") == "rgb(183, 208, 227)"  # the sea
            assert page.locator(".leaflet-container path[fill='#D55E00'][fill-opacity='0.25']") \
                .count() == 1  # the area, in the colour of "violated"
            assert page.locator(".leaflet-tile").count() == 0
            assert page.locator(".truce-title h1").inner_text() == \
                "Situation report: Ar-Rastan sub-district"
            external = page.evaluate("""Array.from(document.querySelectorAll('[src],[href]'))
                .map(e => e.getAttribute('src') || e.getAttribute('href'))
                .filter(u => /^(https?:)?\\/\\//i.test(u))""")
            assert external == []
            assert "Incidents: UCDP GED" in page.locator(".leaflet-control-attribution").inner_text()
            page.screenshot(path=str(artifacts / "sitrep_map.png"))

            page.locator(".leaflet-marker-icon.truce-delivery-icon").first.click()
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for()
            assert "Aid delivery" in popup.inner_text() and "Method" in popup.inner_text()
        finally:
            browser.close()
    assert problems == []
    assert requested and all(u.startswith(("file:", "data:")) for u in requested)


def test_cli_writes_the_report(database_url: str, sample_loaded: list[object],
                               tmp_path: Path) -> None:
    out = tmp_path / "area.html"
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "report", "area", str(RASTAN), "--out", str(out),
         "--start", "2016-03-01", "--end", "2016-03-31"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    html = out.read_text(encoding="utf-8")
    _assert_offline_document(html)
    assert "Situation report: Ar-Rastan sub-district" in html
    assert "Period: 2016-03-01 00:00 to 2016-03-31 23:59 UTC" in html

    missing = subprocess.run(
        [sys.executable, "-m", "cli.main", "report", "area", "999999", "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert missing.returncode == 2
    assert "no agreement area 999999" in missing.stderr and "Traceback" not in missing.stderr

    bad = subprocess.run(
        [sys.executable, "-m", "cli.main", "report", "area", str(RASTAN), "--out", str(out),
         "--start", "March"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert bad.returncode == 2 and "--start" in bad.stderr and "Traceback" not in bad.stderr
