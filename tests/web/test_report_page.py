"""The violation report page (/report) in headless Chromium against the real API: the three
languages, refusals in the user's language (no key, a place outside the area of interest, a time in
the future), a report sent with a reporter key that an analyst then sees as `reported`, and no
request leaving the host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server.services import keys as key_service

pytestmark = pytest.mark.browser

I18N = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
CATALOGUES = {lang: json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
              for lang in ("en", "ar", "ru")}


@pytest.fixture(scope="module")
def reporter_key(engine: Engine, sample_loaded: list[object]) -> str:
    with Session(engine) as session:
        _, key = key_service.create("reporter", org=None, expires_at=None, label="tests:reporter",
                                    actor="tests", session=session)
    return key


def _open(browser: Any, live_server: str, lang: str) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1100, "height": 1200})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/report?lang={lang}")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, requests, errors


def _fill(page: Any, *, lat: str = "34.73", lon: str = "36.72", when: str = "2016-03-01T10:00") -> None:
    page.fill("#lat", lat)
    page.fill("#lon", lon)
    page.fill("#occurred", when)
    page.fill("#description", "Shelling of the market area reported by residents")


@pytest.mark.parametrize("lang", ["en", "ar", "ru"])
def test_refusals_are_in_the_users_language(browser: Any, live_server: str, lang: str) -> None:
    cat = {**CATALOGUES["en"], **CATALOGUES[lang]}
    page, requests, errors = _open(browser, live_server, lang)
    try:
        assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") \
            == [lang, "rtl" if lang == "ar" else "ltr"]
        assert page.inner_text("h1") == cat["violation.title"]
        assert page.inner_text("#how-title") == cat["violation.how_title"]
        assert cat["violation.key_none"] in page.inner_text("#key-status")
        _fill(page)
        page.click("#send")
        assert page.inner_text("#form-error") == cat["violation.error.no_key"]
        page.fill("#key-input", "some-key")
        page.click("#key-form button[type='submit']")
        _fill(page, lat="30.0", lon="36.0")  # Jordan, outside the area of interest
        page.click("#send")
        assert page.inner_text("#form-error").startswith(cat["violation.error.outside"].split("(")[0].strip())
        _fill(page, when="2999-01-01T10:00")
        page.click("#send")
        assert page.inner_text("#form-error") == cat["violation.error.future"]
        assert not [u for u in requests if "/reports" in urlparse(u).path], requests  # nothing sent
        hosts = {urlparse(u).hostname for u in requests if u.startswith("http")}
        assert hosts == {"127.0.0.1"}, hosts
        assert not errors, errors
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["ar", "ru"])
def test_the_servers_refusal_of_a_place_abroad_is_in_the_users_language(
        browser: Any, live_server: str, reporter_key: str, lang: str) -> None:
    cat = {**CATALOGUES["en"], **CATALOGUES[lang]}
    page, requests, errors = _open(browser, live_server, lang)
    try:
        page.fill("#key-input", reporter_key)
        page.click("#key-form button[type='submit']")
        # Beirut: inside the page's rectangle around Syria, so only the server knows it is abroad
        _fill(page, lat="33.89", lon="35.50")
        with page.expect_response(lambda r: urlparse(r.url).path == "/reports") as answer:
            page.click("#send")
        assert answer.value.status == 400
        page.wait_for_selector("#form-error:not([hidden])")
        assert page.inner_text("#form-error") == cat["violation.error.outside_area"]
        assert page.is_hidden("#result")
        assert not [e for e in errors if "400" not in e], errors  # the refused POST only
    finally:
        page.close()


def test_a_report_sent_from_the_page_is_reported_for_an_analyst(browser: Any, live_server: str,
                                                                  reporter_key: str,
                                                                  analyst_key: str) -> None:
    page, requests, errors = _open(browser, live_server, "ru")
    try:
        page.fill("#key-input", reporter_key)
        page.click("#key-form button[type='submit']")
        assert page.inner_text("#key-status") == CATALOGUES["ru"]["violation.key_in_use"]
        # the place by a click on the map
        page.wait_for_function("() => window.truceReportMap && window.truceReportMap.loaded()",
                               timeout=30_000)
        point = page.evaluate("() => { const p = window.truceReportMap.project([36.72, 34.73]);"
                              " return {x: p.x, y: p.y}; }")
        box = page.locator("#report-map").bounding_box()
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        assert abs(float(page.input_value("#lat")) - 34.73) < 0.05
        page.fill("#occurred", "2016-03-02T09:30")
        page.select_option("#event-type", "one_sided_violence")
        page.fill("#description", "Shelling of the market area reported by residents")
        page.fill("#party", "Opposition liaison")
        page.fill("#attachments", "https://example.org/photo1.jpg")
        page.click("#send")
        page.wait_for_selector("#result:not([hidden])", timeout=15_000)
        report_id = page.get_attribute("#result", "data-report-id")
        assert report_id and page.get_attribute("#result", "data-status") == "reported"
        assert CATALOGUES["ru"]["violation.sent_id"].replace("{id}", report_id) in page.inner_text("#result")
        # the key stays in the tab's session: the page reloaded still has it
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.inner_text("#key-status") == CATALOGUES["ru"]["violation.key_in_use"]
        assert not errors, errors
    finally:
        page.close()
    seen = httpx.get(f"{live_server}/reports/{report_id}", headers={"X-API-Key": analyst_key}).json()
    assert seen["status"] == "reported" and seen["event_type"] == "one_sided_violence"
    assert seen["reporting_party"] == "Opposition liaison"


def test_the_viewer_links_to_the_report_page(browser: Any, live_server: str) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{live_server}/?lang=ar")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        link = page.locator("a.report-link")
        assert link.get_attribute("href") == "/report"
        assert link.inner_text() == CATALOGUES["ar"]["violation.link"]
    finally:
        page.close()
