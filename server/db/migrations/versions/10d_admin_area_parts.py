"""Admin areas cut into small parts, each carrying its area's centroid: the look-up behind the
`admin_centroid` geo-obfuscation (server/security/release.py).

Obfuscating a released incident to the centroid of the admin area containing it is a
point-in-polygon test per row shown. Against the COD-AB polygons themselves (sub-districts have
~500 vertices on average, up to ~15,000) is too slow, row by row, for a low-zoom tile. `admin_area_parts` holds every area cut by ST_Subdivide into pieces of at most 64 vertices
(GiST-indexed), with the whole area's pcode, level and centroid (GiST-indexed too: the areas
whose centroid falls in a box bound where the points shown in that box come from, which is the
index prefilter of tiles and bbox queries). Statement-level triggers with transition tables keep it current: inserted areas
add their parts, updated ones are re-cut, deleted ones removed, TRUNCATE empties it.

Revision ID: 11a_admin_area_parts
Revises: 11b_audit_fast
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

from collections.abc import Sequence

from alembic import op

revision: str = "11a_admin_area_parts"
down_revision: str | None = "11b_audit_fast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_VERTICES = 64


def _parts(rows: str) -> str:
    return f"""
      INSERT INTO admin_area_parts (pcode, admin_level, centroid, geom)
      SELECT r.pcode, r.admin_level, ST_Centroid(r.geom), ST_Subdivide(r.geom, {MAX_VERTICES})
      FROM {rows} r WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom);
    """


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE admin_area_parts (
          pcode text NOT NULL,
          admin_level smallint NOT NULL,
          centroid geometry(Point, 4326) NOT NULL,
          geom geometry(Geometry, 4326) NOT NULL
        );
        CREATE INDEX ix_admin_area_parts_geom ON admin_area_parts USING gist (geom);
        CREATE INDEX ix_admin_area_parts_pcode ON admin_area_parts (pcode);
        CREATE INDEX ix_admin_area_parts_centroid ON admin_area_parts USING gist (centroid);

        CREATE FUNCTION admin_area_parts_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_parts("new_rows")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION admin_area_parts_recut() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM admin_area_parts p USING old_rows o WHERE p.pcode = o.pcode;
          {_parts("new_rows")}
          RETURN NULL;
        END $$;
        CREATE FUNCTION admin_area_parts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM admin_area_parts p USING old_rows o WHERE p.pcode = o.pcode;
          RETURN NULL;
        END $$;
        CREATE FUNCTION admin_area_parts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          TRUNCATE admin_area_parts;
          RETURN NULL;
        END $$;
        CREATE TRIGGER admin_area_parts_ins AFTER INSERT ON admin_areas
          REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION admin_area_parts_add();
        CREATE TRIGGER admin_area_parts_upd AFTER UPDATE ON admin_areas
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION admin_area_parts_recut();
        CREATE TRIGGER admin_area_parts_del AFTER DELETE ON admin_areas
          REFERENCING OLD TABLE AS old_rows
          FOR EACH STATEMENT EXECUTE FUNCTION admin_area_parts_remove();
        CREATE TRIGGER admin_area_parts_trunc AFTER TRUNCATE ON admin_areas
          FOR EACH STATEMENT EXECUTE FUNCTION admin_area_parts_clear();
        {_parts("admin_areas")}
    """)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER IF EXISTS admin_area_parts_trunc ON admin_areas;
        DROP TRIGGER IF EXISTS admin_area_parts_del ON admin_areas;
        DROP TRIGGER IF EXISTS admin_area_parts_upd ON admin_areas;
        DROP TRIGGER IF EXISTS admin_area_parts_ins ON admin_areas;
        DROP FUNCTION IF EXISTS admin_area_parts_clear();
        DROP FUNCTION IF EXISTS admin_area_parts_remove();
        DROP FUNCTION IF EXISTS admin_area_parts_recut();
        DROP FUNCTION IF EXISTS admin_area_parts_add();
        DROP TABLE IF EXISTS admin_area_parts;
    """)
