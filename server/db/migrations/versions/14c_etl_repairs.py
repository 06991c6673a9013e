"""etl_repairs: every repair a load made to a row, one entry per row and field.

A swapped lon/lat put back, a point taken from the gazetteer, an invalid polygon made valid:
each changes what the file said, so each is kept with its run, the row's line, the field, the
value before and after, and the rule that made it (`truce etl runs show ID`).

Revision ID: 14c_etl_repairs
Revises: 14b_layer_max_ids
"""

from collections.abc import Sequence

from alembic import op

revision: str = "14c_etl_repairs"
down_revision: str | None = "14b_layer_max_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE etl_repairs (
          id bigserial CONSTRAINT pk_etl_repairs PRIMARY KEY,
          etl_run_id bigint NOT NULL CONSTRAINT fk_etl_repairs_etl_run_id_etl_runs
            REFERENCES etl_runs (id) ON DELETE CASCADE,
          record_number integer,
          source_id text,
          field text NOT NULL,
          value_before text,
          value_after text,
          rule text NOT NULL
        );
        CREATE INDEX ix_etl_repairs_etl_run_id ON etl_repairs (etl_run_id);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE etl_repairs")
