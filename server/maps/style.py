"""Colours and shapes of the report maps: the Okabe-Ito palette (readable with colour-blindness),
with shape and dash as a second cue wherever colour carries meaning."""

from __future__ import annotations

import math
from typing import Any

# Agreement areas by status: fill, outline, dash pattern of the outline.
AREA_STATUS: dict[str, tuple[str, str, str | None]] = {
    "signed": ("#009E73", "#00684C", None),
    "pending": ("#F0E442", "#7A7300", "8 5"),
    "suspended": ("#E69F00", "#8A5F00", "4 4"),
    "violated": ("#D55E00", "#7F3800", None),
    "withdrawn": ("#999999", "#4D4D4D", "2 5"),
}
AREA_UNKNOWN = ("#BBBBBB", "#555555", "2 5")

# Incidents by event type (UCDP types and ACLED's, as the ETL names them).
EVENT_COLOURS: dict[str, str] = {
    "state_based_violence": "#D55E00",
    "battles": "#D55E00",
    "non_state_violence": "#CC79A7",
    "explosions_remote_violence": "#E69F00",
    "one_sided_violence": "#56B4E9",
    "violence_against_civilians": "#56B4E9",
    "protests": "#F0E442",
    "riots": "#F0E442",
    "strategic_developments": "#999999",
}
EVENT_UNKNOWN = "#000000"
CONFIRMED = ("confirmed",)

# Aid deliveries: one colour, the shape says the method.
DELIVERY_COLOUR = "#0072B2"
DELIVERY_SHAPES: dict[str, str] = {
    "airdrop": '<polygon points="8,1 15,15 1,15"/>',
    "convoy": '<rect x="2" y="2" width="12" height="12"/>',
    "handover": '<polygon points="8,0 16,8 8,16 0,8"/>',
}
DELIVERY_UNKNOWN = '<circle cx="8" cy="8" r="6"/>'


def area_style(status: str) -> dict[str, Any]:
    fill, stroke, dash = AREA_STATUS.get(status, AREA_UNKNOWN)
    style: dict[str, Any] = {"color": stroke, "weight": 3, "fillColor": fill, "fillOpacity": 0.25,
                             "opacity": 1}
    if dash:
        style["dashArray"] = dash
    return style


BUFFER_STYLE: dict[str, Any] = {"color": "#333333", "weight": 1.5, "dashArray": "6 6",
                                "fill": False}


def incident_radius(fatalities: int | None) -> float:
    """4 px for none or unknown, growing with the square root of fatalities, at most 14 px."""
    return round(min(14.0, 4.0 + 2.0 * math.sqrt(max(0, fatalities or 0))), 1)


def incident_style(event_type: str | None, verification_status: str | None,
                   fatalities: int | None) -> dict[str, Any]:
    colour = EVENT_COLOURS.get(event_type or "", EVENT_UNKNOWN)
    confirmed = verification_status in CONFIRMED
    style: dict[str, Any] = {
        "radius": incident_radius(fatalities),
        "color": "#222222" if confirmed else colour,
        "weight": 1 if confirmed else 2,
        "fill": True,
        "fillColor": colour,
        "fillOpacity": 0.85 if confirmed else 0.3,
        "opacity": 1,
    }
    if not confirmed:
        style["dashArray"] = "3 2"
    return style


def delivery_svg(method: str | None, size: int = 16) -> str:
    shape = DELIVERY_SHAPES.get(method or "", DELIVERY_UNKNOWN)
    return (f'<svg width="{size}" height="{size}" '
            f'viewBox="0 0 16 16" fill="{DELIVERY_COLOUR}" stroke="#FFFFFF" stroke-width="1.5">'
            f"{shape}</svg>")

# The basemap under a report map: the viewer's colours (web/static/js/basemap.js).
BASEMAP_SEA = "#b7d0e3"
BASEMAP_LAND = "#efebe2"
BASEMAP_HOME = "#f8f6f0"  # Syria
BASEMAP_FILLS = {"countries": BASEMAP_LAND, "water": BASEMAP_SEA}
BASEMAP_LINES = {  # colour, weight
    "rivers": ("#7fa9cc", 1.2),
    "governorates": ("#a397b2", 1.0),
    "borders": ("#7d6f8e", 1.8),
}
