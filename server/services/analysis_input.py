"""Checks on analysis inputs (GeoJSON geometries, CRS, times) and the table outputs (JSON rows,
GeoJSON, CSV). No SQL, no FastAPI: wrong input raises InvalidQueryError with what is wrong."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from server.errors import InvalidQueryError, PayloadTooLargeError
from server.security.csv_cells import safe_cell
from server.settings import AnalysisSettings

GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon"}
_CRS84 = {"crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84",
          "http://www.opengis.net/def/crs/ogc/1.3/crs84"}
_EPSG = re.compile(r"^(?:epsg:|urn:ogc:def:crs:epsg:[0-9.]*:|https?://www\.opengis\.net/def/crs/"
                   r"epsg/0/)?(\d{4,6})$", re.IGNORECASE)


def parse_crs(raw: str | int | None) -> int:
    """An SRID from 'EPSG:n', an OGC CRS URI/URN, 'CRS84' or a number; default 4326."""
    if raw is None or raw == "":
        return 4326
    value = str(raw).strip()
    if value.lower() in _CRS84:
        return 4326
    match = _EPSG.match(value)
    if not match:
        raise InvalidQueryError(
            f"crs {value!r} is not understood; give 'EPSG:<code>' (e.g. EPSG:4326) or CRS84")
    return int(match.group(1))


def _geojson_crs(geometry: dict[str, Any]) -> str | None:
    crs = geometry.get("crs")
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        return str(name) if name else None
    return None


def check_geometries(geometries: Sequence[Any], *, srid: int, limits: AnalysisSettings,
                     what: str = "geometry") -> list[str]:
    """Validate GeoJSON geometries; return each as GeoJSON text for PostGIS."""
    if len(geometries) > limits.max_batch:
        raise PayloadTooLargeError(
            f"{len(geometries)} geometries in one request; at most {limits.max_batch}",
            max_batch=limits.max_batch)
    if not geometries:
        raise InvalidQueryError(f"no {what} given")
    out: list[str] = []
    total = 0
    for index, geometry in enumerate(geometries):
        where = what if len(geometries) == 1 else f"{what} {index}"
        if not isinstance(geometry, dict):
            raise InvalidQueryError(f"{where} must be a GeoJSON geometry object")
        kind = geometry.get("type")
        if kind not in GEOMETRY_TYPES:
            raise InvalidQueryError(
                f"{where} has type {kind!r}; expected one of {', '.join(sorted(GEOMETRY_TYPES))}")
        stated = _geojson_crs(geometry)
        if stated is not None and parse_crs(stated) != srid:
            raise InvalidQueryError(f"{where} states crs {stated!r}, which differs from the request's")
        try:
            shp = shape(geometry)
        except Exception as exc:  # shapely raises several types on malformed coordinates
            raise InvalidQueryError(f"{where} is not valid GeoJSON: {exc}") from None
        if shp.is_empty:
            raise InvalidQueryError(f"{where} is empty")
        coords = shapely.get_coordinates(shp)
        total += len(coords)
        if len(coords) > limits.max_vertices:
            raise PayloadTooLargeError(
                f"{where} has {len(coords)} vertices; at most {limits.max_vertices}")
        if total > limits.max_total_vertices:
            raise PayloadTooLargeError(
                f"the request has more than {limits.max_total_vertices} vertices in all")
        if not all(math.isfinite(v) for v in coords.ravel()):
            raise InvalidQueryError(f"{where} has a coordinate that is not a finite number")
        if srid == 4326 and (abs(coords[:, 0]).max() > 180 or abs(coords[:, 1]).max() > 90):
            raise InvalidQueryError(
                f"{where} has coordinates outside lon -180..180 / lat -90..90; GeoJSON is "
                "lon,lat in degrees (or state another crs)")
        if not shp.is_valid:
            raise InvalidQueryError(f"{where} is not a valid geometry: {explain_validity(shp)}")
        body = {"type": kind, "coordinates": geometry.get("coordinates")}
        out.append(orjson.dumps(body).decode())
    return out


def check_distance(value: float, limits: AnalysisSettings, name: str = "distance_m") -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidQueryError(f"{name} must be a number of metres >= 0")
    if value > limits.max_distance_m:
        raise InvalidQueryError(f"{name} must be at most {limits.max_distance_m:g} metres")
    return float(value)


def instant(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def json_default(value: Any) -> Any:
    """orjson fallback: numeric(Decimal) as a number, anything else as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return safe_cell(value)


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def to_feature_collection(rows: Iterable[dict[str, Any]], *, geometry_key: str = "geometry",
                          id_key: str | None = "id", **members: Any) -> bytes:
    """GeoJSON from rows whose `geometry_key` holds GeoJSON text (or a dict, or None)."""
    features = []
    for row in rows:
        geometry = row.get(geometry_key)
        if isinstance(geometry, str):
            geometry = orjson.loads(geometry)
        props = {k: v for k, v in row.items() if k != geometry_key}
        feature: dict[str, Any] = {"type": "Feature", "geometry": geometry, "properties": props}
        if id_key and row.get(id_key) is not None:
            feature["id"] = row[id_key]
        features.append(feature)
    return orjson.dumps({"type": "FeatureCollection", **members, "features": features},
                        default=json_default)
