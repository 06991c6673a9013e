"""The basemap under a report map: the shipped vector basemap's features around the area (land,
sea and lakes, rivers, governorate lines, borders, place names), drawn as plain GeoJSON layers and
labels, so the document keeps needing no network and shows the geography the viewer shows."""

from __future__ import annotations

import html
from typing import Any

import folium
from branca.element import Element

from . import style as st

CSS = f"""
<style>
  .leaflet-container {{ background: {st.BASEMAP_SEA}; }}
  .truce-place-label {{ background: none; border: none; }}
  .truce-place-label span {{ display: inline-block; white-space: nowrap; font-size: 12px;
    color: #3d3a35; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff;
    transform: translate(6px, -50%); pointer-events: none; }}
  .truce-place-label span.capital {{ font-weight: bold; font-size: 13px; }}
  .truce-place-label span.abroad {{ color: #6f6a72; }}
</style>
"""


def _label(props: dict[str, Any], lang: str) -> str:
    return str(props.get(f"name_{lang}") or props.get("name_en") or "")


def add_basemap(m: folium.Map, layers: dict[str, list[dict[str, Any]]], lang: str) -> None:
    """Draw `layers` (GeoJSON features per basemap layer) under everything added after it."""
    m.get_root().header.add_child(Element(CSS), name="truce_basemap_css")  # type: ignore[attr-defined]
    for name, fill in st.BASEMAP_FILLS.items():
        features = layers.get(name) or []
        if not features:
            continue

        def polygon_style(f: dict[str, Any], fill: str = fill) -> dict[str, Any]:
            home = f["properties"].get("name_en") == "Syria"
            return {"stroke": False, "fillOpacity": 1,
                    "fillColor": st.BASEMAP_HOME if home else fill}

        folium.GeoJson({"type": "FeatureCollection", "features": features},
                       name=f"basemap-{name}", style_function=polygon_style,
                       interactive=False).add_to(m)
    for name, (colour, weight) in st.BASEMAP_LINES.items():
        features = layers.get(name) or []
        if features:
            folium.GeoJson({"type": "FeatureCollection", "features": features},
                           name=f"basemap-{name}", interactive=False,
                           style_function=lambda _, c=colour, w=weight: {
                               "color": c, "weight": w, "opacity": 1, "fill": False}).add_to(m)
    # one GeoJson layer of div icons (a Marker of its own would load Leaflet's default icon
    # image first); the most important places last, so that Leaflet draws them on top
    places = sorted(layers.get("places") or [], key=lambda f: (
        int(f["properties"].get("capital") or 0), int(f["properties"].get("population") or 0)))
    labelled = []
    for f in places:
        text = _label(f["properties"], lang)
        if not text:
            continue
        props = f["properties"]
        kind = "capital" if props.get("capital") else "abroad" if props.get("abroad") else "place"
        labelled.append({"type": "Feature", "geometry": f["geometry"],
                         "properties": {"html": f'<span class="{kind}">{html.escape(text)}</span>'}})
    if labelled:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": labelled}, name="basemap-places",
            # labels only: neither clickable nor in the keyboard's tab order
            marker=folium.Marker(icon=folium.DivIcon(html="", icon_size=(0, 0),
                                                     class_name="truce-place-label"),
                                 interactive=False, keyboard=False),
            style_function=lambda f: {"html": f["properties"]["html"]},
            interactive=False).add_to(m)
