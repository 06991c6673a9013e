"""The situation-report map of one agreement area: a standalone HTML document built with folium.

Pure: plain dicts and GeoJSON in, an HTML string out; no database, no HTTP. The document opens
offline (Leaflet inlined, no tiles, no links): see `offline.py`."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import folium
from branca.element import Element

from . import style as st
from .basemap import add_basemap
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
from .i18n import Catalogue, canonical, catalogue
from .offline import external_references, offline_map


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
    attribution: str | None = None  # None: the catalogue's (in the report's language)
    notes: list[str] = field(default_factory=list)
    lang: str = "en"  # en, ar or ru: the words come from web/static/i18n/<lang>.json
    # the basemap's GeoJSON features around the area, per layer (server.basemaps.features_in)
    basemap: dict[str, list[dict[str, Any]]] | None = None


def _km(cat: Catalogue, metres: float) -> str:
    km = metres / 1000
    return cat.t("unit.km", n=cat.number(km, 0 if km == int(km) else 1))


def _where(cat: Catalogue, props: dict[str, Any]) -> str:
    if props.get("inside"):
        return cat.t("sitrep.inside")
    return cat.t("sitrep.outside", distance=_km(cat, float(props.get("distance_m") or 0)))


def _source(cat: Catalogue, p: dict[str, Any]) -> str:
    name = cat.vocab("source", p["source"]) if p.get("source") else ""
    return f"{name} {p.get('source_id') or ''}".strip()


def _incident_feature(cat: Catalogue, f: dict[str, Any]) -> dict[str, Any]:
    p = f.get("properties") or {}
    when = cat.day(p.get("occurred_at"))
    if p.get("occurred_until") and cat.day(p["occurred_until"]) != when:
        when = cat.t("sitrep.until", **{"from": when, "to": cat.day(p["occurred_until"])})
    a1, a2 = p.get("actor1"), p.get("actor2")
    actors = cat.t("sitrep.versus", a=a1, b=a2) if a1 and a2 else (a1 or a2 or "")
    rows = [
        [cat.t("sitrep.date"), when],
        [cat.t("sitrep.type"), cat.vocab("event_type", p.get("event_type"))],
        [cat.t("sitrep.conflict"), p.get("sub_event_type") or ""],
        [cat.t("sitrep.actors"), actors],
        [cat.t("sitrep.fatalities"), cat.number(p.get("fatalities"))],
        [cat.t("sitrep.verification"), cat.vocab("verification_status", p.get("verification_status"))],
        [cat.t("sitrep.location"), p.get("location_name") or ""],
        [cat.t("sitrep.precision"), cat.vocab("geo_precision", p.get("geo_precision"))],
        [cat.t("sitrep.where"), _where(cat, p)],
        [cat.t("sitrep.source"), _source(cat, p)],
    ]
    props = {"title": p.get("location_name") or cat.t("sitrep.incident", id=f.get("id")),
             "rows": [r for r in rows if r[1]],
             "event_type": p.get("event_type"), "verification_status": p.get("verification_status"),
             "fatalities": p.get("fatalities")}
    return {"type": "Feature", "id": f.get("id"), "geometry": f["geometry"], "properties": props}


def _delivery_feature(cat: Catalogue, f: dict[str, Any]) -> dict[str, Any]:
    p = f.get("properties") or {}
    quantity = p.get("quantity")
    unit = cat.vocab("unit", p["unit"]) if p.get("unit") else ""
    amount = f"{cat.number(quantity, 0 if quantity == int(quantity) else 2)} {unit}".strip() \
        if isinstance(quantity, int | float) else ""
    rows = [
        [cat.t("sitrep.date"), cat.day(p.get("delivered_at"))],
        [cat.t("sitrep.method"), cat.vocab("method", p.get("method"))],
        [cat.t("sitrep.cargo"), cat.vocab("cargo_type", p.get("cargo_type"))],
        [cat.t("sitrep.quantity"), amount],
        [cat.t("sitrep.organisation"), p.get("organisation") or ""],
        [cat.t("sitrep.location"), p.get("location_name") or ""],
        [cat.t("sitrep.where"), _where(cat, p)],
        [cat.t("sitrep.source"), _source(cat, p)],
    ]
    props = {"title": cat.t("sitrep.delivery", place=p.get("location_name") or f.get("id")),
             "rows": [r for r in rows if r[1]], "method": p.get("method")}
    return {"type": "Feature", "id": f.get("id"), "geometry": f["geometry"], "properties": props}


def _title(cat: Catalogue, data: SitrepMap) -> TitlePanel:
    a = data.area["properties"]
    signed = cat.t("sitrep.signed_on", date=cat.day(a["signed_at"])) if a.get("signed_at") \
        else cat.t("sitrep.not_signed")
    lines = [
        cat.t("sitrep.status_line", status=cat.vocab("status", a.get("status")), signed=signed,
              kind=cat.vocab("kind", a.get("kind"))),
        cat.t("sitrep.period", start=cat.instant(data.start), end=cat.instant(data.end)),
        cat.t("sitrep.incidents_line", distance=_km(cat, data.buffer_m),
              n=cat.number(data.incident_count), inside=cat.number(data.incidents_inside),
              fatalities=cat.number(data.fatalities)),
        cat.t("sitrep.deliveries_line", n=cat.number(data.delivery_count)),
    ]
    if a.get("parties"):
        lines.append(cat.t("sitrep.parties_line", parties="; ".join(a["parties"])))
    notes = list(data.notes)
    if len(data.incidents) < data.incident_count:
        notes.append(cat.t("sitrep.first_of", shown=cat.number(len(data.incidents)),
                           total=cat.number(data.incident_count)))
    notes.append(cat.t("sitrep.generated", date=cat.instant(data.generated_at),
                       attribution=_attribution(cat, data)))
    return TitlePanel(cat.t("sitrep.heading", name=a.get("name", "")), lines, notes,
                      label=cat.t("sitrep.title_panel"))


def _attribution(cat: Catalogue, data: SitrepMap) -> str:
    text = data.attribution if data.attribution is not None else cat.t("sitrep.attribution")
    return f"{text} {cat.t('sitrep.basemap_attribution')}" if data.basemap else text


def _legend(cat: Catalogue, data: SitrepMap, incidents: list[dict[str, Any]]) -> Legend:
    status = data.area["properties"].get("status", "")
    count = lambda label, n: cat.t("sitrep.count", label=label, n=cat.number(n))  # noqa: E731
    area_items = [(swatch_polygon(st.area_style(status)),
                   cat.t("sitrep.area_status", status=cat.vocab("status", status)))]
    if data.buffer:
        area_items.append((swatch_line(st.BUFFER_STYLE),
                           cat.t("sitrep.around", distance=_km(cat, data.buffer_m))))
    types = Counter(canonical("event_type", f["properties"]["event_type"] or "")
                    for f in incidents)
    none = cat.t("sitrep.none_in_period")
    incident_items = [
        (swatch_circle(st.incident_style(t, "confirmed", 0)), count(cat.vocab("event_type", t), n))
        for t, n in sorted(types.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    ] or [(swatch_circle(st.incident_style(None, "confirmed", 0)), none)]
    incident_items += [
        (swatch_circle(st.incident_style(None, "confirmed", 0)), cat.t("sitrep.confirmed_style")),
        (swatch_circle(st.incident_style(None, "reported", 0)), cat.t("sitrep.unconfirmed_style")),
        (swatch_circle(st.incident_style(None, "confirmed", 9), st.incident_radius(9)),
         cat.t("sitrep.size")),
    ]
    methods = Counter(f["properties"]["method"] for f in data.deliveries)
    delivery_items = [(st.delivery_svg(m, 14), count(cat.vocab("method", m), n))
                      for m, n in sorted(methods.items(), key=lambda kv: kv[0] or "")] \
        or [(st.delivery_svg(None, 14), none)]
    return Legend([(cat.t("sitrep.legend_area"), area_items),
                   (cat.t("sitrep.legend_incidents"), incident_items),
                   (cat.t("sitrep.legend_deliveries"), delivery_items)],
                  label=cat.t("sitrep.legend"))


def build_sitrep_map(data: SitrepMap) -> str:
    """The whole HTML document. Raises ValueError if anything in it would reach the network."""
    a = data.area["properties"]
    cat = catalogue(data.lang)
    m = offline_map(zoom_control="topright", control_scale=True, prefer_canvas=False,
                    location=[0, 0], zoom_start=2)
    root = m.get_root()
    root.title = html.escape(cat.t("sitrep.heading", name=a.get("name", "")))  # type: ignore[attr-defined]
    root.header.add_child(Element(PANEL_CSS), name="truce_css")  # type: ignore[attr-defined]
    root.header.add_child(Element(POPUP_JS), name="truce_popup_js")  # type: ignore[attr-defined]

    if data.basemap:
        add_basemap(m, data.basemap, cat.lang)

    if data.buffer:
        folium.GeoJson({"type": "Feature", "geometry": data.buffer, "properties": {}},
                       name="buffer", style_function=lambda _: dict(st.BUFFER_STYLE),
                       interactive=False).add_to(m)

    area = {"type": "Feature", "id": data.area.get("id", a.get("id")),
            "geometry": data.area["geometry"],
            "properties": {"title": a.get("name", ""), "rows": [
                [cat.t("sitrep.status"), cat.vocab("status", a.get("status"))],
                [cat.t("sitrep.kind"), cat.vocab("kind", a.get("kind"))],
                [cat.t("sitrep.signed"), cat.day(a.get("signed_at")) if a.get("signed_at")
                 else cat.t("sitrep.not_signed")],
                [cat.t("sitrep.parties"), "; ".join(a.get("parties") or [])],
                [cat.t("sitrep.source"), _source(cat, a)]]}}
    area_style = st.area_style(a.get("status", ""))
    folium.GeoJson(area, name="area", style_function=lambda _: dict(area_style),
                   on_each_feature=BIND_POPUP).add_to(m)

    # the largest circles first, so that smaller ones at the same place stay visible and clickable
    incidents = sorted((_incident_feature(cat, f) for f in data.incidents),
                       key=lambda f: -st.incident_radius(f["properties"]["fatalities"]))
    if incidents:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": incidents}, name="incidents",
            marker=folium.CircleMarker(radius=5),
            style_function=lambda f: st.incident_style(f["properties"]["event_type"],
                                                       f["properties"]["verification_status"],
                                                       f["properties"]["fatalities"]),
            on_each_feature=BIND_POPUP).add_to(m)

    deliveries = [_delivery_feature(cat, f) for f in data.deliveries]
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
    _title(cat, data).add_to(m)
    _legend(cat, data, incidents).add_to(m)
    Attribution(html.escape(_attribution(cat, data))).add_to(m)

    # the document's language and direction (folium writes a bare <html>)
    document = re.sub(r"<html\b[^>]*>", f'<html lang="{cat.lang}" dir="{cat.dir}">',
                      root.render(), count=1)
    leaks = external_references(document)
    if leaks:
        raise ValueError(f"the report map would load from the network: {leaks[:5]}")
    return document
