"""Durable alert delivery: a pending alert's next attempt time (exponential backoff between
runs), an index of due alerts, and one delivery-log row per (alert, attempt).

Revision ID: 12a_alert_retries
Revises: 11e_area_history_effective
"""

from collections.abc import Sequence

from alembic import op

revision: str = "12a_alert_retries"
down_revision: str | None = "11e_area_history_effective"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE alerts ADD COLUMN next_attempt_at timestamptz DEFAULT now();
        UPDATE alerts SET next_attempt_at = NULL WHERE state <> 'pending';
        ALTER TABLE alerts ADD CONSTRAINT ck_alerts_pending_due
          CHECK (state <> 'pending' OR next_attempt_at IS NOT NULL);
        DROP INDEX ix_alerts_pending;
        CREATE INDEX ix_alerts_due ON alerts (next_attempt_at, id) WHERE state = 'pending';

        DELETE FROM alert_deliveries d USING alert_deliveries e
        WHERE d.alert_id = e.alert_id AND d.attempt = e.attempt AND d.id > e.id;
        ALTER TABLE alert_deliveries ADD CONSTRAINT uq_alert_deliveries_alert_id_attempt
          UNIQUE (alert_id, attempt);
        DROP INDEX ix_alert_deliveries_alert_id;  -- the unique index leads with alert_id
    """)


def downgrade() -> None:
    op.execute("""
        CREATE INDEX ix_alert_deliveries_alert_id ON alert_deliveries (alert_id);
        ALTER TABLE alert_deliveries DROP CONSTRAINT uq_alert_deliveries_alert_id_attempt;
        DROP INDEX ix_alerts_due;
        CREATE INDEX ix_alerts_pending ON alerts (id) WHERE state = 'pending';
        ALTER TABLE alerts DROP CONSTRAINT ck_alerts_pending_due;
        ALTER TABLE alerts DROP COLUMN next_attempt_at;
    """)
