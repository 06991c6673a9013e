"""The settlements gazetteer (GeoNames-style), used for labels and geocoding."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, Table, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY

from .base import metadata, provenance_columns

settlements = Table(
    "settlements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_ar", Text),
    Column("name_ru", Text),
    Column("alternate_names", ARRAY(Text), nullable=False, server_default="{}"),
    Column("geonames_id", BigInteger, index=True),
    Column("pcode", Text, index=True),
    Column("population", Integer),
    Column("admin1_pcode", Text),
    Column("admin2_pcode", Text),
    Column("admin3_pcode", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
    *provenance_columns(),
    UniqueConstraint("source", "source_id"),
    CheckConstraint("population IS NULL OR population >= 0", name="population"),
)
