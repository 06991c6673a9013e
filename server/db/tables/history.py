"""The versioned history of the layers (migration 15a): each table's previous versions, typed as
the table itself (`CREATE TABLE t_history (LIKE t)`: same columns, types and NOT NULLs, no
defaults, keys, indexes or comments), with when and by whom each version was written and ended.
The chain of seals over the rows' content hashes is `audit_seals` (server/db/tables/audit.py)."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text

from .agreement_areas import agreement_areas
from .aid_deliveries import aid_deliveries
from .base import metadata
from .incidents import incidents
from .settlements import settlements


def _copied(column: Column[Any]) -> Column[Any]:
    kind = column.type
    if isinstance(kind, Geometry):  # no spatial index on the copy (LIKE copies none)
        kind = Geometry(kind.geometry_type, srid=kind.srid, spatial_index=False)
    return Column(column.name, kind, nullable=column.nullable)


def _history_of(table: Table) -> Table:
    copied = [_copied(c) for c in table.columns]
    return Table(
        f"{table.name}_history",
        metadata,
        *copied,
        Column("valid_from", DateTime(timezone=True)),
        Column("written_by", Text),
        Column("valid_to", DateTime(timezone=True), nullable=False),
        Column("ended_seal", BigInteger, nullable=False),
        Column("ended_action", Text, nullable=False),
        Column("ended_by", Text, nullable=False),
        Index(f"ix_{table.name}_history_id_ended_seal", "id", "ended_seal"),
    )


incidents_history = _history_of(incidents)
agreement_areas_history = _history_of(agreement_areas)
aid_deliveries_history = _history_of(aid_deliveries)
settlements_history = _history_of(settlements)
