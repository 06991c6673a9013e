"""The plain records that pass between ETL stages (the stages never import each other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Syria and a margin: lon/lat bounds of the area of interest, (minx, miny, maxx, maxy).
SYRIA_AOI = (35.4, 32.1, 42.6, 37.5)


@dataclass(frozen=True)
class RawRecord:
    """One record as read: its line or feature number, its fields, and its geometry if any."""

    number: int
    fields: dict[str, Any]
    geometry_wkb: bytes | None = None
    srid: int | None = None


@dataclass(frozen=True)
class Accepted:
    """A record ready to load: column values (geometry as lon/lat or WKB hex + srid)."""

    values: dict[str, Any]
    repairs: tuple[str, ...] = ()
    merged: bool = False  # the record is already known (e.g. the same settlement): nothing to write


@dataclass(frozen=True)
class Rejected:
    """A record kept in quarantine: reason codes and details a person can act on."""

    reasons: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a transform may know besides the record: the source name, the AOI and 'now'."""

    source: str
    now: datetime
    aoi: tuple[float, float, float, float] = SYRIA_AOI
    options: dict[str, Any] = field(default_factory=dict)
