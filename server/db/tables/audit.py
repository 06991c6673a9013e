"""The tamper-evident audit log: one row per changed row with its own content hash, sealed by a
chain of per-statement blocks (migrations 07 and 09)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Table,
    Text,
    false,
    func,
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
