"""The API's HTML pages in headless Chromium (issue 16): an items page in Arabic draws its small
map (MapLibre from the server, the server's tiles) with no CSP violation and no request
anywhere but the server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import Watched

pytestmark = pytest.mark.browser


def test_items_page_map_runs_under_the_policy_offline(browser: Any, live_server: str) -> None:
    watched = Watched(browser)
    try:
        watched.goto(f"{live_server}/collections/incidents/items?f=html&lang=ar&limit=20")
        watched.wait_until("() => document.getElementById('map')?.dataset.ready === 'true'")
        assert watched.page.evaluate("() => document.documentElement.dir") == "rtl"
        assert watched.page.locator("table.data tbody tr").count() == 20
        assert watched.page.locator("#map canvas").count() == 1
        assert watched.violations() == []
        assert all(url.startswith((live_server, "blob:", "data:")) for url in watched.requests), \
            [u for u in watched.requests if not u.startswith(live_server)]
        watched.page.locator("a[rel=next]").click()
        watched.page.wait_for_load_state()
        assert "cursor=" in watched.page.url and "lang=ar" in watched.page.url
    finally:
        watched.page.close()
