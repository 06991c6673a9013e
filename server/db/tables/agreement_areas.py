"""Agreement areas (settlements, regions or zones that signed) and their history of changes."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY

from .base import metadata, provenance_columns, vocabulary

AREA_KINDS = ("settlement", "region", "zone")
AREA_STATUSES = ("signed", "pending", "suspended", "violated", "withdrawn")

agreement_areas = Table(
    "agreement_areas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), index=True),
    Column("effective_from", DateTime(timezone=True), index=True),
    Column("effective_to", DateTime(timezone=True), index=True),
    Column("parties", ARRAY(Text), nullable=False, server_default="{}"),
    Column("document_ref", Text),
    Column("admin_pcode", Text),
    Column("notes", Text),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    *provenance_columns(),
    UniqueConstraint("source", "source_id"),
    CheckConstraint(vocabulary("kind", AREA_KINDS), name="kind"),
    CheckConstraint(vocabulary("status", AREA_STATUSES), name="status"),
    CheckConstraint("effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from",
                    name="effective_range"),
)

agreement_area_history = Table(
    "agreement_area_history",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("area_id", Integer, ForeignKey("agreement_areas.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now(),
           index=True),  # when Truce recorded the change
    Column("effective_at", DateTime(timezone=True),
           comment="when the change took effect according to the data (NULL: the data does not "
                   "say); changed_at is when Truce recorded it"),  # (11e)
    Column("previous_status", Text),
    Column("status", Text, nullable=False),
    Column("geometry_changed", Boolean, nullable=False, server_default="false"),
    Column("reason", Text),
    Column("changed_by", Text),
    Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL")),
    # an area's changes in time order (migration 05)
    Index("ix_agreement_area_history_area_id_changed_at", "area_id", "changed_at"),
)
