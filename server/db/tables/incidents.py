"""Incidents: reported violations and conflict events (points)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)

from .base import metadata, provenance_columns, vocabulary

TIME_PRECISIONS = ("day", "days", "week", "month", "year")
GEO_PRECISIONS = ("exact", "near", "admin3", "admin2", "admin1", "country", "settlement", "unknown")
VERIFICATION_STATUSES = ("reported", "under_review", "confirmed", "rejected", "duplicate")
SENSITIVITIES = ("public", "restricted")

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("source_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, index=True),
    Column("occurred_until", DateTime(timezone=True)),
    Column("time_precision", Text, nullable=False, server_default="day"),
    Column("reported_at", DateTime(timezone=True)),
    Column("event_type", Text, nullable=False, index=True),
    Column("sub_event_type", Text),
    Column("actor1", Text),
    Column("actor2", Text),
    Column("fatalities", Integer),
    Column("fatalities_low", Integer),
    Column("fatalities_high", Integer),
    Column("geo_precision", Text, nullable=False, server_default="exact"),
    Column("location_name", Text),
    Column("admin1_pcode", Text, index=True),
    Column("admin2_pcode", Text),
    Column("admin3_pcode", Text),
    # the gazetteer entry a geocoded row took (14b)
    Column("settlement_id", Integer, ForeignKey("settlements.id", ondelete="SET NULL"),
           index=True),
    Column("notes", Text),
    Column("verification_status", Text, nullable=False, server_default="reported", index=True),
    Column("sensitivity", Text, nullable=False, server_default="public"),
    Column("duplicate_of", BigInteger, ForeignKey("incidents.id", ondelete="SET NULL"), index=True),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
    *provenance_columns(),
    UniqueConstraint("source", "source_id"),
    CheckConstraint(vocabulary("time_precision", TIME_PRECISIONS), name="time_precision"),
    CheckConstraint(vocabulary("geo_precision", GEO_PRECISIONS), name="geo_precision"),
    CheckConstraint(vocabulary("verification_status", VERIFICATION_STATUSES),
                    name="verification_status"),
    CheckConstraint(vocabulary("sensitivity", SENSITIVITIES), name="sensitivity"),
    CheckConstraint("fatalities IS NULL OR fatalities >= 0", name="fatalities"),
    CheckConstraint("fatalities_low IS NULL OR fatalities_low >= 0", name="fatalities_low"),
    CheckConstraint("fatalities_high IS NULL OR fatalities_high >= 0", name="fatalities_high"),
    # the released rows of a time window, in time order (anonymous datetime pages; 14a)
    Index("ix_incidents_occurred_at_verification_status_sensitivity", "occurred_at",
          "verification_status", "sensitivity"),
)
