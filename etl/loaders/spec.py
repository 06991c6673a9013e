"""What a loader needs to know of a target table: columns, natural key, geometry kind; the
columns read from the table's description (server/db/tables) by `from_table`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
)


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


#: the columns the loader sets itself (the key's `source`, the run) or never (id, times)
NOT_STAGED = frozenset({"id", "geom", "source", "etl_run_id", "created_at", "updated_at"})


def pgtype(column: Column) -> str:  # type: ignore[type-arg]
    """The SQL type a staged text value of `column` is cast to."""
    kind = column.type
    if isinstance(kind, ARRAY):
        return "text[]"
    for python, sql in _PGTYPES:
        if isinstance(kind, python):
            return sql
    raise TypeError(f"column {column.name} of type {kind!r} has no staged type: add one here")


_PGTYPES: tuple[tuple[type, str], ...] = (
    (DateTime, "timestamptz"), (BigInteger, "bigint"), (SmallInteger, "smallint"),
    (Integer, "int"), (Numeric, "numeric"), (String, "text"))


def from_table(table: Table, *, derived: Iterable[Col] = (), skipped: Iterable[str] = (),
               **options: Any) -> TableSpec:
    """The spec loading every column of `table` (but `NOT_STAGED` and `skipped` ones) from the
    staged field of its name cast to its type, or as its `derived` column says (a look-up)."""
    by_name = {c.name: c for c in derived}
    left_out = NOT_STAGED | set(skipped)
    columns = tuple(by_name.get(c.name) or Col(c.name, pgtype(c)) for c in table.columns
                    if c.name not in left_out)
    return TableSpec(table.name, columns, **options)
