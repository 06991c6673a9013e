"""The audit trigger's per-row work made cheaper; the log, its hashes and verify are unchanged.

Profiling a large ETL insert (auto_explain with triggers) put most of the upsert's time in
`incidents_audit_ins`. Two costs there were not inherent to auditing:

- `audit_entry_tail()` was declared IMMUTABLE while calling `to_json()` (STABLE), so the planner
  could not inline it and ran it through the SQL-function executor once per row.
  Declared STABLE (what it is), it is inlined into the trigger's statement and into
  `truce audit verify`. The text it returns, so every hash, is the same.
- the actor was recomputed per row from `current_setting()` and `session_user`; it is now
  resolved once per statement and bound ($6 the actor set by the API, $7 the SQL fallback). The
  rule is the same: the transaction's `truce.actor`, else `etl:run/<id>` for rows an ETL run
  wrote, else `sql:<session user>`.

What stays per row is inherent to a complete log: each row's before/after as JSON, its entry
hash and the entry itself (see the note on bulk loads in bench/etl.py's report).

Revision ID: 11b_audit_fast
Revises: 11c_incident_duplicates
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

from collections.abc import Sequence

from alembic import op

revision: str = "11b_audit_fast"
down_revision: str | None = "11c_incident_duplicates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "decode(repeat('00', 32), 'hex')"
LOCK = "hashtext('truce.audit_log')"
TAIL_ARGS = "bigint, text, text, jsonb, jsonb"

# (row_id, before, after, actor) of the rows a statement changed; $6 the API's actor or NULL,
# $7 'sql:<session user>'; __COLS__ the select list of audit_columns() (migration 07).
INSERTED = """
    SELECT j->>'id' AS row_id, NULL::jsonb AS before, j AS after,
           coalesce($6, 'etl:run/' || (j->>'etl_run_id'), $7) AS actor
    FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) x
"""
UPDATED = """
    SELECT n->>'id' AS row_id, o AS before, n AS after,
           coalesce($6, CASE WHEN n->>'etl_run_id' IS DISTINCT FROM o->>'etl_run_id'
                             THEN 'etl:run/' || (n->>'etl_run_id') END, $7) AS actor
    FROM (SELECT to_jsonb(s) AS o FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) a
    JOIN (SELECT to_jsonb(s) AS n FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) b
      ON a.o->'id' = b.n->'id'
    WHERE (o - 'updated_at') IS DISTINCT FROM (n - 'updated_at')
"""
DELETED = """
    SELECT j->>'id' AS row_id, j AS before, NULL::jsonb AS after, coalesce($6, $7) AS actor
    FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) x
"""


def _append(changes: str) -> str:
    """As in migration 09: the entries and their block in one statement ($1 previous block's
    hash, $2 action, $3 table, $4 block id, $5 the statement's head of audit_entry_text())."""
    return f"""
      WITH e AS (
        INSERT INTO audit_log (seq, at, actor, action, table_name, row_id, before, after,
                               prev_hash, hash)
        SELECT n.seq, n.at, n.actor, $2, $3, n.row_id, n.before, n.after, NULL,
               sha256(convert_to($5 || audit_entry_tail(n.seq, n.actor, n.row_id, n.before,
                                                        n.after), 'UTF8'))
        FROM (
          SELECT nextval('audit_log_seq_seq') AS seq, now() AS at, c.actor, c.row_id,
                 c.before, c.after
          FROM ({changes}) c
        ) n
        RETURNING seq, hash
      )
      INSERT INTO audit_blocks (id, first_seq, last_seq, entries, prev_hash, hash)
      SELECT $4, min(seq), max(seq), count(*), $1,
             audit_block_hash($1, $4, min(seq), max(seq), count(*),
                              string_agg(hash, ''::bytea ORDER BY seq))
      FROM e HAVING count(*) > 0
    """


def _capture(inserted: str, updated: str, deleted: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
          prev bytea;
          stmt text;
          hidden text[] := coalesce(TG_ARGV, '{{}}'::text[]);
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
            stmt := $q${_append(deleted)}$q$;
          ELSE
            IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
            IF TG_OP = 'INSERT' THEN
              stmt := $q${_append(inserted)}$q$;
            ELSE
              stmt := $q${_append(updated)}$q$;
            END IF;
          END IF;
          PERFORM pg_advisory_xact_lock({LOCK});
          SELECT b.hash INTO prev FROM audit_blocks b ORDER BY b.id DESC LIMIT 1;
          EXECUTE replace(stmt, '__COLS__', audit_columns(TG_RELID, hidden))
            USING coalesce(prev, {GENESIS}), lower(TG_OP), TG_TABLE_NAME::text,
                  nextval('audit_blocks_id_seq'),
                  audit_entry_head(now(), lower(TG_OP), TG_TABLE_NAME::text),
                  nullif(current_setting('truce.actor', true), ''), 'sql:' || session_user;
          RETURN NULL;
        END $fn$;
    """


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION audit_entry_tail({TAIL_ARGS}) STABLE")
    op.execute(_capture(INSERTED, UPDATED, DELETED))


def downgrade() -> None:
    # audit_capture() stays as it is: it writes exactly what migration 09's version wrote
    op.execute(f"ALTER FUNCTION audit_entry_tail({TAIL_ARGS}) IMMUTABLE")
