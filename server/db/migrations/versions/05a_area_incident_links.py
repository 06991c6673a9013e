"""A maintained per-area, per-day summary of the incidents inside each agreement area.

Per-area incident counts over 1,000,000 incidents and 2,000 overlapping areas are a spatial join
of ~10^7 (area, incident) pairs: tens of seconds, too slow to ask often. `area_incident_days`
keeps, per (area, UTC day, phase, event type), the count, fatalities and the count per
verification status; phase is `before` / `after` the area's `signed_at` (to the second) or
`unsigned`. It is kept by statement-level triggers with transition tables (one set-based join
per statement, never one look-up per row): incidents inserted add their counts, deleted ones
subtract theirs, updated ones do both; an area inserted or whose geometry or signing time
changes is recounted; deleting an area cascades; TRUNCATE of incidents empties the summary.
Rows whose counts fall to zero are kept (they add nothing).

Revision ID: 05_area_incident_links
Revises: 04_layer_versions
"""

# ruff: noqa: S608 - SQL assembled from constants only
from collections.abc import Sequence

from alembic import op

revision: str = "05_area_incident_links"
down_revision: str | None = "04_layer_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = """
    sum(x.sign)::int,
    sum(x.sign * coalesce(x.fatalities, 0))::bigint,
    coalesce(sum(x.sign) FILTER (WHERE x.verification_status = 'reported'), 0)::int,
    coalesce(sum(x.sign) FILTER (WHERE x.verification_status = 'under_review'), 0)::int,
    coalesce(sum(x.sign) FILTER (WHERE x.verification_status = 'confirmed'), 0)::int,
    coalesce(sum(x.sign) FILTER (WHERE x.verification_status = 'rejected'), 0)::int,
    coalesce(sum(x.sign) FILTER (WHERE x.verification_status = 'duplicate'), 0)::int
"""
_KEY = """
    a.id, (x.occurred_at AT TIME ZONE 'UTC')::date,
    CASE WHEN a.signed_at IS NULL THEN 'unsigned'
         WHEN x.occurred_at < a.signed_at THEN 'before' ELSE 'after' END,
    x.event_type
"""
_UPSERT = f"""
    INSERT INTO area_incident_days AS d
    SELECT {_KEY}, {_COUNTS}
    FROM ({{rows}}) x JOIN {{areas}} a ON a.geom && x.geom AND ST_Intersects(a.geom, x.geom)
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (area_id, day, phase, event_type) DO UPDATE SET
      n = d.n + excluded.n, fatalities = d.fatalities + excluded.fatalities,
      reported = d.reported + excluded.reported,
      under_review = d.under_review + excluded.under_review,
      confirmed = d.confirmed + excluded.confirmed, rejected = d.rejected + excluded.rejected,
      duplicate = d.duplicate + excluded.duplicate;
"""
_COLS = "x.occurred_at, x.event_type, x.verification_status, x.fatalities, x.geom"


def _upsert(rows: str, areas: str = "agreement_areas") -> str:
    return _UPSERT.format(rows=rows, areas=areas)


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE area_incident_days (
          area_id integer NOT NULL REFERENCES agreement_areas(id) ON DELETE CASCADE,
          day date NOT NULL,
          phase text NOT NULL,
          event_type text NOT NULL,
          n integer NOT NULL,
          fatalities bigint NOT NULL,
          reported integer NOT NULL,
          under_review integer NOT NULL,
          confirmed integer NOT NULL,
          rejected integer NOT NULL,
          duplicate integer NOT NULL,
          CONSTRAINT pk_area_incident_days PRIMARY KEY (area_id, day, phase, event_type)
        );
        CREATE INDEX ix_agreement_area_history_area_id_changed_at
          ON agreement_area_history (area_id, changed_at);

        CREATE FUNCTION area_days_incidents_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_upsert(f"SELECT {_COLS}, 1 AS sign FROM new_rows x")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_days_incidents_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_upsert(f"SELECT {_COLS}, -1 AS sign FROM old_rows x")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_days_incidents_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_upsert(f"SELECT {_COLS}, -1 AS sign FROM old_rows x "
                   f"UNION ALL SELECT {_COLS}, 1 AS sign FROM new_rows x")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_days_incidents_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM area_incident_days;
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_days_areas_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_upsert(f"SELECT {_COLS}, 1 AS sign FROM incidents x", "new_rows")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_days_areas_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          CREATE TEMP TABLE IF NOT EXISTS area_days_changed (id integer, geom geometry,
                                                             signed_at timestamptz)
            ON COMMIT DROP;
          DELETE FROM area_days_changed;
          INSERT INTO area_days_changed
          SELECT n.id, n.geom, n.signed_at FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE NOT ST_OrderingEquals(n.geom, o.geom) OR n.signed_at IS DISTINCT FROM o.signed_at;
          DELETE FROM area_incident_days d USING area_days_changed c WHERE d.area_id = c.id;
          {_upsert(f"SELECT {_COLS}, 1 AS sign FROM incidents x", "area_days_changed")}
          RETURN NULL;
        END $$;

        CREATE TRIGGER area_days_incidents_inserted AFTER INSERT ON incidents
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_incidents_inserted();
        CREATE TRIGGER area_days_incidents_deleted AFTER DELETE ON incidents
          REFERENCING OLD TABLE AS old_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_incidents_deleted();
        CREATE TRIGGER area_days_incidents_updated AFTER UPDATE ON incidents
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_incidents_updated();
        CREATE TRIGGER area_days_incidents_truncated AFTER TRUNCATE ON incidents
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_incidents_truncated();
        CREATE TRIGGER area_days_areas_inserted AFTER INSERT ON agreement_areas
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_areas_inserted();
        CREATE TRIGGER area_days_areas_updated AFTER UPDATE ON agreement_areas
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_days_areas_updated();

        {_upsert(f"SELECT {_COLS}, 1 AS sign FROM incidents x")}
    """)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER IF EXISTS area_days_incidents_inserted ON incidents;
        DROP TRIGGER IF EXISTS area_days_incidents_deleted ON incidents;
        DROP TRIGGER IF EXISTS area_days_incidents_updated ON incidents;
        DROP TRIGGER IF EXISTS area_days_incidents_truncated ON incidents;
        DROP TRIGGER IF EXISTS area_days_areas_inserted ON agreement_areas;
        DROP TRIGGER IF EXISTS area_days_areas_updated ON agreement_areas;
        DROP FUNCTION IF EXISTS area_days_incidents_inserted();
        DROP FUNCTION IF EXISTS area_days_incidents_deleted();
        DROP FUNCTION IF EXISTS area_days_incidents_updated();
        DROP FUNCTION IF EXISTS area_days_incidents_truncated();
        DROP FUNCTION IF EXISTS area_days_areas_inserted();
        DROP FUNCTION IF EXISTS area_days_areas_updated();
        DROP INDEX IF EXISTS ix_agreement_area_history_area_id_changed_at;
        DROP TABLE IF EXISTS area_incident_days;
    """)
