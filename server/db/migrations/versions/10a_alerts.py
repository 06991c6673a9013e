"""Alerts: subscriptions (area + filter + webhook), alerts, webhook deliveries, matcher cursor.

Revision ID: 10_alerts
Revises: 09_audit_blocks
"""

from collections.abc import Sequence

from alembic import op

revision: str = "10_alerts"
down_revision: str | None = "09_audit_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE alert_subscriptions (
          id bigserial CONSTRAINT pk_alert_subscriptions PRIMARY KEY,
          key_id text NOT NULL CONSTRAINT fk_alert_subscriptions_key_id_api_keys
            REFERENCES api_keys (id) ON DELETE CASCADE,
          area_kind text NOT NULL,
          area_ref text,
          buffer_m double precision NOT NULL DEFAULT 0,
          geom geometry(MULTIPOLYGON, 4326) NOT NULL,
          event_type text,
          verification_status text,
          min_fatalities integer,
          webhook_url text NOT NULL,
          secret_salt text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT ck_alert_subscriptions_area_kind
            CHECK (area_kind IN ('agreement_area', 'admin_area', 'geometry')),
          CONSTRAINT ck_alert_subscriptions_buffer_m CHECK (buffer_m >= 0)
        );
        CREATE INDEX ix_alert_subscriptions_key_id ON alert_subscriptions (key_id);

        CREATE TABLE alerts (
          id bigserial CONSTRAINT pk_alerts PRIMARY KEY,
          subscription_id bigint NOT NULL CONSTRAINT fk_alerts_subscription_id_alert_subscriptions
            REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
          incident_id bigint NOT NULL CONSTRAINT fk_alerts_incident_id_incidents
            REFERENCES incidents (id) ON DELETE CASCADE,
          seq bigint NOT NULL,
          feature jsonb NOT NULL,
          state text NOT NULL DEFAULT 'pending',
          attempts smallint NOT NULL DEFAULT 0,
          created_at timestamptz NOT NULL DEFAULT now(),
          delivered_at timestamptz,
          CONSTRAINT uq_alerts_subscription_id_incident_id UNIQUE (subscription_id, incident_id),
          CONSTRAINT ck_alerts_state CHECK (state IN ('pending', 'delivered', 'failed'))
        );
        CREATE INDEX ix_alerts_subscription_id ON alerts (subscription_id);
        CREATE INDEX ix_alerts_pending ON alerts (id) WHERE state = 'pending';

        CREATE TABLE alert_deliveries (
          id bigserial CONSTRAINT pk_alert_deliveries PRIMARY KEY,
          alert_id bigint NOT NULL CONSTRAINT fk_alert_deliveries_alert_id_alerts
            REFERENCES alerts (id) ON DELETE CASCADE,
          attempt smallint NOT NULL,
          at timestamptz NOT NULL DEFAULT now(),
          status_code integer,
          ok boolean NOT NULL,
          error text
        );
        CREATE INDEX ix_alert_deliveries_alert_id ON alert_deliveries (alert_id);

        CREATE TABLE alert_cursor (
          id smallint CONSTRAINT pk_alert_cursor PRIMARY KEY,
          last_seq bigint NOT NULL DEFAULT 0,
          CONSTRAINT ck_alert_cursor_one_row CHECK (id = 1)
        );
        -- start at the current head: subscriptions alert on what happens from now on
        INSERT INTO alert_cursor (id, last_seq)
        SELECT 1, coalesce((SELECT max(seq) FROM audit_log), 0);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE alert_cursor, alert_deliveries, alerts, alert_subscriptions")
