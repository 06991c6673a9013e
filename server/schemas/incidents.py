"""The body of OGC API - Features Part 4 writes on incidents: a GeoJSON Feature whose Point
geometry and properties are checked against the incidents schema and its vocabularies.

Server-managed properties (`source`, `etl_run_id`, `created_at`, `updated_at`) may be sent back
as read (a GET body round-trips) and are ignored. `verification_status` and `sensitivity` belong
to the verification workflow: a write may repeat the current values, not change them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.db.tables.incidents import (
    GEO_PRECISIONS,
    SENSITIVITIES,
    TIME_PRECISIONS,
    VERIFICATION_STATUSES,
)

TimePrecision = Literal[TIME_PRECISIONS]  # type: ignore[valid-type]
GeoPrecision = Literal[GEO_PRECISIONS]  # type: ignore[valid-type]
Status = Literal[VERIFICATION_STATUSES]  # type: ignore[valid-type]
Sensitivity = Literal[SENSITIVITIES]  # type: ignore[valid-type]

#: sent back as read, never written by a client
READ_ONLY = ("source", "etl_run_id", "created_at", "updated_at")
#: moved only by POST /incidents/{id}/verification
WORKFLOW = ("verification_status", "sensitivity")
PCODE = r"^[A-Za-z0-9_-]{1,32}$"
MAX_COUNT = 1_000_000


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value > datetime.now(UTC) + timedelta(hours=1):
        raise ValueError("is in the future")
    if value.year < 1946:
        raise ValueError("is before 1946")
    return value


class IncidentProperties(BaseModel):
    """Every writable column of an incident; anything else is refused (422)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source_id: str | None = Field(None, min_length=1, max_length=200,
                                  description="the source's own id; generated when absent")
    occurred_at: datetime
    occurred_until: datetime | None = None
    time_precision: TimePrecision = "day"
    reported_at: datetime | None = None
    event_type: str = Field(min_length=2, max_length=80, pattern=r"^[\w][\w \-/]*$")
    sub_event_type: str | None = Field(None, max_length=200)
    actor1: str | None = Field(None, max_length=200)
    actor2: str | None = Field(None, max_length=200)
    fatalities: int | None = Field(None, ge=0, le=MAX_COUNT)
    fatalities_low: int | None = Field(None, ge=0, le=MAX_COUNT)
    fatalities_high: int | None = Field(None, ge=0, le=MAX_COUNT)
    geo_precision: GeoPrecision = "exact"
    location_name: str | None = Field(None, max_length=200)
    admin1_pcode: str | None = Field(None, pattern=PCODE)
    admin2_pcode: str | None = Field(None, pattern=PCODE)
    admin3_pcode: str | None = Field(None, pattern=PCODE)
    notes: str | None = Field(None, max_length=10_000)
    verification_status: Status | None = None
    sensitivity: Sensitivity | None = None

    @field_validator("occurred_at", "occurred_until", "reported_at")
    @classmethod
    def _sane_time(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> IncidentProperties:
        if self.occurred_until is not None and self.occurred_until < self.occurred_at:
            raise ValueError("occurred_until is before occurred_at")
        low, high = self.fatalities_low, self.fatalities_high
        if low is not None and high is not None and low > high:
            raise ValueError("fatalities_low is above fatalities_high")
        if self.fatalities is not None and (
                (low is not None and self.fatalities < low)
                or (high is not None and self.fatalities > high)):
            raise ValueError("fatalities is outside fatalities_low..fatalities_high")
        return self

    def columns(self) -> dict[str, Any]:
        """The values to write (workflow properties excluded: the service checks them)."""
        return self.model_dump(exclude=set(WORKFLOW))


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)

    @field_validator("coordinates")
    @classmethod
    def _lon_lat(cls, value: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError("coordinates must be finite numbers")
        lon, lat = value[0], value[1]
        if not -180 <= lon <= 180 or not -90 <= lat <= 90:
            raise ValueError("coordinates must be [lon, lat] in CRS84 (-180..180, -90..90)")
        return value[:2]


class IncidentFeatureIn(BaseModel):
    """A GeoJSON Feature: Point geometry (CRS84) and the incident's properties."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    id: int | str | None = None
    geometry: PointIn
    properties: IncidentProperties
    links: list[dict[str, Any]] | None = None  # as read; ignored
    bbox: list[float] | None = None  # as read; ignored


def without_read_only(properties: Any) -> Any:
    """The properties object with the server-managed ones dropped (as read, ignored)."""
    if isinstance(properties, dict):
        return {k: v for k, v in properties.items() if k not in READ_ONLY}
    return properties
