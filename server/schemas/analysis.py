"""Request and response models of /analysis/, with the examples shown in the OpenAPI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.params import DateTime
from server.security.csv_cells import safe_cell

POINT_EXAMPLE: dict[str, Any] = {"type": "Point", "coordinates": [36.66, 34.73]}
ROUTE_EXAMPLE: dict[str, Any] = {"type": "LineString", "coordinates": [[36.60, 34.70], [36.72, 34.76]]}


class DeconflictionRequest(BaseModel):
    """One geometry (`geometry`) or a batch (`geometries`, up to 1,000), checked at `at`."""

    model_config = ConfigDict(json_schema_extra={"examples": [  # type: ignore[list-item]
        {"geometry": POINT_EXAMPLE, "at": "2016-03-15T08:00:00Z", "distance_m": 2000},
        {"geometries": [POINT_EXAMPLE, ROUTE_EXAMPLE], "at": "2016-03-15T08:00:00Z",
         "distance_m": 500},
    ]})

    geometry: dict[str, Any] | None = Field(
        None, description="a GeoJSON geometry (Point, LineString, Polygon or Multi*)")
    geometries: list[dict[str, Any]] | None = Field(
        None, description="a batch of GeoJSON geometries (at most 1,000); answered in order")
    at: DateTime | None = Field(None, description="when (RFC 3339); default now")
    distance_m: float = Field(0, ge=0, description="report areas within this many metres (0: "
                              "only those the geometry touches)")
    nearby_m: float | None = Field(None, ge=0, description="radius for nearby settlements and aid "
                                   "deliveries; default from settings (5,000 m)")
    recent_days: int | None = Field(None, ge=1, le=3660, description="aid deliveries in the "
                                    "`recent_days` before `at`; default 14")
    crs: str | None = Field(None, description="the geometries' CRS, e.g. EPSG:4326 (default) or "
                            "EPSG:32637")

    @model_validator(mode="after")
    def _one_form(self) -> DeconflictionRequest:
        if (self.geometry is None) == (self.geometries is None):
            raise ValueError("give exactly one of 'geometry' or 'geometries'")
        return self


AREA_HIT_EXAMPLE: dict[str, Any] = {
    "id": 1, "name": "Wa'er (Homs city)", "kind": "settlement", "status": "signed",
    "current_status": "signed", "parties": ["Government of Syria", "Local armed opposition"],
    "signed_at": "2016-02-26T12:00:00+00:00", "effective_from": "2016-02-27T00:00:00+00:00",
    "effective_to": None, "distance_m": 0, "inside": True,
}
SETTLEMENT_EXAMPLE: dict[str, Any] = {"id": 12, "name": "Homs", "name_ar": "حمص", "population": 775404,
                      "distance_m": 1834.2, "lon": 36.72339, "lat": 34.72682}
AID_EXAMPLE: dict[str, Any] = {"id": 3, "delivered_at": "2016-03-10T09:00:00+00:00", "method": "convoy",
               "cargo_type": "food", "quantity": 40, "unit": "tonnes", "organisation": "WFP",
               "location_name": "Al Waer", "distance_m": 950.0, "lon": 36.65, "lat": 34.73}


class DeconflictionResult(BaseModel):
    index: int | None = None
    areas: list[dict[str, Any]]
    settlements: list[dict[str, Any]]
    aid_deliveries: list[dict[str, Any]]


DECONFLICTION_EXAMPLE: dict[str, Any] = {
    "at": "2016-03-15T08:00:00+00:00", "distance_m": 2000, "nearby_m": 5000,
    "recent_days": 14, "rule": "An area is in force at `at` when ...",
    "areas": [AREA_HIT_EXAMPLE], "settlements": [SETTLEMENT_EXAMPLE],
    "aid_deliveries": [AID_EXAMPLE]}


class DeconflictionResponse(BaseModel):
    """The single form fills areas/settlements/aid_deliveries; the batch form fills results."""

    model_config = ConfigDict(json_schema_extra={"examples": [  # type: ignore[list-item]
        DECONFLICTION_EXAMPLE]})

    at: str
    distance_m: float
    nearby_m: float
    recent_days: int
    rule: str
    areas: list[dict[str, Any]] | None = None
    settlements: list[dict[str, Any]] | None = None
    aid_deliveries: list[dict[str, Any]] | None = None
    results: list[DeconflictionResult] | None = None


# --- examples of every /analysis/ answer, in each format (the OpenAPI shows them) ---------------

JSON = "application/json"
GEOJSON = "application/geo+json"
CSV = "text/csv"

AREA_POLYGON_EXAMPLE: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [36.66, 34.89], [36.74, 34.89], [36.74, 34.95], [36.66, 34.95], [36.66, 34.89]]]}


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return safe_cell(value)


def csv_example(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """The CSV an endpoint writes for `rows`: a header row, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def geojson_example(meta: dict[str, Any], rows: Sequence[dict[str, Any]],
                    geometry: dict[str, Any] | None, id_key: str = "id") -> dict[str, Any]:
    """The FeatureCollection an endpoint writes for `rows`, each drawn with `geometry`."""
    return {"type": "FeatureCollection", **meta, "features": [
        {"type": "Feature", "id": row.get(id_key), "geometry": geometry, "properties": row}
        for row in rows]}


def responses(example: dict[str, Any], *, geojson: dict[str, Any] | None = None,
              csv_text: str | None = None, extra: dict[int | str, Any] | None = None,
              ) -> dict[int | str, Any]:
    """OpenAPI `responses` of an analysis endpoint: 200 with an example per format it offers."""
    content: dict[str, Any] = {JSON: {"example": example}}
    if geojson is not None:
        content[GEOJSON] = {"example": geojson}
    if csv_text is not None:
        content[CSV] = {"schema": {"type": "string"}, "example": csv_text}
    return {200: {"content": content},
            400: {"description": "a parameter is wrong (said how), e.g. an unknown `f`"},
            406: {"description": "the Accept header names no format this endpoint offers"},
            **(extra or {})}


AREA_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 4, "name": "Ar-Rastan sub-district", "kind": "region", "status": "violated",
    "signed_at": "2016-02-27T12:00:00+00:00", "distance_m": 5000, "dedupe": True,
    "inside": {"total": 62, "before_signing": 3, "after_signing": 59, "fatalities": 211,
               "by_event_type": {"state_based_violence": 60, "one_sided_violence": 2},
               "by_verification_status": {"confirmed": 61, "reported": 1},
               "duplicates_merged": 4},
    "near": {"total": 20, "before_signing": 1, "after_signing": 19, "fatalities": 30,
             "by_event_type": {"state_based_violence": 20},
             "by_verification_status": {"confirmed": 20}, "duplicates_merged": 0},
}
AREA_SUMMARY_ROW_EXAMPLE: dict[str, Any] = {
    **{k: v for k, v in AREA_SUMMARY_EXAMPLE.items() if k not in ("inside", "near")},
    "inside_total": 62, "inside_before": 3, "inside_after": 59, "inside_fatalities": 211,
    "near_total": 20, "near_before": 1, "near_after": 19, "near_fatalities": 30,
    "inside_duplicates_merged": 4, "near_duplicates_merged": 0}
COMPLIANCE_EXAMPLE: dict[str, Any] = {
    "id": 4, "name": "Ar-Rastan sub-district", "kind": "region", "status": "violated",
    "signed_at": "2016-02-27T12:00:00+00:00", "weeks_since_signing": 12.4,
    "violations_before": 5, "violations_after": 59, "rate_before": 0.625, "rate_after": 4.76,
    "change": 4.135, "rate_recent": 6.5, "rate_prior": 3.25, "trend": "rising",
    "confirmed_after": 58, "last_confirmed_day": "2016-05-20",
    "days_since_last_confirmed": 4, "risk": 12.375, "dedupe": True, "duplicates_merged": 3,
}
AID_GAP_EXAMPLE: dict[str, Any] = {
    "id": 17, "name": "Talbiseh", "population": 31062, "area_id": 5,
    "area_name": "Talbiseh sub-district", "last_delivery_at": "2016-04-02T10:00:00+00:00",
    "days_without_delivery": 88, "nearest_recent_delivery_m": 8421.5,
    "nearest_recent_delivery_id": 40, "priority": 2733456}
AID_RISK_EXAMPLE: dict[str, Any] = {
    "id": 5, "delivered_at": "2016-03-12T14:00:00+00:00", "method": "airdrop",
    "cargo_type": "nfi", "incidents": 2, "fatalities": 3, "nearest_incident_m": 1250.4,
    "closest_incident_hours": 10.0, "incident_ids": [812, 815]}
HOTSPOT_EXAMPLE: dict[str, Any] = {
    "cluster_id": 0, "incidents": 412, "fatalities": 1630,
    "first_at": "2016-03-01T00:00:00+00:00", "last_at": "2016-03-31T00:00:00+00:00",
    "lon": 37.1544, "lat": 36.2012}
CELL_EXAMPLE: dict[str, Any] = {"cell": "41:392", "incidents": 311, "fatalities": 804}
SERIES_EXAMPLE: dict[str, Any] = {"period": "2016-02-22", "incidents": 31, "fatalities": 95,
                                  "confirmed": 30}
NEAREST_EXAMPLE: dict[str, Any] = {"id": 12, "name": "Homs", "population": 775404,
                                   "distance_m": 1834.2}
EXPOSURE_EXAMPLE: dict[str, Any] = {
    "zone": "within 5000 m of 12 incidents", "incidents": 12, "distance_m": 5000,
    "people": 48211.4, "pixels": 96, "covered_pixels": 71.2, "nodata_pixels": 0,
    "raster": {"name": "population", "date": "2016-01-01", "crs": "EPSG:4326",
               "resolution": [0.0083, 0.0083]},
    "method": "zonal sum, partial pixels weighted by covered share"}
REPORT_EXAMPLE: dict[str, Any] = {
    "at": "2016-06-30T00:00:00+00:00",
    "area": {"id": 4, "name": "Ar-Rastan sub-district", "status": "violated"},
    "history": [{"effective_at": "2016-02-27T00:00:00+00:00",
                 "changed_at": "2026-11-20T12:00:00+00:00", "status": "signed"}],
    "incidents": {"inside": AREA_SUMMARY_EXAMPLE["inside"], "distance_m": 5000, "dedupe": True},
    "compliance": COMPLIANCE_EXAMPLE, "aid_deliveries": [], "exposure": {"people": 52000.0}}
