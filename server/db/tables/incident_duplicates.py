"""Cross-source duplicate links between incidents, and the event-type classes they match on
(migration 11c_incident_duplicates; made by etl/dedupe.py after each incidents load)."""

from __future__ import annotations

from sqlalchemy import (
    REAL,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
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
    Column("score", REAL, nullable=False),
    Column("reason", Text, nullable=False),
    Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL"), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("incident_id", "duplicate_of"),
    CheckConstraint("duplicate_of < incident_id", name="order"),
)

# maintained by triggers (migration 13d_duplicate_groups) for callers who see every row: each
# report superseded in its group of linked reports (a connected component of the links), and
# its rows inside each agreement area
incident_superseded = Table(
    "incident_superseded",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"),
           primary_key=True),
    Column("group_id", BigInteger, nullable=False),  # the smallest id in the group
    Column("standing_id", BigInteger, nullable=False),  # the report counted for the group
)

area_superseded_incidents = Table(
    "area_superseded_incidents",
    metadata,
    Column("area_id", Integer, ForeignKey("agreement_areas.id", ondelete="CASCADE"),
           primary_key=True),
    # no foreign key to incidents: a deleted report's rows stay until its links' deletion
    # regroups it, which takes them away from the summary
    Column("incident_id", BigInteger, primary_key=True, index=True),
    Column("day", Date, nullable=False),
    Column("phase", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("fatalities", Integer, nullable=False),
    Column("verification_status", Text, nullable=False),
)
