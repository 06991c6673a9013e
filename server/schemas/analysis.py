"""Request and response models of /analysis/, with the examples shown in the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    at: datetime | None = Field(None, description="when (ISO 8601); default now")
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


class DeconflictionResponse(BaseModel):
    """The single form fills areas/settlements/aid_deliveries; the batch form fills results."""

    model_config = ConfigDict(json_schema_extra={"examples": [{  # type: ignore[list-item]
        "at": "2016-03-15T08:00:00+00:00", "distance_m": 2000, "nearby_m": 5000,
        "recent_days": 14, "rule": "An area is in force at `at` when ...",
        "areas": [AREA_HIT_EXAMPLE], "settlements": [SETTLEMENT_EXAMPLE],
        "aid_deliveries": [AID_EXAMPLE]}]})

    at: str
    distance_m: float
    nearby_m: float
    recent_days: int
    rule: str
    areas: list[dict[str, Any]] | None = None
    settlements: list[dict[str, Any]] | None = None
    aid_deliveries: list[dict[str, Any]] | None = None
    results: list[DeconflictionResult] | None = None
