"""Reference admin boundaries (OCHA COD-AB): levels 0-4, keyed by P-code."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Column, Integer, SmallInteger, Table, Text

from .base import metadata, provenance_columns

admin_areas = Table(
    "admin_areas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pcode", Text, nullable=False, unique=True),
    Column("admin_level", SmallInteger, nullable=False, index=True),
    Column("parent_pcode", Text, index=True),
    Column("name_en", Text, nullable=False),
    Column("name_ar", Text),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    *provenance_columns(),
    CheckConstraint("admin_level BETWEEN 0 AND 4", name="admin_level"),
)
