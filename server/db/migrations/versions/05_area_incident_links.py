"""Maintained links between incidents and the agreement areas that contain them.

Per-area incident counts over 1,000,000 incidents and 2,000 overlapping areas take ~19 s as a
spatial join; asked often, they are kept instead in `area_incident_links` (one row per incident
inside an area, with the incident's time, type, verification status and fatalities copied in), by
statement-level triggers with transition tables (one set-based join per statement, so a bulk load
pays one join, not one look-up per row). Deletes cascade through the foreign keys.

Revision ID: 05_area_incident_links
Revises: 04_layer_versions
"""

from collections.abc import Sequence

from alembic import op

revision: str = "05_area_incident_links"
down_revision: str | None = "04_layer_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE area_incident_links (
          area_id integer NOT NULL REFERENCES agreement_areas(id) ON DELETE CASCADE,
          incident_id bigint NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
          occurred_at timestamptz NOT NULL,
          event_type text NOT NULL,
          verification_status text NOT NULL,
          fatalities integer,
          CONSTRAINT pk_area_incident_links PRIMARY KEY (area_id, incident_id)
        );
        CREATE INDEX ix_area_incident_links_incident_id ON area_incident_links (incident_id);
        CREATE INDEX ix_area_incident_links_area_id_occurred_at
          ON area_incident_links (area_id, occurred_at);
        CREATE INDEX ix_agreement_area_history_area_id_changed_at
          ON agreement_area_history (area_id, changed_at);

        CREATE FUNCTION area_links_incidents_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO area_incident_links
          SELECT a.id, n.id, n.occurred_at, n.event_type, n.verification_status, n.fatalities
          FROM new_rows n JOIN agreement_areas a ON a.geom && n.geom AND ST_Intersects(a.geom, n.geom);
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_links_incidents_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM area_incident_links l USING new_rows n WHERE l.incident_id = n.id;
          INSERT INTO area_incident_links
          SELECT a.id, n.id, n.occurred_at, n.event_type, n.verification_status, n.fatalities
          FROM new_rows n JOIN agreement_areas a ON a.geom && n.geom AND ST_Intersects(a.geom, n.geom);
          RETURN NULL;
        END $$;
        CREATE FUNCTION area_links_areas_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' THEN
            DELETE FROM area_incident_links l USING new_rows n WHERE l.area_id = n.id;
          END IF;
          INSERT INTO area_incident_links
          SELECT a.id, i.id, i.occurred_at, i.event_type, i.verification_status, i.fatalities
          FROM new_rows a JOIN incidents i ON i.geom && a.geom AND ST_Intersects(a.geom, i.geom);
          RETURN NULL;
        END $$;

        CREATE TRIGGER area_links_incidents_inserted AFTER INSERT ON incidents
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_links_incidents_inserted();
        CREATE TRIGGER area_links_incidents_updated AFTER UPDATE ON incidents
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_links_incidents_updated();
        CREATE TRIGGER area_links_areas_inserted AFTER INSERT ON agreement_areas
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_links_areas_changed();
        CREATE TRIGGER area_links_areas_updated AFTER UPDATE ON agreement_areas
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION area_links_areas_changed();

        INSERT INTO area_incident_links
        SELECT a.id, i.id, i.occurred_at, i.event_type, i.verification_status, i.fatalities
        FROM agreement_areas a JOIN incidents i ON i.geom && a.geom AND ST_Intersects(a.geom, i.geom);
    """)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER IF EXISTS area_links_incidents_inserted ON incidents;
        DROP TRIGGER IF EXISTS area_links_incidents_updated ON incidents;
        DROP TRIGGER IF EXISTS area_links_areas_inserted ON agreement_areas;
        DROP TRIGGER IF EXISTS area_links_areas_updated ON agreement_areas;
        DROP FUNCTION IF EXISTS area_links_incidents_inserted();
        DROP FUNCTION IF EXISTS area_links_incidents_updated();
        DROP FUNCTION IF EXISTS area_links_areas_changed();
        DROP INDEX IF EXISTS ix_agreement_area_history_area_id_changed_at;
        DROP TABLE IF EXISTS area_incident_links;
    """)
