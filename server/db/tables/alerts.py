"""Alerts: subscriptions to an area and a filter, the alerts they produced, their webhook
deliveries, and the matcher's cursor (the audit sequence number it has read up to)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from .base import metadata, vocabulary

AREA_KINDS = ("agreement_area", "admin_area", "geometry")
ALERT_STATES = ("pending", "delivered", "failed")

alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("key_id", Text, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("area_kind", Text, nullable=False),
    Column("area_ref", Text),  # the agreement area id or admin pcode; NULL for a drawn polygon
    Column("buffer_m", Float, nullable=False, server_default="0"),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("event_type", Text),
    Column("verification_status", Text),
    Column("min_fatalities", Integer),
    Column("webhook_url", Text, nullable=False),
    # the webhook secret is HMAC(security.webhook_secret, salt): never stored itself
    Column("secret_salt", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(vocabulary("area_kind", AREA_KINDS), name="area_kind"),
    CheckConstraint("buffer_m >= 0", name="buffer_m"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("subscription_id", BigInteger,
           ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"),
           nullable=False),
    Column("seq", BigInteger, nullable=False),  # the audit entry that made it match
    Column("feature", JSONB, nullable=False),  # the incident as the subscriber may see it
    Column("state", Text, nullable=False, server_default="pending"),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    # when a pending alert is next tried (backoff after a failed attempt); NULL once settled
    Column("next_attempt_at", DateTime(timezone=True), server_default=func.now()),
    UniqueConstraint("subscription_id", "incident_id"),  # an incident alerts a subscription once
    CheckConstraint(vocabulary("state", ALERT_STATES), name="state"),
    CheckConstraint("state <> 'pending' OR next_attempt_at IS NOT NULL", name="pending_due"),
    Index("ix_alerts_due", "next_attempt_at", "id", postgresql_where=text("state = 'pending'")),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", SmallInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status_code", Integer),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    UniqueConstraint("alert_id", "attempt"),
)

alert_cursor = Table(
    "alert_cursor",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("id = 1", name="one_row"),
)
