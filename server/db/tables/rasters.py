"""The raster catalog: Cloud-Optimised GeoTIFFs the ETL converted and recorded (`truce etl raster`)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from .base import metadata, vocabulary

RASTER_KINDS = ("population", "terrain", "imagery")

rasters = Table(
    "rasters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("crs", Text, nullable=False),
    Column("bounds", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("band_count", Integer, nullable=False),
    Column("dtype", Text, nullable=False),
    Column("resolution_x", Float, nullable=False),
    Column("resolution_y", Float, nullable=False),
    Column("nodata", Float),
    Column("band_stats", JSONB, nullable=False, server_default="[]"),
    Column("source_path", Text),
    Column("source_sha256", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(vocabulary("kind", RASTER_KINDS), name="kind"),
)
