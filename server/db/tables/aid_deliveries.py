"""Humanitarian aid deliveries ("aid drops"): where and when aid reached people."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
)

from .base import metadata, provenance_columns, vocabulary

METHODS = ("airdrop", "convoy", "handover")
CARGO_TYPES = ("food", "medical", "shelter", "water", "nfi", "mixed")
UNITS = ("tonnes", "kits", "people", "trucks", "items")

aid_deliveries = Table(
    "aid_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Text, nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False, index=True),
    Column("method", Text, nullable=False),
    Column("cargo_type", Text, nullable=False),
    Column("quantity", Numeric),
    Column("unit", Text),
    Column("organisation", Text),
    Column("location_name", Text),
    Column("settlement_id", Integer, ForeignKey("settlements.id", ondelete="SET NULL"), index=True),
    Column("agreement_area_id", Integer, ForeignKey("agreement_areas.id", ondelete="SET NULL"),
           index=True),
    Column("notes", Text),
    Column("admin1_pcode", Text),  # of the admin areas containing it (14b)
    Column("admin2_pcode", Text),
    Column("admin3_pcode", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
    *provenance_columns(),
    UniqueConstraint("source", "source_id"),
    CheckConstraint(vocabulary("method", METHODS), name="method"),
    CheckConstraint(vocabulary("cargo_type", CARGO_TYPES), name="cargo_type"),
    CheckConstraint(f"unit IS NULL OR {vocabulary('unit', UNITS)}", name="unit"),
    CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
)
