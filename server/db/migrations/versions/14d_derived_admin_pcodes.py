"""Derived fields of loaded points: aid deliveries get admin 1-3 P-codes (incidents have them),
incidents the settlement a geocoded row took (`settlement_id`, as aid deliveries have), and the
P-codes of existing incidents, aid deliveries and settlements are filled from the admin areas
containing them (the ETL keeps them current: at load, and when admin areas are reloaded).

Revision ID: 14d_derived_admin_pcodes
Revises: 14c_etl_repairs
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

from collections.abc import Sequence

from alembic import op

revision: str = "14d_derived_admin_pcodes"
down_revision: str | None = "14c_etl_repairs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fill(table: str) -> str:
    levels = ", ".join(
        f"admin{n}_pcode = (SELECT p.pcode FROM admin_area_parts p WHERE p.admin_level = {n} "
        f"AND ST_Intersects(p.geom, t.geom) ORDER BY p.pcode LIMIT 1)" for n in (1, 2, 3))
    return f"UPDATE {table} t SET {levels};"


def upgrade() -> None:
    op.execute("""
        ALTER TABLE aid_deliveries ADD COLUMN admin1_pcode text, ADD COLUMN admin2_pcode text,
                                   ADD COLUMN admin3_pcode text;
        ALTER TABLE incidents ADD COLUMN settlement_id integer
            CONSTRAINT fk_incidents_settlement_id_settlements REFERENCES settlements (id)
            ON DELETE SET NULL;
        CREATE INDEX ix_incidents_settlement_id ON incidents (settlement_id);
        CREATE INDEX ix_incidents_admin1_pcode ON incidents (admin1_pcode);
    """)
    for table in ("incidents", "aid_deliveries", "settlements"):
        op.execute(_fill(table))


def downgrade() -> None:
    op.execute("""
        DROP INDEX IF EXISTS ix_incidents_admin1_pcode;
        ALTER TABLE incidents DROP COLUMN settlement_id;
        ALTER TABLE aid_deliveries DROP COLUMN admin1_pcode, DROP COLUMN admin2_pcode,
                                   DROP COLUMN admin3_pcode;
    """)
