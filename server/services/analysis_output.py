"""The shapes of /analysis/ answers in each output format. No SQL, no FastAPI.

- **Negotiation**: `f=json|geojson|csv` wins; otherwise the Accept header (application/json,
  application/geo+json, text/csv, by q-value; `*/*` gives the endpoint's default); a format an
  endpoint does not offer is a 400 (`f=`) or a 406 (Accept).
- **Deconfliction** as a table or a map: one row (feature) per hit, with `index` (the input
  geometry's place in the batch, 0 for the single form) and `layer` (areas, settlements,
  aid_deliveries); areas carry their polygon, settlements and deliveries their point.
- **Exposure** and the **area report**: one row (CSV) and, on the map, the zone or the area with
  the answer as properties (the report adds the area's aid deliveries as points)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session

from server.errors import InvalidQueryError, NotAcceptableError
from server.queries import analysis_areas as areas_q

FORMATS = ("json", "geojson", "csv")
MEDIA_TYPES = {"json": "application/json", "geojson": "application/geo+json",
               "csv": "text/csv"}
_BY_MEDIA = {"application/json": "json", "application/geo+json": "geojson",
             "application/vnd.geo+json": "geojson", "text/csv": "csv"}
_ANY = ("*/*", "application/*", "text/html", "")

DECONFLICTION_LAYERS = ("areas", "settlements", "aid_deliveries")
DECONFLICTION_COLUMNS = [
    "index", "layer", "id", "name", "kind", "status", "current_status", "parties", "signed_at",
    "effective_from", "effective_to", "inside", "population", "delivered_at", "method",
    "cargo_type", "quantity", "unit", "organisation", "location_name", "distance_m", "lon", "lat"]
EXPOSURE_COLUMNS = ["zone", "incidents", "distance_m", "people", "pixels", "covered_pixels",
                    "nodata_pixels", "raster_name", "raster_date", "raster_crs", "method"]
REPORT_COLUMNS = [
    "at", "id", "name", "kind", "status", "status_at", "signed_at", "effective_from",
    "effective_to", "area_km2", "distance_m", "inside_total", "inside_before", "inside_after",
    "inside_fatalities", "near_total", "near_before", "near_after", "near_fatalities",
    "violations_after", "rate_after", "rate_recent", "trend", "risk",
    "days_since_last_confirmed", "aid_deliveries", "last_delivery_at", "people"]


def _accepted(accept: str) -> list[str]:
    """Media types of an Accept header, best first (q-value, then order); q=0 left out."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, order, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def negotiate(f: str | None, accept: str | None, *, offered: Sequence[str] = FORMATS,
              default: str = "json") -> str:
    """The output format: `f` first, else the Accept header, else `default`."""
    if f:
        fmt = f.lower()
        if fmt not in offered:
            raise InvalidQueryError(f"f={f!r} is not offered here; use one of "
                                    f"{', '.join(offered)}", formats=list(offered))
        return fmt
    if not accept:
        return default
    for media in _accepted(accept):
        found = _BY_MEDIA.get(media)
        if found in offered:
            return str(found)
        if media in _ANY or (media == "text/*" and "csv" in offered):
            return "csv" if media == "text/*" else default
    raise NotAcceptableError(
        f"none of the accepted media types ({accept}) is offered here; use one of "
        f"{', '.join(MEDIA_TYPES[f] for f in offered)} (or f={'|'.join(offered)})",
        formats=list(offered))


def _point(row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("lon") is None or row.get("lat") is None:
        return None
    return {"type": "Point", "coordinates": [float(row["lon"]), float(row["lat"])]}


def deconfliction_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Every hit of a deconfliction answer (single or batch) as one flat row."""
    results = answer.get("results")
    if results is None:
        results = [{"index": 0, **{layer: answer.get(layer) or [] for layer in
                                   DECONFLICTION_LAYERS}}]
    return [{"index": result["index"], "layer": layer, **hit}
            for result in results for layer in DECONFLICTION_LAYERS
            for hit in result.get(layer) or []]


def deconfliction_features(answer: dict[str, Any], *, session: Session) -> list[dict[str, Any]]:
    """The rows of `deconfliction_rows`, each with its geometry and a feature id
    `<index>/<layer>.<id>` (unique within the answer)."""
    rows = deconfliction_rows(answer)
    polygons = areas_q.geometries([r["id"] for r in rows if r["layer"] == "areas"],
                                  session=session)
    for row in rows:
        row["fid"] = f"{row['index']}/{row['layer']}.{row['id']}"
        row["geometry"] = (polygons.get(row["id"]) if row["layer"] == "areas"
                           else _point(row))
    return rows


def exposure_row(answer: dict[str, Any]) -> dict[str, Any]:
    raster = answer.get("raster") or {}
    row = {k: v for k, v in answer.items() if k not in ("raster", "geometry")}
    row.update({f"raster_{k}": raster.get(k) for k in ("name", "date", "crs", "resolution")})
    return row


def report_row(report: dict[str, Any]) -> dict[str, Any]:
    """The area report as one table row: the area, its counts, compliance, aid and people."""
    area = {k: v for k, v in report["area"].items() if k != "geometry"}
    row: dict[str, Any] = {"at": report["at"], **area}
    incidents = report.get("incidents") or {}
    row["distance_m"] = incidents.get("distance_m")
    for zone in ("inside", "near"):
        data = incidents.get(zone) or {}
        row[f"{zone}_total"] = data.get("total")
        row[f"{zone}_before"] = data.get("before_signing")
        row[f"{zone}_after"] = data.get("after_signing")
        row[f"{zone}_fatalities"] = data.get("fatalities")
    compliance = report.get("compliance") or {}
    for key in ("violations_after", "rate_after", "rate_recent", "trend", "risk",
                "days_since_last_confirmed"):
        row[key] = compliance.get(key)
    deliveries = report.get("aid_deliveries") or []
    row["aid_deliveries"] = len(deliveries)
    row["last_delivery_at"] = deliveries[0]["delivered_at"] if deliveries else None
    row["people"] = (report.get("exposure") or {}).get("people")
    return row


def report_features(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The area (layer `area`, the whole report but its deliveries as properties) and its aid
    deliveries (layer `aid_deliveries`, points)."""
    area = dict(report["area"])
    geometry = area.pop("geometry")
    if isinstance(geometry, str):
        geometry = orjson.loads(geometry)
    props = {k: v for k, v in report.items() if k not in ("area", "aid_deliveries")}
    rows = [{"fid": f"area.{area['id']}", "layer": "area", **area, **props,
             "geometry": geometry}]
    rows += [{"fid": f"aid_deliveries.{d['id']}", "layer": "aid_deliveries", **d,
              "geometry": _point(d)} for d in report.get("aid_deliveries") or []]
    return rows
