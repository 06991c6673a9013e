"""API keys: who may call the API and with which role. Only a hash of each key is stored."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, Table, Text, func

from .base import metadata, vocabulary

ROLES = ("admin", "analyst", "planner", "partner", "reporter")

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),  # the public prefix of the key, used for look-up
    Column("key_hash", Text, nullable=False),  # sha256 hex of the whole key
    Column("role", Text, nullable=False),
    Column("org", Text),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint(vocabulary("role", ROLES), name="role"),
    CheckConstraint("role <> 'partner' OR org IS NOT NULL", name="partner_org"),
)
