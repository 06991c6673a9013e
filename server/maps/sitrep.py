"""The situation-report map of one agreement area: a standalone HTML document built with folium.

Pure: plain dicts and GeoJSON in, an HTML string out; no database, no HTTP. The document opens
offline (Leaflet inlined, no tiles, no links): see `offline.py`."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import folium
from branca.element import Element

from . import style as st
from .elements import (
    BIND_POPUP,
    PANEL_CSS,
    POPUP_JS,
    Attribution,
    Legend,
    TitlePanel,
    swatch_circle,
    swatch_line,
    swatch_polygon,
)
from .offline import external_references, offline_map

ATTRIBUTION = ("Incidents: UCDP GED; boundaries: OCHA/UNCS; illustrative agreement areas; "
               "aid deliveries: illustrative. Map: Truce, with Leaflet and folium.")


@dataclass(frozen=True)
class SitrepMap:
    """What the map shows. Features are GeoJSON dicts whose properties are the table columns."""

    area: dict[str, Any]  # Feature: id, name, kind, status, signed_at, parties, source
    start: datetime
    end: datetime
    buffer_m: float
    incidents: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    incident_count: int = 0  # all matching, even beyond the markers drawn
    incidents_inside: int = 0
    fatalities: int = 0
    delivery_count: int = 0
    buffer: dict[str, Any] | None = None  # geometry of the search ring around the area
    bounds: tuple[float, float, float, float] | None = None  # minx, miny, maxx, maxy
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attribution: str = ATTRIBUTION
    notes: list[str] = field(default_factory=list)


def _day(value: str | None) -> str:
    return value[:10] if value else "unknown"


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km".replace(".0 km", " km")


def _where(props: dict[str, Any]) -> str:
    if props.get("inside"):
        return "inside the area"
    return f"{_km(float(props.get('distance_m') or 0))} outside the area"


def _incident_feature(f: dict[str, Any]) -> dict[str, Any]:
    p = f.get("properties") or {}
    when = _day(p.get("occurred_at"))
    if p.get("occurred_until") and _day(p["occurred_until"]) != when:
        when = f"{when} to {_day(p['occurred_until'])}"
    actors = " vs ".join(a for a in (p.get("actor1"), p.get("actor2")) if a)
    rows = [
        ["Date", when],
        ["Type", st.label(p.get("event_type"))],
        ["Conflict", p.get("sub_event_type") or ""],
        ["Actors", actors],
        ["Fatalities", "unknown" if p.get("fatalities") is None else str(p["fatalities"])],
        ["Verification", st.label(p.get("verification_status"))],
        ["Location", p.get("location_name") or ""],
        ["Precision", st.label(p.get("geo_precision"))],
        ["Where", _where(p)],
        ["Source", f"{p.get('source', '')} {p.get('source_id', '')}".strip()],
    ]
    props = {"title": p.get("location_name") or f"Incident {f.get('id')}",
             "rows": [r for r in rows if r[1]],
             "event_type": p.get("event_type"), "verification_status": p.get("verification_status"),
             "fatalities": p.get("fatalities")}
    return {"type": "Feature", "id": f.get("id"), "geometry": f["geometry"], "properties": props}


def _delivery_feature(f: dict[str, Any]) -> dict[str, Any]:
    p = f.get("properties") or {}
    quantity = p.get("quantity")
    amount = f"{quantity:g} {p.get('unit') or ''}".strip() if isinstance(quantity, int | float) \
        else ""
    rows = [
        ["Date", _day(p.get("delivered_at"))],
        ["Method", st.label(p.get("method"))],
        ["Cargo", st.label(p.get("cargo_type"))],
        ["Quantity", amount],
        ["Organisation", p.get("organisation") or ""],
        ["Location", p.get("location_name") or ""],
        ["Where", _where(p)],
        ["Source", f"{p.get('source', '')} {p.get('source_id', '')}".strip()],
    ]
    props = {"title": f"Aid delivery: {p.get('location_name') or f.get('id')}",
             "rows": [r for r in rows if r[1]], "method": p.get("method")}
    return {"type": "Feature", "id": f.get("id"), "geometry": f["geometry"], "properties": props}


def _title(data: SitrepMap) -> TitlePanel:
    a = data.area["properties"]
    signed = f"signed {_day(a['signed_at'])}" if a.get("signed_at") else "not signed"
    lines = [
        f"Status: {a.get('status', 'unknown')} ({signed}); {a.get('kind', '')}",
        f"Period: {data.start:%Y-%m-%d %H:%M} to {data.end:%Y-%m-%d %H:%M} UTC",
        f"Incidents within {_km(data.buffer_m)}: {data.incident_count} "
        f"({data.incidents_inside} inside the area), fatalities {data.fatalities}",
        f"Aid deliveries: {data.delivery_count}",
    ]
    if a.get("parties"):
        lines.append("Parties: " + "; ".join(a["parties"]))
    notes = list(data.notes)
    if len(data.incidents) < data.incident_count:
        notes.append(f"The map draws the first {len(data.incidents)} of {data.incident_count} "
                     "incidents (earliest first); the counts cover all.")
    notes.append(f"Generated {data.generated_at:%Y-%m-%d %H:%M} UTC. {data.attribution}")
    return TitlePanel(f"Situation report: {a.get('name', '')}", lines, notes)


def _legend(data: SitrepMap, incidents: list[dict[str, Any]]) -> Legend:
    status = data.area["properties"].get("status", "")
    area_items = [(swatch_polygon(st.area_style(status)), f"Agreement area ({status})")]
    if data.buffer:
        area_items.append((swatch_line(st.BUFFER_STYLE), f"{_km(data.buffer_m)} around the area"))
    types = Counter(f["properties"]["event_type"] for f in incidents)
    incident_items = [
        (swatch_circle(st.incident_style(t, "confirmed", 0)), f"{st.label(t)} ({n})")
        for t, n in sorted(types.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    ] or [(swatch_circle(st.incident_style(None, "confirmed", 0)), "none in the period")]
    incident_items += [
        (swatch_circle(st.incident_style(None, "confirmed", 0)), "Filled, solid: confirmed"),
        (swatch_circle(st.incident_style(None, "reported", 0)), "Faint, dashed: not confirmed"),
        (swatch_circle(st.incident_style(None, "confirmed", 9), st.incident_radius(9)),
         "Size: fatalities (9 shown)"),
    ]
    methods = Counter(f["properties"]["method"] for f in data.deliveries)
    delivery_items = [(st.delivery_svg(m, 14), f"{st.label(m)} ({n})")
                      for m, n in sorted(methods.items(), key=lambda kv: kv[0] or "")] \
        or [(st.delivery_svg(None, 14), "none in the period")]
    return Legend([("Area", area_items), ("Incidents by type", incident_items),
                   ("Aid deliveries by method", delivery_items)])


def build_sitrep_map(data: SitrepMap) -> str:
    """The whole HTML document. Raises ValueError if anything in it would reach the network."""
    a = data.area["properties"]
    m = offline_map(zoom_control="topright", control_scale=True, prefer_canvas=False,
                    location=[0, 0], zoom_start=2)
    root = m.get_root()
    root.title = html.escape(f"Situation report: {a.get('name', '')}")  # type: ignore[attr-defined]
    root.header.add_child(Element(PANEL_CSS), name="truce_css")  # type: ignore[attr-defined]
    root.header.add_child(Element(POPUP_JS), name="truce_popup_js")  # type: ignore[attr-defined]

    if data.buffer:
        folium.GeoJson({"type": "Feature", "geometry": data.buffer, "properties": {}},
                       name="buffer", style_function=lambda _: dict(st.BUFFER_STYLE),
                       interactive=False).add_to(m)

    area = {"type": "Feature", "id": data.area.get("id", a.get("id")),
            "geometry": data.area["geometry"],
            "properties": {"title": a.get("name", ""), "rows": [
                ["Status", a.get("status", "")], ["Kind", a.get("kind", "")],
                ["Signed", _day(a.get("signed_at")) if a.get("signed_at") else "not signed"],
                ["Parties", "; ".join(a.get("parties") or [])],
                ["Source", f"{a.get('source', '')} {a.get('source_id', '')}".strip()]]}}
    area_style = st.area_style(a.get("status", ""))
    folium.GeoJson(area, name="area", style_function=lambda _: dict(area_style),
                   on_each_feature=BIND_POPUP).add_to(m)

    # the largest circles first, so that smaller ones at the same place stay visible and clickable
    incidents = sorted((_incident_feature(f) for f in data.incidents),
                       key=lambda f: -st.incident_radius(f["properties"]["fatalities"]))
    if incidents:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": incidents}, name="incidents",
            marker=folium.CircleMarker(radius=5),
            style_function=lambda f: st.incident_style(f["properties"]["event_type"],
                                                       f["properties"]["verification_status"],
                                                       f["properties"]["fatalities"]),
            on_each_feature=BIND_POPUP).add_to(m)

    deliveries = [_delivery_feature(f) for f in data.deliveries]
    if deliveries:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": deliveries}, name="deliveries",
            marker=folium.Marker(icon=folium.DivIcon(html=st.delivery_svg(None),
                                                     icon_size=(16, 16), icon_anchor=(8, 8),
                                                     class_name="truce-delivery-icon")),
            style_function=lambda f: {"html": st.delivery_svg(f["properties"]["method"])},
            on_each_feature=BIND_POPUP).add_to(m)

    if data.bounds:
        minx, miny, maxx, maxy = data.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30))
    _title(data).add_to(m)
    _legend(data, incidents).add_to(m)
    Attribution(html.escape(data.attribution)).add_to(m)

    document = root.render()
    leaks = external_references(document)
    if leaks:
        raise ValueError(f"the report map would load from the network: {leaks[:5]}")
    return document
