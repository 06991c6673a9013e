"""Statement triggers that join a statement's old and new rows (transition tables) must plan that
join for each statement: PL/pgSQL keeps a static statement's plan for the session, made for the
first statement's size (a nested loop when it was small), and every later statement in the
session reuses it, quadratic in its rows. Dynamic SQL (EXECUTE) is planned each time. And no
EXISTS over such a join: it is planned as a nested loop that stops at a first row, which an
update moving no point (a revised fatality count) never has."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

#: a static join of the two transition tables, in either order
STATIC_JOIN = re.compile(r"\b(new_rows|old_rows)\s+\w+\s+JOIN\s+(new_rows|old_rows)\b", re.I)
#: EXISTS over a join of the two transition tables, static or not: planned to stop at a first
#: row (a nested loop), it runs over every pair when there is none
EXISTS_JOIN = re.compile(r"EXISTS\s*\(\s*SELECT\b[^;]*?\b(new_rows|old_rows)\s+\w+\s+JOIN\s+"
                         r"(new_rows|old_rows)\b", re.I | re.S)
#: EXECUTE'd texts: $q$...$q$ or $tp$...$tp$ quoted
DYNAMIC = re.compile(r"\$(q|tp)\$.*?\$\1\$", re.S)
#: agreement-area triggers still joining statically (areas are thousands of rows, not millions)
KNOWN = {"area_days_areas_updated", "duplicate_groups_areas_changed"}


def test_layer_triggers_plan_their_transition_joins_per_statement(engine: Engine) -> None:
    with engine.connect() as conn:
        functions = conn.execute(text(
            "SELECT proname, prosrc FROM pg_proc "
            "WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql') "
            "AND prosrc ~ 'new_rows' AND prosrc ~ 'old_rows'")).all()
    static = {name for name, source in functions
              if STATIC_JOIN.search(DYNAMIC.sub("", source))}
    assert {"incident_tile_cells_updated", "history_capture", "audit_capture"} <= \
        {name for name, _ in functions}
    assert static <= KNOWN, sorted(static - KNOWN)
    assert not [name for name, source in functions if EXISTS_JOIN.search(source)]


def test_a_large_update_after_a_small_one_keeps_the_pyramid_exact(engine: Engine) -> None:
    """The plan is made per statement: a one-row update, then every incident moved, in one
    session; the maintained cells equal a rebuild."""
    snapshot = text("SELECT level, cx, cy, kind, n, round(sum_lon::numeric, 6), "
                    "round(sum_lat::numeric, 6) FROM incident_tile_cells ORDER BY 1, 2, 3, 4")
    move = ("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(ST_X(geom) + 0.01, "
            "ST_Y(geom)), 4326)")
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text(f"{move} WHERE id = (SELECT min(id) FROM incidents)"))  # noqa: S608
        conn.execute(text(move))
        maintained = conn.execute(snapshot).all()
        conn.execute(text("SELECT incident_tile_cells_rebuild()"))
        assert conn.execute(snapshot).all() == maintained
        tx.rollback()
