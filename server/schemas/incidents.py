"""The body of OGC API - Features Part 4 writes on incidents: a GeoJSON Feature whose Point
geometry and properties are checked against the incidents schema and its vocabularies.

Server-managed properties (`source`, `etl_run_id`, `created_at`, `updated_at`) may be sent back
as read (a GET body round-trips) and are ignored. `verification_status` and `sensitivity` belong
to the verification workflow: a write may repeat the current values, not change them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)
from sqlalchemy import ARRAY, Column, DateTime, Integer, Numeric, String, Table

from server.db.collections import COLLECTIONS, Collection
from server.db.tables.incidents import incidents

#: sent back as read, never written by a client
READ_ONLY = ("source", "etl_run_id", "created_at", "updated_at")
#: moved only by POST /incidents/{id}/verification
WORKFLOW = COLLECTIONS["incidents"].workflow
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


def _count() -> Any:
    return Field(None, ge=0, le=MAX_COUNT)


def _text(length: int) -> Any:
    return Field(None, max_length=length)


#: the checks a write's property gets beyond its column's type (the columns not named here are
#: checked by type, required when NOT NULL without a default)
RULES: dict[str, tuple[Any, Any]] = {
    "source_id": (str | None, Field(None, min_length=1, max_length=200,
                                    description="the source's own id; generated when absent")),
    "event_type": (str, Field(min_length=2, max_length=80, pattern=r"^[\w][\w \-/]*$")),
    "sub_event_type": (str | None, _text(200)),
    "actor1": (str | None, _text(200)),
    "actor2": (str | None, _text(200)),
    "fatalities": (int | None, _count()),
    "fatalities_low": (int | None, _count()),
    "fatalities_high": (int | None, _count()),
    "location_name": (str | None, _text(200)),
    **{f"admin{n}_pcode": (str | None, Field(None, pattern=PCODE)) for n in (1, 2, 3)},
    "notes": (str | None, _text(10_000)),
}


def _python_type(column: Column) -> Any:  # type: ignore[type-arg]
    kind = column.type
    if isinstance(kind, ARRAY):
        return list[str]
    if isinstance(kind, DateTime):
        return datetime
    if isinstance(kind, Integer):
        return int
    if isinstance(kind, Numeric):
        return float
    if isinstance(kind, String):
        return str
    raise TypeError(f"column {column.name} of type {kind!r} has no property type: add one here")


def _field(column: Column, vocabulary: tuple[str, ...] | None, workflow: bool  # type: ignore[type-arg]
           ) -> tuple[Any, Any]:
    """A column's property: its value type (a vocabulary is a Literal), optional unless the
    column is NOT NULL without a constant default, its default the column's (workflow ones:
    None, the current value)."""
    if column.name in RULES:
        return RULES[column.name]
    kind = Literal[vocabulary] if vocabulary else _python_type(column)  # type: ignore[valid-type]
    default = getattr(column.server_default, "arg", None)
    if workflow or column.nullable:
        return (kind | None, None)
    if isinstance(default, str):
        return (kind, TypeAdapter(kind).validate_python(default))  # type: ignore[arg-type]
    return (kind, ...)


class IncidentProperties(BaseModel):
    """Every writable column of an incident; anything else is refused (422)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    if TYPE_CHECKING:  # (the fields are the table's columns: `properties_model`)
        source_id: str | None
        occurred_at: datetime
        occurred_until: datetime | None
        fatalities: int | None
        fatalities_low: int | None
        fatalities_high: int | None

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


def _sane_time(cls: Any, value: datetime | None) -> datetime | None:
    return _utc(value)


def properties_model(table: Table, c: Collection) -> type[IncidentProperties]:
    """The properties of a write on `c` (stored in `table`): its written and workflow columns,
    in the table's order, each checked by its type, its vocabulary and its `RULES`; times must be
    sane (not in the future, not before 1946)."""
    names = set(c.written) | set(c.workflow)
    columns = [column for column in table.columns if column.name in names]
    fields = {column.name: _field(column, c.vocabularies.get(column.name),
                                  column.name in c.workflow) for column in columns}
    times = [column.name for column in columns if isinstance(column.type, DateTime)]
    validators = {"_sane_time": field_validator(*times)(_sane_time)} if times else {}
    return create_model(  # type: ignore[call-overload,no-any-return]
        "IncidentProperties", __base__=IncidentProperties, __doc__=IncidentProperties.__doc__,
        __validators__=validators, **fields)


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


class IncidentFeature(BaseModel):
    """A GeoJSON Feature: Point geometry (CRS84) and the incident's properties."""

    model_config = ConfigDict(extra="forbid")

    if TYPE_CHECKING:  # (the fields: `feature_model`)
        type: Literal["Feature"]
        id: int | str | None
        geometry: PointIn
        properties: IncidentProperties


def feature_model(properties: type[IncidentProperties]) -> type[IncidentFeature]:
    """The body of a write: a Feature whose properties are `properties`."""
    fields: dict[str, Any] = {
        "type": (Literal["Feature"], ...),
        "id": (int | str | None, None),
        "geometry": (PointIn, ...),
        "properties": (properties, ...),
        "links": (list[dict[str, Any]] | None, None),  # as read; ignored
        "bbox": (list[float] | None, None),  # as read; ignored
    }
    return create_model(  # type: ignore[call-overload,no-any-return]
        "IncidentFeatureIn", __base__=IncidentFeature, __doc__=IncidentFeature.__doc__,
        **fields)


IncidentFeatureIn = feature_model(properties_model(incidents, COLLECTIONS["incidents"]))


def without_read_only(properties: Any) -> Any:
    """The properties object with the server-managed ones dropped (as read, ignored)."""
    if isinstance(properties, dict):
        return {k: v for k, v in properties.items() if k not in READ_ONLY}
    return properties
