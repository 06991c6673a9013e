"""Append to agreement_area_history on every insert, status change or geometry change.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION agreement_area_history_append() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO agreement_area_history (area_id, previous_status, status,
                                                geometry_changed, reason, etl_run_id)
            VALUES (NEW.id, NULL, NEW.status, true, 'created', NEW.etl_run_id);
          ELSIF NEW.status IS DISTINCT FROM OLD.status
                OR NOT ST_Equals(NEW.geom, OLD.geom) THEN
            INSERT INTO agreement_area_history (area_id, previous_status, status,
                                                geometry_changed, reason, etl_run_id)
            VALUES (NEW.id, OLD.status, NEW.status, NOT ST_Equals(NEW.geom, OLD.geom),
                    CASE WHEN NEW.status IS DISTINCT FROM OLD.status
                         THEN 'status changed' ELSE 'geometry changed' END,
                    NEW.etl_run_id);
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER agreement_area_history_append
          AFTER INSERT OR UPDATE ON agreement_areas
          FOR EACH ROW EXECUTE FUNCTION agreement_area_history_append();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS agreement_area_history_append ON agreement_areas")
    op.execute("DROP FUNCTION IF EXISTS agreement_area_history_append()")
