"""A folium Map that needs no network: Leaflet inlined from `vendor/leaflet`, nothing else linked.

folium's Map links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. `offline_map` drops every
default link of the instance and puts the vendored `leaflet.js` and `leaflet.css` (its images as
`data:` URIs) into the document head. Only elements that need Leaflet alone may be added to such a
map: GeoJson, CircleMarker, Marker with a DivIcon, FitBounds, MacroElements of our own. Not
`folium.Popup` (its template calls jQuery's `$`), not plugins, not `folium.Icon` (Font Awesome).
`external_references` finds anything that would still reach the network.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
from branca.element import Element

VENDOR = Path(__file__).parent / "vendor" / "leaflet"
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S*\s*$")
_CSS_URL = re.compile(r"url\((['\"]?)(images/[\w.-]+\.png)\1\)")
_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


@cache
def leaflet_js() -> str:
    """The vendored leaflet.js without its source-map comment, safe inside a <script> element."""
    code = _SOURCE_MAP.sub("\n", (VENDOR / "leaflet.js").read_text(encoding="utf-8"))
    if "</script" in code.lower():  # pragma: no cover - guards a future refresh of the vendor copy
        raise ValueError("leaflet.js contains '</script' and cannot be inlined")
    return code


@cache
def leaflet_css() -> str:
    """The vendored leaflet.css with the images it references inlined as data: URIs."""

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((VENDOR / match.group(2)).read_bytes()).decode("ascii")
        return f'url("data:image/png;base64,{data}")'

    css = _CSS_URL.sub(inline, (VENDOR / "leaflet.css").read_text(encoding="utf-8"))
    if "</style" in css.lower():  # pragma: no cover
        raise ValueError("leaflet.css contains '</style' and cannot be inlined")
    return css


def offline_map(**kwargs: Any) -> folium.Map:
    """A folium.Map with no tile layer and no CDN link; Leaflet is inlined in the document head."""
    m = folium.Map(tiles=None, **kwargs)
    m.default_js = []  # instance attributes shadow folium's class-level CDN lists
    m.default_css = []
    head = m.get_root().header  # type: ignore[attr-defined]
    head.add_child(Element(f"<style>\n{leaflet_css()}\n</style>"), name="leaflet_css_inline")
    head.add_child(Element(f"<script>\n{leaflet_js()}\n</script>"), name="leaflet_js_inline")
    return m


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action") and value:
                self.found.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(m.group(1) for m in re.finditer(r"url\(\s*['\"]?([^'\")]+)", data))
            self.found.extend(m.group(1) for m in re.finditer(r"@import\s+['\"]([^'\"]+)", data))


def external_references(html: str) -> list[str]:
    """Every src/href/url() in the document that would leave the file (http:, https:, //host)."""
    parser = _References()
    parser.feed(html)
    parser.close()
    return [ref for ref in parser.found if _EXTERNAL.match(ref)]
