"""Agreement area history: `effective_at`, when a change took effect according to the data (the
agreement's effective_from, else signed_at, for the first entry; the new effective_to or
effective_from when a status or geometry change came with one), next to `changed_at` (when Truce
recorded it: a load time). NULL when the data does not say. Existing first entries are filled in.

Revision ID: 11e_area_history_effective
Revises: 11a_admin_area_parts
"""

from collections.abc import Sequence

from alembic import op

revision: str = "11e_area_history_effective"
down_revision: str | None = "11a_admin_area_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
    CREATE OR REPLACE FUNCTION agreement_area_history_append() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO agreement_area_history (area_id, previous_status, status,
                                            geometry_changed, reason, etl_run_id{cols})
        VALUES (NEW.id, NULL, NEW.status, true, 'created', NEW.etl_run_id{created});
      ELSIF NEW.status IS DISTINCT FROM OLD.status
            OR NOT ST_Equals(NEW.geom, OLD.geom) THEN
        INSERT INTO agreement_area_history (area_id, previous_status, status,
                                            geometry_changed, reason, etl_run_id{cols})
        VALUES (NEW.id, OLD.status, NEW.status, NOT ST_Equals(NEW.geom, OLD.geom),
                CASE WHEN NEW.status IS DISTINCT FROM OLD.status
                     THEN 'status changed' ELSE 'geometry changed' END,
                NEW.etl_run_id{changed});
      END IF;
      RETURN NEW;
    END $$;
"""

_EFFECTIVE = _FUNCTION.format(
    cols=", effective_at",
    created=", coalesce(NEW.effective_from, NEW.signed_at)",
    changed=""",
                CASE WHEN NEW.effective_to IS DISTINCT FROM OLD.effective_to
                       AND NEW.effective_to IS NOT NULL THEN NEW.effective_to
                     WHEN NEW.effective_from IS DISTINCT FROM OLD.effective_from
                       AND NEW.effective_from IS NOT NULL THEN NEW.effective_from
                END""")


def upgrade() -> None:
    op.execute("ALTER TABLE agreement_area_history ADD COLUMN effective_at timestamptz")
    op.execute("""COMMENT ON COLUMN agreement_area_history.effective_at IS
        'when the change took effect according to the data (NULL: the data does not say); '
        'changed_at is when Truce recorded it'""")
    op.execute(_EFFECTIVE)
    op.execute("""
        UPDATE agreement_area_history h SET effective_at = coalesce(a.effective_from, a.signed_at)
        FROM agreement_areas a
        WHERE a.id = h.area_id AND h.reason = 'created' AND h.effective_at IS NULL""")


def downgrade() -> None:
    op.execute(_FUNCTION.format(cols="", created="", changed=""))
    op.execute("ALTER TABLE agreement_area_history DROP COLUMN effective_at")
