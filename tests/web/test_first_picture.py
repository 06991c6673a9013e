"""The first picture (agreement areas, incidents) is drawn before the other layers (the relief among
them), which follow by themselves: once the map is ready every switched-on layer is drawn at its
opacity."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import Page

pytestmark = pytest.mark.browser

# style layer -> (paint property, full opacity) at the panel's default opacities
HELD = {
    "shaded_relief": ("raster-opacity", 0.35),  # a subtle layer over the basemap's land
    "agreement_areas-line": ("line-opacity", 0.8),
    "admin_areas-line": ("line-opacity", 0.7),
    "settlements-circle": ("circle-opacity", 1.0),
    "aid_deliveries-circle": ("circle-opacity", 0.9),
}


def test_layers_after_the_first_picture_are_drawn_by_ready(browser: Any, live_server: str) -> None:
    page = Page(browser, live_server, "#map=8/34.8/36.7")
    try:
        page.settle()
        for layer_id, (prop, full) in HELD.items():
            value = page.page.evaluate(f"() => window.truceMap.getPaintProperty('{layer_id}', '{prop}')")
            assert value == pytest.approx(full), (layer_id, value)
        drawn = page.page.evaluate("""() => Object.fromEntries(
            ['agreement_areas-line', 'settlements-circle', 'incidents-circle'].map((id) =>
              [id, window.truceMap.queryRenderedFeatures({layers: [id]}).length]))""")
        assert all(n > 0 for n in drawn.values()), drawn
        # the admin areas' click target is never drawn (opacity 0) but still found
        assert page.page.evaluate(
            "() => window.truceMap.queryRenderedFeatures({layers: ['admin_areas-fill']}).length") > 0
        # the map's own background: no background layer (one shader program less)
        assert page.page.evaluate(
            "() => window.truceMap.getStyle().layers.every((l) => l.type !== 'background')")
        assert not page.errors, page.errors
    finally:
        page.page.close()


def test_opacity_slider_of_a_layer_drawn_after_the_first_picture(browser: Any,
                                                                live_server: str) -> None:
    page = Page(browser, live_server)
    try:
        slider = page.page.locator("#opacity-settlements")
        slider.fill("0.5")
        slider.dispatch_event("input")
        page.settle()
        value = page.page.evaluate(
            "() => window.truceMap.getPaintProperty('settlements-circle', 'circle-opacity')")
        assert value == pytest.approx(0.5)
    finally:
        page.page.close()


def test_programs_compiled_early_are_the_ones_drawn(browser: Any, live_server: str) -> None:
    """The page compiles the incidents' shader program before their first tile comes back, and the
    area fills', outlines' and relief's before theirs; the layers are then drawn with those programs,
    not a second one of a kind (circles: incidents, deliveries, settlements; lines: outlines and
    boundaries)."""
    page = Page(browser, live_server)
    warnings: list[str] = []
    page.page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    try:
        page.settle()
        keys = page.page.evaluate("() => Object.keys(window.truceMap.painter.cache)")
        for kind in ("circle", "fill", "line", "raster"):
            assert len([k for k in keys if k.split("/")[0] == kind]) == 1, (kind, keys)
        assert not [w for w in warnings if "compile" in w], warnings
        assert not page.errors, page.errors
    finally:
        page.page.close()
