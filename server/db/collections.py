"""The published collections: which table, which properties (the whitelist for every filter,
sort and property selection), which time column. Identifiers in SQL come only from here.

Every list of columns is read from the table (server/db/tables), so a column added there (and
in a migration) is published, exported, writable and loaded with no other edit. What is written
by hand, once per collection in `EDITORIAL`, is only what the table cannot say: the title, the
columns withheld from the public properties, the time column, the vocabularies, and which
columns a feature write (OGC API - Features Part 4) may not set."""

from __future__ import annotations

from dataclasses import dataclass, field

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, BigInteger, Column, DateTime, Integer, Numeric, String, Table

from server.db.tables.agreement_areas import AREA_KINDS, AREA_STATUSES
from server.db.tables.aid_deliveries import CARGO_TYPES, METHODS, UNITS
from server.db.tables.base import metadata
from server.db.tables.incidents import (
    GEO_PRECISIONS,
    SENSITIVITIES,
    TIME_PRECISIONS,
    VERIFICATION_STATUSES,
)

#: the columns no collection publishes as properties: the feature's id and geometry are the
#: feature's own members, and when a row was first stored is not published
NOT_PROPERTIES = frozenset({"id", "geom", "created_at"})
#: the columns only the server sets (provenance)
SERVER_SET = frozenset({"id", "geom", "source", "etl_run_id", "created_at", "updated_at"})


@dataclass(frozen=True)
class Editorial:
    """What a table cannot say about how its collection is published."""

    title: str
    description: str
    withheld: frozenset[str] = frozenset()  # columns not published as properties
    time_column: str | None = None
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: columns a feature write may not set (besides the provenance columns)
    not_written: frozenset[str] = frozenset()
    #: columns a feature write may repeat but not change (moved by the verification workflow)
    workflow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: str
    geometry_type: str
    properties: dict[str, str]  # name -> JSON Schema-ish type: string|integer|number|datetime|array
    time_column: str | None = None
    id_column: str = "id"
    columns: tuple[str, ...] = ()  # every column of the table, in its order
    not_null: frozenset[str] = frozenset()
    bigint: frozenset[str] = frozenset()  # integer columns of 64 bits
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    written: tuple[str, ...] = ()  # the columns a feature write sets, in table order
    workflow: tuple[str, ...] = ()

    @property
    def is_point(self) -> bool:
        return self.geometry_type == "Point"


def property_kind(column: Column) -> str:  # type: ignore[type-arg]
    """The JSON kind of a column's values (what filters parse and schemas declare)."""
    kind = column.type
    if isinstance(kind, ARRAY):
        return "array"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Numeric):
        return "number"
    if isinstance(kind, String):
        return "string"
    raise TypeError(f"column {column.name} of type {kind!r} has no property kind: add one here")


_GEOMETRY_TYPES = {"POINT": "Point", "MULTIPOLYGON": "MultiPolygon"}


def collection(table: Table, editorial: Editorial) -> Collection:
    """The collection publishing `table` as `editorial` says."""
    geometry = table.c["geom"].type
    assert isinstance(geometry, Geometry)
    properties = {c.name: property_kind(c) for c in table.columns
                  if c.name not in NOT_PROPERTIES | editorial.withheld}
    never = SERVER_SET | editorial.not_written | set(editorial.workflow)
    return Collection(
        table.name, editorial.title, editorial.description, table.name,
        _GEOMETRY_TYPES[str(geometry.geometry_type)], properties,
        time_column=editorial.time_column,
        columns=tuple(table.c.keys()),
        not_null=frozenset(c.name for c in table.columns if not c.nullable),
        bigint=frozenset(c.name for c in table.columns if isinstance(c.type, BigInteger)),
        vocabularies=editorial.vocabularies,
        written=tuple(c.name for c in table.columns if c.name not in never),
        workflow=editorial.workflow,
    )


EDITORIAL: dict[str, Editorial] = {
    "incidents": Editorial(
        "Incidents",
        "Reported violations and conflict events (UCDP GED, ACLED, HXL, field reports).",
        withheld=frozenset({"reported_at", "admin2_pcode", "admin3_pcode", "settlement_id",
                            "sensitivity", "duplicate_of"}),
        time_column="occurred_at",
        vocabularies={"time_precision": TIME_PRECISIONS, "geo_precision": GEO_PRECISIONS,
                      "verification_status": VERIFICATION_STATUSES, "sensitivity": SENSITIVITIES},
        # the gazetteer entry and the duplicate link are the ETL's findings
        not_written=frozenset({"settlement_id", "duplicate_of"}),
        workflow=("verification_status", "sensitivity"),
    ),
    "agreement_areas": Editorial(
        "Agreement areas",
        "Settlements, regions and zones covered by a cessation-of-hostilities agreement.",
        time_column="signed_at",
        vocabularies={"kind": AREA_KINDS, "status": AREA_STATUSES},
    ),
    "aid_deliveries": Editorial(
        "Aid deliveries",
        "Humanitarian deliveries (convoys, airdrops, handovers) and where they reached.",
        withheld=frozenset({"notes", "admin2_pcode", "admin3_pcode"}),
        time_column="delivered_at",
        vocabularies={"method": METHODS, "cargo_type": CARGO_TYPES, "unit": UNITS},
    ),
    "settlements": Editorial(
        "Settlements",
        "Populated places gazetteer (GeoNames), used for labels and geocoding.",
        withheld=frozenset({"pcode", "admin1_pcode", "admin2_pcode", "admin3_pcode"}),
    ),
    "admin_areas": Editorial(
        "Administrative areas",
        "OCHA COD-AB boundaries: country, governorates, districts, sub-districts, "
        "neighbourhoods.",
    ),
}

COLLECTIONS: dict[str, Collection] = {
    name: collection(metadata.tables[name], editorial) for name, editorial in EDITORIAL.items()
}
