"""Cross-source duplicate links between incidents, and the event-type classes they match on
(migration 11c_incident_duplicates; made by etl/dedupe.py after each incidents load)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)

from .base import metadata

event_type_classes = Table(
    "event_type_classes",
    metadata,
    Column("event_type", Text, primary_key=True),
    Column("event_class", Text, nullable=False),
)

incident_duplicates = Table(
    "incident_duplicates",
    metadata,
    # the later-recorded report (higher id) duplicates the first-recorded one
    Column("incident_id", BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"),
           nullable=False),
    Column("duplicate_of", BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("distance_m", Float, nullable=False),
    Column("hours_apart", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL"), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("incident_id", "duplicate_of"),
    CheckConstraint("duplicate_of < incident_id", name="order"),
)
