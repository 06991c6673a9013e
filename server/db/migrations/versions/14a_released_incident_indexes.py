"""Indexes of the released incidents (confirmed and public): what anonymous callers see.

An anonymous page of a time window or a bbox reads only released rows. With the plain
`occurred_at` and `geom` indexes the planner either reads every row of the window or box and
drops two in three (the unreleased), or ANDs in a bitmap of the whole `verification_status`
index, which grows with the table (333,000 entries on 1M rows) for every request. Partial
indexes on the released rows answer those requests from released rows only, in time order
for a datetime page (see `server.queries.features._bucket_edge`), so they cost about what an
analyst's page costs on the full indexes. The predicate is `security.release.released()`.

Revision ID: 14a_released_incident_indexes
Revises: 13d_duplicate_groups
"""

from collections.abc import Sequence

from alembic import op

revision: str = "14a_released_incident_indexes"
down_revision: str | None = "13d_duplicate_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELEASED = "verification_status = 'confirmed' AND sensitivity = 'public'"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_incidents_released_occurred_at ON incidents (occurred_at) "
               f"WHERE {RELEASED}")
    op.execute(f"CREATE INDEX ix_incidents_released_geom ON incidents USING gist (geom) "
               f"WHERE {RELEASED}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_incidents_released_geom")
    op.execute("DROP INDEX IF EXISTS ix_incidents_released_occurred_at")
