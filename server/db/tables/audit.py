"""The tamper-evident audit log: one row per changed row with its own content hash, sealed by a
chain of per-statement blocks (migrations 07 and 09); and the seals of the versioned history
(migration 15a): one per statement, chained, over the rows' content hashes."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Numeric,
    Table,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from .base import metadata

AUDITED_TABLES = ("incidents", "agreement_areas", "aid_deliveries", "reports", "api_keys")

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),  # insert | update | delete
    Column("table_name", Text, nullable=False),
    Column("row_id", Text, nullable=False),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("prev_hash", LargeBinary),  # only in entries of the 07 chain
    Column("hash", LargeBinary, nullable=False),
    Index("ix_audit_log_table_name_row_id_seq", "table_name", "row_id", "seq"),
    Index("ix_audit_log_table_name_seq", "table_name", "seq"),
)

audit_blocks = Table(
    "audit_blocks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("legacy", Boolean, nullable=False, server_default=false()),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Index("ix_audit_blocks_first_seq", "first_seq", unique=True),
    Index("ix_audit_blocks_hash", "hash"),
)

audit_seals = Table(
    "audit_seals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("table_name", Text, nullable=False),
    Column("action", Text, nullable=False),  # insert | update | delete | baseline
    Column("actor", Text, nullable=False),
    Column("xid", BigInteger, nullable=False),
    Column("written", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=False),
    Column("first_id", BigInteger),
    Column("last_id", BigInteger),
    Column("written_sum", ARRAY(Numeric), nullable=False),
    Column("ended_sum", ARRAY(Numeric), nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    CheckConstraint("action IN ('insert', 'update', 'delete', 'baseline')",
                    name="ck_audit_seals_action"),
    Index("ix_audit_seals_table_name_xid", "table_name", "xid"),
    Index("ix_audit_seals_table_name_first_id", "table_name", "first_id",
          postgresql_where=text("action IN ('insert', 'baseline')")),
    Index("ix_audit_seals_hash", "hash"),
)
