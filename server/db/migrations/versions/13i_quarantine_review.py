"""Ingestion you can trust: run statuses `empty` and `interrupted`; one quarantine entry per
rejected row however often its file is loaded (`row_key`: the source id, or the file's content
and line; unique among entries no run has resolved), with the last run that saw it
(`last_seen_run_id`: that run does not count it resolved); a reviewer's verdict on a quarantined row
(accepted: it loads on the next run of its file; discarded: closed), each verdict also a row of
`quarantine_reviews`, which the audit log records.

Revision ID: 13i_quarantine_review
Revises: 13d_duplicate_groups
"""

from collections.abc import Sequence

from alembic import op

revision: str = "13i_quarantine_review"
down_revision: str | None = "13d_duplicate_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE etl_runs DROP CONSTRAINT ck_etl_runs_status;
        ALTER TABLE etl_runs ADD CONSTRAINT ck_etl_runs_status
          CHECK (status IN ('running', 'completed', 'failed', 'empty', 'interrupted'));

        ALTER TABLE quarantine ADD COLUMN row_key text,
          ADD COLUMN last_seen_run_id bigint
            CONSTRAINT fk_quarantine_last_seen_run_id_etl_runs REFERENCES etl_runs (id)
            ON DELETE SET NULL,
          ADD COLUMN review text,
          ADD COLUMN reviewed_by text, ADD COLUMN reviewed_at timestamptz,
          ADD COLUMN review_reason text,
          ADD CONSTRAINT ck_quarantine_review CHECK (review IN ('accepted', 'discarded'));
        CREATE UNIQUE INDEX uq_quarantine_open_row ON quarantine (layer, source, row_key)
          WHERE resolved_by_run_id IS NULL AND row_key IS NOT NULL;

        CREATE TABLE quarantine_reviews (
          id bigserial CONSTRAINT pk_quarantine_reviews PRIMARY KEY,
          quarantine_id bigint NOT NULL CONSTRAINT fk_quarantine_reviews_quarantine_id_quarantine
            REFERENCES quarantine (id) ON DELETE CASCADE,
          action text NOT NULL CONSTRAINT ck_quarantine_reviews_action
            CHECK (action IN ('accepted', 'discarded')),
          reason text NOT NULL,
          reviewed_by text NOT NULL,
          reviewed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_quarantine_reviews_quarantine_id ON quarantine_reviews (quarantine_id);
        CREATE TRIGGER quarantine_reviews_audit_ins AFTER INSERT ON quarantine_reviews
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION audit_capture();
    """)


def downgrade() -> None:
    op.execute("""
        DROP TABLE quarantine_reviews;
        DROP INDEX uq_quarantine_open_row;
        ALTER TABLE quarantine DROP CONSTRAINT ck_quarantine_review, DROP COLUMN row_key,
          DROP COLUMN last_seen_run_id, DROP COLUMN review, DROP COLUMN reviewed_by, DROP COLUMN reviewed_at,
          DROP COLUMN review_reason;
        UPDATE etl_runs SET status = 'failed' WHERE status IN ('empty', 'interrupted');
        ALTER TABLE etl_runs DROP CONSTRAINT ck_etl_runs_status;
        ALTER TABLE etl_runs ADD CONSTRAINT ck_etl_runs_status
          CHECK (status IN ('running', 'completed', 'failed'));
    """)
