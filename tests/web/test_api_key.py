"""The viewer's API key box in headless Chromium against the real API: without a key nothing is
sent; a key typed in is kept in sessionStorage (not localStorage) and sent as X-API-Key on API
fetches and on MapLibre's tile requests to this server; Forget removes it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import Page

pytestmark = pytest.mark.browser

HASH = "#map=9.00/34.7300/36.7200&t=2016-01-01/2016-12-31"


def _record(page: Page) -> list[tuple[str, dict[str, str]]]:
    seen: list[tuple[str, dict[str, str]]] = []
    page.page.on("request", lambda r: seen.append((r.url, r.headers)))
    return seen


def _keyed(seen: list[tuple[str, dict[str, str]]], part: str) -> list[str | None]:
    return [h.get("x-api-key") for u, h in seen if part in u]


def test_key_box_sends_the_key_on_fetches_and_tiles(browser: Any, live_server: str,
                                                    analyst_key: str) -> None:
    page = Page(browser, live_server, HASH)
    page.settle()
    seen = _record(page)
    assert "public data only" in page.page.locator("#api-key-form .key-status").inner_text()
    page.page.locator("#time-reset").click()  # any refetch: no key is sent
    page.settle()
    assert all(k is None for _, h in seen for k in [h.get("x-api-key")])

    page.page.locator("#api-key-form input[name='api-key']").fill(analyst_key)
    with page.page.expect_navigation():
        page.page.locator("#api-key-form button[type='submit']").click()
    page.page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    seen.clear()
    page.page.evaluate("() => window.truceMap.setZoom(window.truceMap.getZoom() + 1)")
    page.settle()
    tiles = _keyed(seen, "/tiles/")
    assert tiles and all(k == analyst_key for k in tiles)
    api = _keyed(seen, "/analysis/") + _keyed(seen, "/collections")
    assert api and all(k == analyst_key for k in api)
    stored = page.page.evaluate("() => [sessionStorage.getItem('truce.apiKey'), "
                                "localStorage.getItem('truce.apiKey')]")
    assert stored == [analyst_key, None]
    assert "in use" in page.page.locator("#api-key-form .key-status").inner_text()
    assert analyst_key not in page.page.url

    with page.page.expect_navigation():
        page.page.locator("#api-key-form button[name='forget']").click()
    page.page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert page.page.evaluate("() => sessionStorage.getItem('truce.apiKey')") is None
    assert not page.errors, page.errors
    page.page.close()
