"""What a loader needs to know of a target table: columns, natural key, geometry kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    """A target column: its name, the SQL type to cast the staged text to, or an SQL expression
    over the staging table `s` (for look-ups, e.g. a settlement id from a GeoNames id)."""

    name: str
    pgtype: str = "text"
    expr: str | None = None
    staged_as: str | None = None  # the staged field feeding `expr`, if any


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ("source", "source_id")
    # "point": staged lon/lat; "polygon": staged WKB hex + srid; "reference": an admin area's
    # polygon by staged P-code, else a buffer of buffer_m metres around the staged lon/lat.
    geometry: str = "point"
    extra_staged: tuple[str, ...] = ()  # more staged fields the columns' expressions read

    @property
    def staged_fields(self) -> list[str]:
        fields = [c.staged_as or c.name for c in self.columns if c.expr is None or c.staged_as]
        fields += list(self.extra_staged)
        fields += {"point": ["lon", "lat"], "polygon": ["geom_wkb", "srid"],
                   "reference": ["geom_pcode", "lon", "lat", "buffer_m"]}[self.geometry]
        return fields
