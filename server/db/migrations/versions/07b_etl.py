"""ETL: the raster catalog, repaired-row counts per run, an index for duplicate links.

The index on incidents.duplicate_of also keeps deletes fast: without it, the self-referencing
foreign key (ON DELETE SET NULL) scans the whole table once per deleted row.

Revision ID: 03_etl
Revises: 07_security_audit
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "03_etl"
down_revision: str | None = "07_security_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rasters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("crs", sa.Text(), nullable=False),
        sa.Column("bounds", geoalchemy2.types.Geometry(geometry_type="POLYGON", srid=4326,
                                                       spatial_index=False), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("band_count", sa.Integer(), nullable=False),
        sa.Column("dtype", sa.Text(), nullable=False),
        sa.Column("resolution_x", sa.Float(), nullable=False),
        sa.Column("resolution_y", sa.Float(), nullable=False),
        sa.Column("nodata", sa.Float(), nullable=True),
        sa.Column("band_stats", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("source_sha256", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("kind IN ('population', 'terrain', 'imagery')",
                           name=op.f("ck_rasters_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rasters")),
        sa.UniqueConstraint("name", name=op.f("uq_rasters_name")),
    )
    op.add_column("etl_runs", sa.Column("rows_repaired", sa.Integer(), server_default="0",
                                        nullable=False))
    op.create_index(op.f("ix_incidents_duplicate_of"), "incidents", ["duplicate_of"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_duplicate_of"), table_name="incidents")
    op.drop_column("etl_runs", "rows_repaired")
    op.drop_table("rasters")
