"""The plain records that pass between ETL stages (the stages never import each other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely


@dataclass(frozen=True)
class AreaOfInterest:
    """Where rows may lie (lon/lat WKB): `core` the polygon (the loaded admin level 0 areas by
    default, etl/aoi.py), `outer` it buffered by `buffer_km`, `inner` it shrunk by as much.
    A point is inside when `outer` holds it; "well inside" when `inner` does."""

    core_wkb: bytes
    outer_wkb: bytes
    inner_wkb: bytes
    buffer_km: float
    label: str
    _geoms: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def geom(self, which: str) -> Any:
        """The shapely geometry (prepared) of `core`, `outer` or `inner`."""
        found = self._geoms.get(which)
        if found is None:
            found = shapely.from_wkb(getattr(self, f"{which}_wkb"))
            shapely.prepare(found)
            self._geoms[which] = found
        return found

    def holds(self, lon: float, lat: float, which: str = "outer") -> bool:
        return bool(shapely.intersects_xy(self.geom(which), lon, lat))

    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = (float(b) for b in self.geom("outer").bounds)
        return minx, miny, maxx, maxy


@dataclass(frozen=True)
class RawRecord:
    """One record as read: its line or feature number, its fields, and its geometry if any."""

    number: int
    fields: dict[str, Any]
    geometry_wkb: bytes | None = None
    srid: int | None = None


@dataclass(frozen=True)
class Accepted:
    """A record ready to load: column values (geometry as lon/lat or WKB hex + srid), and the
    rules that repaired it (checks.OUTSIDE_ALLOWED among them: a flag, loaded outside the area
    of interest with --allow-outside)."""

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
    """What a transform may know besides the record: the source name, the area of interest
    (None: everywhere) and 'now'."""

    source: str
    now: datetime
    aoi: AreaOfInterest | None = None
    options: dict[str, Any] = field(default_factory=dict)
