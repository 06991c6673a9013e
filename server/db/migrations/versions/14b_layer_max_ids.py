"""The highest committed id per layer, so a page in id order never walks a running load's rows.

A first load inserts its rows into the table's indexes before it commits. A page read in id
order (the default) walks the id index from one end and checks every entry against its
snapshot, so while a load of 1,000,000 rows runs, a page of an almost empty table visits the
load's invisible entries one by one. `layer_versions.max_id` is written by the same statement
trigger that bumps the version, so a reader's snapshot sees the highest id of the rows it can
see (or higher, never lower): bounding an id-ordered page by it stops the index walk at the
committed rows. Ids only grow, so the bound only ever grows too.

Revision ID: 14b_layer_max_ids
Revises: 14a_released_incident_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "14b_layer_max_ids"
down_revision: str | None = "14a_released_incident_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYERS = ("incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas")

BUMP = """
CREATE OR REPLACE FUNCTION layer_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint := 0;
  delta bigint := 0;
  top bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE layer_versions SET version = version + 1, row_count = 0,
           changed_at = clock_timestamp() WHERE layer = TG_TABLE_NAME;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT count(*), max(id) INTO n, top FROM new_rows; delta := n;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT count(*) INTO n FROM new_rows;
  ELSE
    SELECT count(*) INTO n FROM old_rows; delta := -n;
  END IF;
  IF n > 0 THEN
    UPDATE layer_versions SET version = version + 1, row_count = row_count + delta,
           max_id = greatest(max_id, top), changed_at = clock_timestamp()
     WHERE layer = TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END $$;
"""

OLD_BUMP = """
CREATE OR REPLACE FUNCTION layer_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


def upgrade() -> None:
    op.execute("ALTER TABLE layer_versions ADD COLUMN max_id bigint NOT NULL DEFAULT 0")
    for layer in LAYERS:
        top = f"SELECT coalesce(max(id), 0) FROM {layer}"  # noqa: S608 - constant layer names
        op.execute(f"UPDATE layer_versions SET max_id = ({top}) WHERE layer = '{layer}'")  # noqa: S608
    op.execute(BUMP)


def downgrade() -> None:
    op.execute(OLD_BUMP)
    op.execute("ALTER TABLE layer_versions DROP COLUMN max_id")
