"""Manual smoke check of the viewer in headless Chromium (not collected by pytest).

    python tests/web/fake_server.py --port 8765 &
    python tests/web/check_viewer.py --url http://127.0.0.1:8765/ --out /tmp/truce-shots

Prints console messages, page errors, failed requests and any request that leaves 127.0.0.1, and saves
screenshots. Exit status 1 if there was a console error, a page error or an off-host request.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8765/")
    parser.add_argument("--out", default="/tmp/truce-shots")
    parser.add_argument("--expect-error", action="store_true", help="the API is broken on purpose")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    requests: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.on(
            "console",
            lambda m: (
                print(f"console.{m.type}: {m.text}"),
                m.type == "error" and not args.expect_error and problems.append(m.text),
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: print(f"request failed: {r.url} {r.failure}"))

        def on_request(r):  # noqa: ANN001
            requests.append(r.url)
            host = urlsplit(r.url).hostname
            if r.url.startswith(("http:", "https:")) and host not in ("127.0.0.1", "localhost"):
                problems.append(f"off-host request: {r.url}")

        page.on("request", on_request)

        page.goto(args.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "01-initial.png"))
        print("hash:", page.evaluate("location.hash"))
        print(
            "banner hidden:",
            page.evaluate("document.getElementById('error-banner').hidden"),
            page.evaluate("document.querySelector('#error-banner .message').textContent"),
        )
        if args.expect_error:
            browser.close()
            return 0

        tiles = [u for u in requests if "/tiles/" in u]
        print(
            f"{len(requests)} requests, {len(tiles)} tiles; e.g.",
            *sorted({u.split("/tiles/")[0] + " " + u.split("?")[-1][:80] for u in tiles}),
            sep="\n  ",
        )

        # Click on a rendered incident (a single one, not a cluster), at higher zoom.
        page.evaluate("truceMap.jumpTo({center: [37.15, 36.2], zoom: 10})")
        page.wait_for_function("truceMap.loaded() && truceMap.areTilesLoaded()", timeout=20_000)
        page.wait_for_timeout(800)
        point = page.evaluate("""() => {
          const c = truceMap.getCanvas();
          const inside = (p) => p.x > 20 && p.y > 20 && p.x < c.clientWidth - 60 && p.y < c.clientHeight - 40;
          const fs = truceMap.queryRenderedFeatures({layers: ['incidents-circle']})
            .filter(f => !(f.properties.point_count > 1))
            .map(f => ({f, p: truceMap.project(f.geometry.coordinates)}))
            .filter(({p}) => inside(p));
          if (!fs.length) return null;
          const r = c.getBoundingClientRect();
          return {x: r.left + fs[0].p.x, y: r.top + fs[0].p.y, id: fs[0].f.properties.id};
        }""")
        print("incident to click:", point)
        if point:
            page.mouse.click(point["x"], point["y"])
            page.wait_for_selector("#details[data-loaded='1']", timeout=10_000)
            print("details:", page.text_content("#details-title"))
        page.screenshot(path=str(out / "02-zoomed-details.png"))

        # Toggle incidents off; move the time range.
        before = len(requests)
        page.uncheck("#layer-incidents")
        page.fill("#time-start", "2016-03-01")
        page.dispatch_event("#time-start", "change")
        page.wait_for_timeout(1500)
        print("hash after changes:", page.evaluate("location.hash"))
        print("aid tiles url:", page.evaluate("truceMap.getSource('aid_deliveries').tiles[0]"))
        new_tiles = [u for u in requests[before:] if "/tiles/" in u]
        print(
            "new tile requests:",
            len(new_tiles),
            "incidents among them:",
            sum("incidents" in u for u in new_tiles),
        )

        # Search.
        page.fill("#search-input", "Homs")
        page.wait_for_selector("#search-results button", timeout=10_000)
        page.click("#search-results button >> nth=0")
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "03-search.png"))
        browser.close()

    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
