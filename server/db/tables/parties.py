"""Parties and actors to the cessation of hostilities."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Integer, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

from .base import metadata, provenance_columns, vocabulary

PARTY_KINDS = ("government", "armed_group", "coalition", "international", "civil", "other")

parties = Table(
    "parties",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False, server_default="other"),
    Column("aliases", ARRAY(Text), nullable=False, server_default="{}"),
    Column("is_signatory", Boolean, nullable=False, server_default="false"),
    *provenance_columns(),
    CheckConstraint(vocabulary("kind", PARTY_KINDS), name="kind"),
)
