"""Cross-source duplicates counted once per group, kept up to date for callers who see every row.

A *group* is a connected component of `incident_duplicates` links (A-B and B-C make one group of
three even without A-C). Of a group, the report ranked first stands for the event (the better
verified: confirmed, under review, reported, then the rest; among equals the lower id) and every
other member is *superseded*. For callers who may see every incident (analysts, planners,
admins) that set is maintained here, so counting queries read it instead of working it out:

- `incident_superseded`: one row per superseded report, with its group (the smallest id in the
  component) and the report standing for it;
- `area_superseded_incidents`: one row per (agreement area, superseded report inside it), with
  the values the per-area summary `area_incident_days` is keyed and counted on (day, phase,
  event type, fatalities, verification status), so per-area counts take away a small indexed
  table's sums instead of joining the superseded reports to the areas on every request.

Both are recomputed, set-based, for the groups a statement touches (`duplicate_groups_refresh`):
links inserted, deleted or updated; linked incidents updated (verification status, time, place,
type); agreement areas inserted or whose geometry or signing time changed (their rows only).
Deleted incidents and areas cascade. Callers who see only some rows (public, partners) do not
use these tables: their groups are computed live from the links between the rows they see, so a
report they cannot see never joins, splits or ranks their groups.

Revision ID: 13d_duplicate_groups
Revises: 12a_alert_retries
"""

# ruff: noqa: S608 - SQL assembled from constants only
from collections.abc import Sequence

from alembic import op

revision: str = "13d_duplicate_groups"
down_revision: str | None = "12a_alert_retries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK = ("CASE i.verification_status WHEN 'confirmed' THEN 0 WHEN 'under_review' THEN 1 "
        "WHEN 'reported' THEN 2 ELSE 3 END")
_M = ("m_n", "m_fatalities", "m_reported", "m_under_review", "m_confirmed", "m_rejected",
      "m_duplicate")


def _apply(rows: str, sign: str) -> str:
    """SQL: add (sign '+') or take away ('-') the area rows `rows` (a CTE name, columns as
    area_superseded_incidents) to the summary's merged columns `m_*`."""
    statuses = ", ".join(f"{sign}count(*) FILTER (WHERE x.verification_status = '{s}')"
                         for s in ("reported", "under_review", "confirmed", "rejected",
                                   "duplicate"))
    updates = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in _M)
    return f"""
    INSERT INTO area_incident_days AS d (area_id, day, phase, event_type, n, fatalities,
      reported, under_review, confirmed, rejected, duplicate, {", ".join(_M)})
    SELECT x.area_id, x.day, x.phase, x.event_type, 0, 0, 0, 0, 0, 0, 0, {sign}count(*),
           {sign}sum(x.fatalities), {statuses}
    FROM {rows} x GROUP BY 1, 2, 3, 4
    ON CONFLICT (area_id, day, phase, event_type) DO UPDATE SET {updates}"""


def _area_rows(superseded: str, areas: str) -> str:
    """SQL: the area rows of the superseded reports `superseded` inside `areas`, recorded and
    added to the summary (OFFSET 0: the few reports first, each finding its areas by index)."""
    return f"""
    WITH made AS (
      INSERT INTO area_superseded_incidents
      SELECT a.id, i.id, (i.occurred_at AT TIME ZONE 'UTC')::date,
             CASE WHEN a.signed_at IS NULL THEN 'unsigned'
                  WHEN i.occurred_at < a.signed_at THEN 'before' ELSE 'after' END,
             i.event_type, coalesce(i.fatalities, 0), i.verification_status
      FROM (SELECT i.* FROM {superseded} s JOIN incidents i ON i.id = s.incident_id OFFSET 0) i
      JOIN {areas} a ON a.geom && i.geom AND ST_Intersects(a.geom, i.geom)
      RETURNING *)
    {_apply("made", "+")};"""


#: the refreshed members' area rows
_MEMBER_AREA_ROWS = _area_rows(
    "(SELECT * FROM incident_superseded WHERE incident_id IN (SELECT unnest(members)))",
    "agreement_areas")
#: the refreshed members' old area rows, taken away
_MEMBER_AREA_ROWS_GONE = f"""
    WITH gone AS (
      DELETE FROM area_superseded_incidents WHERE incident_id IN (SELECT unnest(members))
      RETURNING *)
    {_apply("gone", "-")};"""
#: areas whose geometry or signing time an UPDATE changed
_CHANGED_AREAS = """(
    SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE NOT ST_OrderingEquals(n.geom, o.geom) OR n.signed_at IS DISTINCT FROM o.signed_at)"""
_CHANGED_AREA_ROWS = _area_rows("incident_superseded", _CHANGED_AREAS)
_NEW_AREA_ROWS = _area_rows("incident_superseded", "new_rows")


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE incident_superseded (
          incident_id bigint NOT NULL CONSTRAINT pk_incident_superseded PRIMARY KEY
            CONSTRAINT fk_incident_superseded_incident_id_incidents
            REFERENCES incidents (id) ON DELETE CASCADE,
          group_id bigint NOT NULL,
          standing_id bigint NOT NULL
        );
        CREATE TABLE area_superseded_incidents (
          area_id integer NOT NULL CONSTRAINT fk_area_superseded_incidents_area_id
            REFERENCES agreement_areas (id) ON DELETE CASCADE,
          -- no foreign key to incidents: a deleted report's rows stay until its links' deletion
          -- regroups it, which takes them away from the summary
          incident_id bigint NOT NULL,
          day date NOT NULL,
          phase text NOT NULL,
          event_type text NOT NULL,
          fatalities integer NOT NULL,
          verification_status text NOT NULL,
          CONSTRAINT pk_area_superseded_incidents PRIMARY KEY (area_id, incident_id)
        );
        CREATE INDEX ix_area_superseded_incidents_incident_id
          ON area_superseded_incidents (incident_id);
        ALTER TABLE area_incident_days
          {", ".join(f"ADD COLUMN {c} {'bigint' if c == 'm_fatalities' else 'integer'} NOT NULL DEFAULT 0" for c in _M)};

        -- the groups of the `touched` incidents, recomputed: their members' superseded rows and
        -- area rows deleted and made again from the links and incidents as they are now
        CREATE FUNCTION duplicate_groups_refresh(touched bigint[]) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
          members bigint[];
          groups bigint[];
        BEGIN
          IF touched IS NULL OR cardinality(touched) = 0 THEN
            RETURN;
          END IF;
          -- each member's links from either end through their indexes (LATERAL: two look-ups
          -- per member, never a scan of the links per member)
          WITH RECURSIVE reach(root, member) AS (
            SELECT t, t FROM unnest(touched) t
            UNION
            SELECT r.root, nb.other FROM reach r CROSS JOIN LATERAL (
              SELECT d.duplicate_of AS other FROM incident_duplicates d
              WHERE d.incident_id = r.member
              UNION ALL
              SELECT d.incident_id FROM incident_duplicates d WHERE d.duplicate_of = r.member
            ) nb
          ), grouped AS (
            SELECT member, min(member) OVER (PARTITION BY root) AS grp FROM reach
          )
          SELECT array_agg(member), array_agg(grp) INTO members, groups
          FROM (SELECT member, min(grp) AS grp FROM grouped GROUP BY member) m;

          -- IN (unnest): a hash or index look-up, not each row compared with the whole array
          {_MEMBER_AREA_ROWS_GONE}
          DELETE FROM incident_superseded WHERE incident_id IN (SELECT unnest(members));
          INSERT INTO incident_superseded (incident_id, group_id, standing_id)
          SELECT id, grp, standing FROM (
            SELECT i.id, m.grp,
                   first_value(i.id) OVER (PARTITION BY m.grp ORDER BY {RANK}, i.id) AS standing
            FROM unnest(members, groups) AS m(id, grp) JOIN incidents i ON i.id = m.id) x
          WHERE id <> standing;
          {_MEMBER_AREA_ROWS}
        END $$;

        CREATE FUNCTION duplicate_groups_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM duplicate_groups_refresh(ARRAY(
              SELECT incident_id FROM new_rows UNION SELECT duplicate_of FROM new_rows));
          END IF;
          IF TG_OP IN ('DELETE', 'UPDATE') THEN
            PERFORM duplicate_groups_refresh(ARRAY(
              SELECT incident_id FROM old_rows UNION SELECT duplicate_of FROM old_rows));
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER duplicate_groups_links_ins AFTER INSERT ON incident_duplicates
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_links_changed();
        CREATE TRIGGER duplicate_groups_links_del AFTER DELETE ON incident_duplicates
          REFERENCING OLD TABLE AS old_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_links_changed();
        CREATE TRIGGER duplicate_groups_links_upd AFTER UPDATE ON incident_duplicates
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_links_changed();

        -- a linked incident updated (its status ranks it; its time, place and type key its area
        -- rows): its group again; with no links at all, nothing to look at
        CREATE FUNCTION duplicate_groups_incidents_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM incident_duplicates) THEN
            RETURN NULL;
          END IF;
          PERFORM duplicate_groups_refresh(ARRAY(
            SELECT n.id FROM new_rows n
            WHERE n.id IN (SELECT incident_id FROM incident_duplicates
                           UNION ALL SELECT duplicate_of FROM incident_duplicates)));
          RETURN NULL;
        END $$;
        CREATE TRIGGER duplicate_groups_incidents_upd AFTER UPDATE ON incidents
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_incidents_updated();

        -- areas inserted, or whose geometry or signing time changed: their area rows again
        CREATE FUNCTION duplicate_groups_areas_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM incident_superseded) THEN
            RETURN NULL;
          END IF;
          IF TG_OP = 'UPDATE' THEN
            -- area_days_areas_updated (it fires first: same event, names in alphabetical
            -- order) rebuilt these areas' summary rows with m_* = 0: nothing to take away
            DELETE FROM area_superseded_incidents d USING {_CHANGED_AREAS} c
            WHERE d.area_id = c.id;
            {_CHANGED_AREA_ROWS}
          ELSE
            {_NEW_AREA_ROWS}
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER duplicate_groups_areas_ins AFTER INSERT ON agreement_areas
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_areas_changed();
        CREATE TRIGGER duplicate_groups_areas_upd AFTER UPDATE ON agreement_areas
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_areas_changed();

        CREATE FUNCTION duplicate_groups_incidents_truncated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM area_superseded_incidents;
          RETURN NULL;
        END $$;
        CREATE TRIGGER duplicate_groups_incidents_trunc AFTER TRUNCATE ON incidents
          FOR EACH STATEMENT EXECUTE FUNCTION duplicate_groups_incidents_truncated();

        -- the links made before this migration
        SELECT duplicate_groups_refresh(ARRAY(
          SELECT incident_id FROM incident_duplicates UNION SELECT duplicate_of
          FROM incident_duplicates));
    """)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER IF EXISTS duplicate_groups_links_ins ON incident_duplicates;
        DROP TRIGGER IF EXISTS duplicate_groups_links_del ON incident_duplicates;
        DROP TRIGGER IF EXISTS duplicate_groups_links_upd ON incident_duplicates;
        DROP TRIGGER IF EXISTS duplicate_groups_incidents_upd ON incidents;
        DROP TRIGGER IF EXISTS duplicate_groups_incidents_trunc ON incidents;
        DROP FUNCTION IF EXISTS duplicate_groups_incidents_truncated();
        DROP TRIGGER IF EXISTS duplicate_groups_areas_ins ON agreement_areas;
        DROP TRIGGER IF EXISTS duplicate_groups_areas_upd ON agreement_areas;
        DROP FUNCTION IF EXISTS duplicate_groups_links_changed();
        DROP FUNCTION IF EXISTS duplicate_groups_incidents_updated();
        DROP FUNCTION IF EXISTS duplicate_groups_areas_changed();
        DROP FUNCTION IF EXISTS duplicate_groups_refresh(bigint[]);
        DROP TABLE IF EXISTS area_superseded_incidents;
        ALTER TABLE area_incident_days
          DROP COLUMN IF EXISTS m_n, DROP COLUMN IF EXISTS m_fatalities,
          DROP COLUMN IF EXISTS m_reported, DROP COLUMN IF EXISTS m_under_review,
          DROP COLUMN IF EXISTS m_confirmed, DROP COLUMN IF EXISTS m_rejected,
          DROP COLUMN IF EXISTS m_duplicate;
        DROP TABLE IF EXISTS incident_superseded;
    """)
