"""An index of incidents by time, then release state: what anonymous time windows read.

An anonymous page of a time window reads only released rows (confirmed and public). With the
plain `occurred_at` index the planner either reads every row of the window and drops the
unreleased ones, or ANDs in a bitmap of the whole `verification_status` index, which grows with
the table (333,000 entries on 1M rows) on every request. With the release state in the index,
a window's released rows are told from the others inside the index, in time order, so a
datetime page finds its rows as an analyst's does (see `server.queries.features._bucket_edge`).
Time comes first: an index led by the release state (or a partial one of the released rows)
looked like the cheapest way to every released row to a planner without statistics for the
table (a fresh load), and was scanned whole for each id look-up of a released row.

Revision ID: 14a_released_incident_indexes
Revises: 13i_quarantine_review
"""

from collections.abc import Sequence

from alembic import op

revision: str = "14a_released_incident_indexes"
down_revision: str | None = "13i_quarantine_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incidents_occurred_at_verification_status_sensitivity", "incidents",
                    ["occurred_at", "verification_status", "sensitivity"])


def downgrade() -> None:
    op.drop_index("ix_incidents_occurred_at_verification_status_sensitivity", "incidents")
