"""A run ended by a signal (SIGINT, SIGTERM) is recorded as `interrupted`, not left `running`.

Revision ID: 14b_etl_run_interrupted
Revises: 14a_released_incident_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "14b_etl_run_interrupted"
down_revision: str | None = "14a_released_incident_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE etl_runs DROP CONSTRAINT ck_etl_runs_status;
        ALTER TABLE etl_runs ADD CONSTRAINT ck_etl_runs_status
          CHECK (status IN ('running', 'completed', 'failed', 'interrupted'));
    """)


def downgrade() -> None:
    op.execute("""
        UPDATE etl_runs SET status = 'failed' WHERE status = 'interrupted';
        ALTER TABLE etl_runs DROP CONSTRAINT ck_etl_runs_status;
        ALTER TABLE etl_runs ADD CONSTRAINT ck_etl_runs_status
          CHECK (status IN ('running', 'completed', 'failed'));
    """)
