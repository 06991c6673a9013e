"""The viewer page in headless Chromium, with every request and console error recorded."""

from __future__ import annotations

import json
from typing import Any


class Page:
    """A page with every request and console error recorded."""

    def __init__(self, browser: Any, base: str, hash_: str = "", *,
                 viewport: tuple[int, int] = (1280, 720), api_key: str | None = None) -> None:
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        if api_key:  # as if typed into the viewer's key box (kept in sessionStorage)
            self.page.add_init_script(
                f"window.sessionStorage.setItem('truce.apiKey', {json.dumps(api_key)});")
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{base}/{hash_}")
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def tile_requests(self, collection: str) -> list[str]:
        return [u for u in self.requests if f"/collections/{collection}/tiles/" in u]

    def settle(self) -> None:
        self.page.wait_for_function(
            "() => window.truceMap.loaded() && window.truceMap.areTilesLoaded()", timeout=30_000)
        self.page.wait_for_timeout(300)

    def click_lonlat(self, lon: float, lat: float, *, double: bool = False) -> None:
        """Click the map where (lon, lat) is drawn."""
        point = self.page.evaluate(
            "([lon, lat]) => { const p = window.truceMap.project([lon, lat]);"
            " return {x: p.x, y: p.y}; }", [lon, lat])
        box = self.page.locator("#map").bounding_box()
        x, y = box["x"] + point["x"], box["y"] + point["y"]
        if double:
            self.page.mouse.dblclick(x, y)
        else:
            self.page.mouse.click(x, y)
