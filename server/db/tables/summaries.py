"""Tables the database keeps itself: triggers fill them from the data tables, no Python writes
them. Declared here so that the metadata describes every table the migrations create (the test
comparing the two fails on any difference); their triggers and functions live in the migrations."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from .base import metadata

# each layer's version, row count and highest id, bumped by every write (migrations 04, 14b)
layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer", Text, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="1"),
    Column("row_count", BigInteger, nullable=False, server_default="0"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("max_id", BigInteger, nullable=False, server_default="0"),
)

# incidents per agreement area, day, phase and event type; `m_` counts are the superseded
# duplicates among them (migrations 05, 13d)
_COUNTS = ("n", "fatalities", "reported", "under_review", "confirmed", "rejected", "duplicate")
area_incident_days = Table(
    "area_incident_days",
    metadata,
    Column("area_id", Integer, ForeignKey("agreement_areas.id", ondelete="CASCADE"),
           nullable=False),
    Column("day", Date, nullable=False),
    Column("phase", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    *(Column(name, BigInteger if name == "fatalities" else Integer, nullable=False)
      for name in _COUNTS),
    *(Column(f"m_{name}", BigInteger if name == "fatalities" else Integer, nullable=False,
             server_default="0") for name in _COUNTS),
    PrimaryKeyConstraint("area_id", "day", "phase", "event_type"),
)

# the incident tile pyramid's cells: counts and coordinate sums per level, cell and kind
# (migration 08)
incident_tile_kinds = Table(
    "incident_tile_kinds",
    metadata,
    Column("kind", SmallInteger, Identity(), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("verification_status", Text, nullable=False),
    Column("sensitivity", Text, nullable=False),
    UniqueConstraint("event_type", "verification_status", "sensitivity",
                     name="uq_incident_tile_kinds"),
)
incident_tile_cells = Table(
    "incident_tile_cells",
    metadata,
    Column("level", SmallInteger, nullable=False),
    Column("cx", Integer, nullable=False),
    Column("cy", Integer, nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("sum_lon", Float(precision=53), nullable=False),
    Column("sum_lat", Float(precision=53), nullable=False),
    Column("min_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("level", "cx", "cy", "kind"),
)

# admin areas cut into small parts with their centroids, for fast point-in-area look-ups
# (migration 11a); no primary key: an area's parts are replaced together
admin_area_parts = Table(
    "admin_area_parts",
    metadata,
    Column("pcode", Text, nullable=False),
    Column("admin_level", SmallInteger, nullable=False),
    Column("centroid", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Index("ix_admin_area_parts_geom", "geom", postgresql_using="gist"),
    Index("ix_admin_area_parts_pcode", "pcode"),
    Index("ix_admin_area_parts_centroid", "centroid", postgresql_using="gist"),
)
