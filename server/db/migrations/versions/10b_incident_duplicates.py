"""Cross-source duplicates: links between incidents that two sources report as one event, and the
event-type classes that say which types of two sources may describe the same event.

`incident_duplicates` holds one row per linked pair: `incident_id` (the later-recorded report,
the higher id) duplicates `duplicate_of` (the first-recorded one). Counting "without duplicates"
means skipping every incident that appears as `incident_id`. Links are made by the ETL after each
incidents load (etl/dedupe.py), with the distance, the time gap, a score and the reason.

`event_type_classes` maps source vocabularies to a shared class ('political_violence',
'demonstrations', ...); two types match when their classes are equal (a type not listed is its
own class). Operators may add rows.

Revision ID: 11c_incident_duplicates
Revises: 10_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "11c_incident_duplicates"
down_revision: str | None = "10_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIOLENCE = (
    # UCDP GED
    "state_based_violence", "non_state_violence", "one_sided_violence",
    # ACLED
    "battles", "explosions_remote_violence", "violence_against_civilians",
    # common words in HXL and field sheets
    "armed_clash", "clash", "clashes", "attack", "armed_attack", "shelling", "airstrike",
    "air_strike", "air_or_drone_strike", "drone_strike", "artillery", "bombing", "explosion",
    "ied", "remote_explosive", "sniper", "sniping", "killing", "abduction",
)
DEMONSTRATIONS = ("protests", "protest", "riots", "riot", "demonstration", "demonstrations")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE event_type_classes (
          event_type text CONSTRAINT pk_event_type_classes PRIMARY KEY,
          event_class text NOT NULL
        )
    """)
    rows = [(t, "political_violence") for t in VIOLENCE] + [(t, "demonstrations")
                                                          for t in DEMONSTRATIONS]
    op.get_bind().execute(
        sa.text("INSERT INTO event_type_classes (event_type, event_class) VALUES (:t, :c)"),
        [{"t": t, "c": c} for t, c in rows])
    op.execute("""
        CREATE TABLE incident_duplicates (
          incident_id bigint NOT NULL CONSTRAINT fk_incident_duplicates_incident_id_incidents
            REFERENCES incidents (id) ON DELETE CASCADE,
          duplicate_of bigint NOT NULL CONSTRAINT fk_incident_duplicates_duplicate_of_incidents
            REFERENCES incidents (id) ON DELETE CASCADE,
          distance_m double precision NOT NULL,
          hours_apart double precision NOT NULL,
          score real NOT NULL,
          reason text NOT NULL,
          etl_run_id bigint CONSTRAINT fk_incident_duplicates_etl_run_id_etl_runs
            REFERENCES etl_runs (id) ON DELETE SET NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_incident_duplicates PRIMARY KEY (incident_id, duplicate_of),
          CONSTRAINT ck_incident_duplicates_order CHECK (duplicate_of < incident_id)
        )
    """)
    op.execute("CREATE INDEX ix_incident_duplicates_duplicate_of ON incident_duplicates "
               "(duplicate_of)")
    op.execute("CREATE INDEX ix_incident_duplicates_etl_run_id ON incident_duplicates "
               "(etl_run_id)")


def downgrade() -> None:
    op.execute("DROP TABLE incident_duplicates")
    op.execute("DROP TABLE event_type_classes")
