"""The viewer page in headless Chromium, with every request and console error recorded."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlparse


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
        """Vector tile requests that carry `collection`: its own tiles, or multi-layer tiles
        listing it in `collections`."""
        def carries(url: str) -> bool:
            parts = urlparse(url)
            if parts.path.startswith(f"/collections/{collection}/tiles/"):
                return True
            listed = parse_qs(parts.query).get("collections", [""])[0].split(",")
            return parts.path.startswith("/tiles/WebMercatorQuad/") and collection in listed
        return [u for u in self.requests if carries(u)]

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

    def click_an_incident_near_homs(self) -> None:
        """Zoom to Homs (z11), click one single (not clustered) incident drawn where nothing
        covers the map (the toolbar's width varies by language), wait for its details."""
        self.page.evaluate("() => window.truceMap.jumpTo({zoom: 11, center: [36.72, 34.73]})")
        self.settle()
        point = self.page.evaluate("""() => {
            const map = window.truceMap;
            const canvas = map.getCanvas();
            const rect = canvas.getBoundingClientRect();
            return map.queryRenderedFeatures({layers: ['incidents-circle']})
                .filter(f => !f.properties.point_count || f.properties.point_count <= 1)
                .map(f => map.project(f.geometry.coordinates))
                .filter(p => p.x > 20 && p.y > 20 && p.x < rect.width - 20
                        && p.y < rect.height - 20)
                .filter(p => document.elementFromPoint(rect.x + p.x, rect.y + p.y) === canvas)
                .map(p => ({x: p.x, y: p.y}))[0] ?? null;
        }""")
        assert point is not None, "no single incident rendered near Homs at z11"
        box = self.page.locator("#map").bounding_box()
        self.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        self.page.wait_for_selector("#details[data-loaded='1']", timeout=15_000)


RECORD = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


class Watched:
    """A page recording CSP violations (events and console messages) and every request."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 720})
        self.page.add_init_script(RECORD)
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning")
                     and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.console.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def goto(self, url: str) -> dict[str, str]:
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        return response.headers

    def wait_until(self, expression: str, seconds: float = 30) -> None:
        """Poll `expression` with evaluate (no eval inside the page, which the policy forbids)."""
        deadline = time.monotonic() + seconds
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            self.page.wait_for_timeout(100)

    def violations(self) -> list[str]:
        events = self.page.evaluate("() => window.__csp")
        return [*events, *[m for m in self.console if "Content Security Policy" in m]]
