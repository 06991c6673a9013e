"""Settlements get a Russian name (`name_ru`) beside the Arabic one: the centre's analysts read
Russian, and the viewer labels, lists and searches places in the chosen language. Filled by the
next gazetteer load (etl/place_names.py chooses it among GeoNames' alternate names).

Revision ID: 14e_settlement_russian_names
Revises: 14d_derived_admin_pcodes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "14e_settlement_russian_names"
down_revision: str | None = "14d_derived_admin_pcodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("settlements", sa.Column("name_ru", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("settlements", "name_ru")
