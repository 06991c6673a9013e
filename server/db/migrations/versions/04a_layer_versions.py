"""Per-layer data versions for ETags, Last-Modified, exact unfiltered counts and tile-cache
invalidation.

`layer_versions` holds one row per published layer: `version` goes up by one for every statement
that changes at least one row (statement-level triggers with transition tables, so a bulk load
bumps it once and a no-op upsert not at all), `row_count` is kept exact, `changed_at` is when.

Revision ID: 04_layer_versions
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "04_layer_versions"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYERS = ("incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE layer_versions (
          layer text PRIMARY KEY,
          version bigint NOT NULL DEFAULT 1,
          row_count bigint NOT NULL DEFAULT 0,
          changed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE FUNCTION layer_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          n bigint := 0;
          delta bigint := 0;
        BEGIN
          IF TG_OP = 'TRUNCATE' THEN
            UPDATE layer_versions SET version = version + 1, row_count = 0,
                   changed_at = clock_timestamp() WHERE layer = TG_TABLE_NAME;
            RETURN NULL;
          ELSIF TG_OP = 'INSERT' THEN
            SELECT count(*) INTO n FROM new_rows; delta := n;
          ELSIF TG_OP = 'UPDATE' THEN
            SELECT count(*) INTO n FROM new_rows;
          ELSE
            SELECT count(*) INTO n FROM old_rows; delta := -n;
          END IF;
          IF n > 0 THEN
            UPDATE layer_versions SET version = version + 1, row_count = row_count + delta,
                   changed_at = clock_timestamp() WHERE layer = TG_TABLE_NAME;
          END IF;
          RETURN NULL;
        END $$;
    """)
    for layer in LAYERS:
        op.execute(f"""
            INSERT INTO layer_versions (layer, version, row_count)
              SELECT '{layer}', 1, count(*) FROM {layer};
            CREATE TRIGGER {layer}_version_ins AFTER INSERT ON {layer}
              REFERENCING NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump();
            CREATE TRIGGER {layer}_version_upd AFTER UPDATE ON {layer}
              REFERENCING NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump();
            CREATE TRIGGER {layer}_version_del AFTER DELETE ON {layer}
              REFERENCING OLD TABLE AS old_rows
              FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump();
            CREATE TRIGGER {layer}_version_trunc AFTER TRUNCATE ON {layer}
              FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump();
        """)  # noqa: S608 - constant layer names


def downgrade() -> None:
    for layer in LAYERS:
        for suffix in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS {layer}_version_{suffix} ON {layer}")
    op.execute("DROP FUNCTION IF EXISTS layer_version_bump()")
    op.execute("DROP TABLE IF EXISTS layer_versions")
