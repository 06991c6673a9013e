"""The tile-cell pyramid's update trigger plans its statements for each statement's own size.

PL/pgSQL keeps the plan of a static SQL statement for the rest of the session, made the first
time the function runs. The update trigger of migration 08 joins the statement's old and new
rows (transition tables, whose only statistic is their row count at planning time): planned
for a session's first, small UPDATE, the join is a nested loop, and every later UPDATE in that
session reuses it, quadratic in its rows. This is what kept a 10% update of 1,000,000 loaded
incidents inside the upsert for tens of minutes, together with the trigger's first question,
`IF EXISTS (... old rows JOIN new rows ...)`: EXISTS is planned to stop at a first row (a nested
loop), and an update that moves no point (a revised fatality count) has no first row, so the
loop ran over every pair. The statements now run through EXECUTE, planned each time for the
rows at hand, as the audit and history triggers already do, and the question is a count. What
the trigger writes is unchanged.

Revision ID: 15b_tile_cells_per_statement
Revises: 15a_versioned_history
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "15b_tile_cells_per_statement"
down_revision: str | None = "15a_versioned_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pyramid() -> ModuleType:
    """Migration 08's SQL builders (the roll-up and merge of the cells), used as they are."""
    path = Path(__file__).with_name("08a_incident_tile_cells.py")
    spec = importlib.util.spec_from_file_location("truce_migration_08", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _statements(sql: str) -> list[str]:
    """The statements of one `_merge()` text (an optional INSERT of kinds, then the merge)."""
    kinds, sep, merge = sql.partition("ON CONFLICT DO NOTHING;")
    return [f"{kinds.strip()} ON CONFLICT DO NOTHING", merge.strip()] if sep else [sql.strip()]


def upgrade() -> None:
    m = _pyramid()
    old, new = m._MOVED.format(side="o"), m._MOVED.format(side="n")
    executed = "\n".join(f"EXECUTE $q${s}$q$;"
                         for s in _statements(m._merge(old, -1)) + _statements(m._merge(new, 1)))
    op.execute(f"""
        CREATE OR REPLACE FUNCTION incident_tile_cells_updated() RETURNS trigger
          LANGUAGE plpgsql SET work_mem = '256MB' AS $$
        DECLARE
          moved boolean;
        BEGIN
          -- counted, not EXISTS: planned to stop at a first row, EXISTS over the join is a
          -- nested loop, and when no row moved (only other columns changed) it never stops early
          EXECUTE $q$SELECT count(*) > 0 FROM {old} moved$q$ INTO moved;
          IF moved THEN
            {m.LOCK};
            {executed}
            DELETE FROM incident_tile_cells WHERE n <= 0;
          END IF;
          RETURN NULL;
        END $$;
    """)


def downgrade() -> None:
    m = _pyramid()
    moved = m._MOVED.format(side="o")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION incident_tile_cells_updated() RETURNS trigger
          LANGUAGE plpgsql SET work_mem = '256MB' AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM {moved} moved) THEN
            {m.LOCK};
            {m._merge(moved, -1)};
            {m._merge(m._MOVED.format(side="n"), 1)};
            DELETE FROM incident_tile_cells WHERE n <= 0;
          END IF;
          RETURN NULL;
        END $$;
    """)
