"""Request bodies of the reporting and verification endpoints (validated; clear 400s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

STATUSES = ("reported", "under_review", "confirmed", "rejected", "duplicate")


class ReportIn(BaseModel):
    """A violation report: where (coordinates, or a settlement name), when, what, who reports."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    occurred_at: datetime
    event_type: str = Field(min_length=2, max_length=80, pattern=r"^[\w][\w \-/]*$")
    description: str = Field(min_length=3, max_length=5_000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    settlement: str | None = Field(None, min_length=2, max_length=200)
    location_name: str | None = Field(None, max_length=200)
    reporting_party: str | None = Field(None, max_length=200)
    contact: str | None = Field(None, max_length=200)
    attachments: list[AnyHttpUrl] = Field(default_factory=list, max_length=20)

    @field_validator("occurred_at")
    @classmethod
    def _sane_time(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value > datetime.now(UTC) + timedelta(hours=1):
            # its own error type: the report page words the refusal in the reporter's language
            raise PydanticCustomError("future_time", "occurred_at is in the future")
        if value.year < 1990:
            raise ValueError("occurred_at is before 1990")
        return value

    @model_validator(mode="after")
    def _located(self) -> ReportIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.lon is None and not self.settlement:
            raise ValueError("say where: lon and lat, or a settlement name")
        return self

    @classmethod
    def from_feature(cls, body: dict[str, Any]) -> ReportIn:
        """A GeoJSON Feature with a Point geometry (or none, with a settlement property)."""
        props = dict(body.get("properties") or {})
        geometry = body.get("geometry")
        if geometry is not None:
            if not isinstance(geometry, dict) or geometry.get("type") != "Point":
                raise ValueError("the geometry must be a GeoJSON Point")
            coords = geometry.get("coordinates")
            if (not isinstance(coords, list) or len(coords) < 2
                    or not all(isinstance(c, int | float) for c in coords[:2])):
                raise ValueError("Point coordinates must be [lon, lat]")
            props["lon"], props["lat"] = coords[0], coords[1]
        return cls.model_validate(props)


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["reported", "under_review", "confirmed", "rejected", "duplicate"]
    reason: str = Field(min_length=3, max_length=2_000)
    duplicate_of: int | None = Field(None, ge=1)
    sensitivity: Literal["public", "restricted"] | None = None
