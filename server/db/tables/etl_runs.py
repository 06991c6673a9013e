"""ETL bookkeeping: one row per load run, and the quarantine of rejected rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from .base import metadata, vocabulary

#: `interrupted`: ended by a signal (SIGINT, SIGTERM), rolled back (etl/interrupt.py)
RUN_STATUSES = ("running", "completed", "failed", "interrupted")

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("job", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("source_sha256", Text),
    Column("options", JSONB, nullable=False, server_default="{}"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rows_loaded", Integer, nullable=False, server_default="0"),
    Column("rows_updated", Integer, nullable=False, server_default="0"),
    Column("rows_unchanged", Integer, nullable=False, server_default="0"),
    Column("rows_quarantined", Integer, nullable=False, server_default="0"),
    Column("rows_repaired", Integer, nullable=False, server_default="0"),
    Column("status", Text, nullable=False, server_default="running"),
    Column("error", Text),
    CheckConstraint(vocabulary("status", RUN_STATUSES), name="status"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("layer", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("record_number", Integer, nullable=False),
    Column("source_id", Text),
    Column("raw", JSONB, nullable=False),
    Column("reasons", ARRAY(Text), nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL")),
)
