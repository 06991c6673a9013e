"""Violation reports from reporting parties, and the verification steps taken on incidents."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY

from .base import metadata

reports = Table(
    "reports",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id", ondelete="SET NULL"), index=True),
    Column("key_id", Text, ForeignKey("api_keys.id", ondelete="SET NULL"), index=True),
    Column("org", Text, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("reporting_party", Text),
    Column("contact", Text),
    Column("location_name", Text),
    Column("settlement_id", Integer, ForeignKey("settlements.id", ondelete="SET NULL")),
    Column("attachments", ARRAY(Text), nullable=False, server_default="{}"),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

verification_steps = Table(
    "verification_steps",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("duplicate_of", BigInteger, ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
