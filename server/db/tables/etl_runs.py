"""ETL bookkeeping: one row per load run, and the quarantine of rejected rows."""

from __future__ import annotations

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
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from .base import metadata, vocabulary

#: `empty`: read no rows; `interrupted`: ended by a signal (SIGINT, SIGTERM: etl/interrupt.py) or
#: its process died (marked by the next command), rolled back
RUN_STATUSES = ("running", "completed", "failed", "empty", "interrupted")
REVIEWS = ("accepted", "discarded")

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
    # one entry per rejected row: "id:<source id>" or "line:<file sha256>:<line>" (migration 13i)
    Column("row_key", Text),
    Column("last_seen_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL")),
    Column("review", Text),  # a reviewer's verdict: accepted | discarded
    Column("reviewed_by", Text),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("review_reason", Text),
    CheckConstraint(vocabulary("review", REVIEWS), name="review"),
    Index("uq_quarantine_open_row", "layer", "source", "row_key", unique=True,
          postgresql_where=text("resolved_by_run_id IS NULL AND row_key IS NOT NULL")),
)

# every verdict on a quarantined row (`truce etl quarantine accept|discard`), audited
quarantine_reviews = Table(
    "quarantine_reviews",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("quarantine_id", BigInteger, ForeignKey("quarantine.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("action", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewed_by", Text, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(vocabulary("action", REVIEWS), name="action"),
)

# every repair a load made to a row (a swapped lon/lat, a geocoded point, a polygon made
# valid): the value before and after, and the rule (`truce etl runs show`; migration 14r)
etl_repairs = Table(
    "etl_repairs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("record_number", Integer),
    Column("source_id", Text),
    Column("field", Text, nullable=False),
    Column("value_before", Text),
    Column("value_after", Text),
    Column("rule", Text, nullable=False),
)
