"""The audit log sealed set-wise: per-entry content hashes and a chain of per-statement blocks.

Migration 07 chained every entry to the one before it (hash = sha256(prev_hash || payload)): a
running aggregate, i.e. one SQL-function call per row in strict order (plus a sort of the
statement's rows by id), which made the audit trigger the largest cost of a bulk load.

From here on:
- each entry's `hash` = sha256(audit_entry_text(entry)): its own canonical content (seq, time,
  actor, action, table, row id, before and after), computed set-wise; `prev_hash` is NULL;
- each statement that writes entries also appends one row to `audit_blocks`: the entries'
  seq range and count, and hash = sha256(previous block's hash || 'id:first:last:count' ||
  the entries' hashes concatenated in seq order). Blocks form the chain; entries hang off it.

`truce audit verify` recomputes every entry's hash (an edited entry is named), every block's hash
from the entries in its range (a deleted or added entry breaks its block) and each block's link
to the one before (an edited or deleted block breaks the chain). Entries written before this
migration keep their 07 chain: they are sealed as one `legacy` block whose hash is their head,
so heads published earlier stay valid, and verify checks them the 07 way.

The appenders stay serialised by the transaction-scoped advisory lock (seq order = commit order,
which the change-feed cursor relies on), audit_log and audit_blocks stay append-only, and the
actor, before/after JSON and history are unchanged.

Revision ID: 09_audit_blocks
Revises: 08_incident_tile_cells
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

from collections.abc import Sequence

from alembic import op

revision: str = "09_audit_blocks"
down_revision: str | None = "08_incident_tile_cells"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "decode(repeat('00', 32), 'hex')"
LOCK = "hashtext('truce.audit_log')"
WHO = "nullif(current_setting('truce.actor', true), '')"
SQL_USER = "'sql:' || session_user"

# The rows a statement changed, as (row_id, before, after, actor); __COLS__ is the select list
# turning a row `r` into audit JSON (geometry as hex EWKB), from audit_columns() of migration 07.
INSERTED = f"""
    SELECT j->>'id' AS row_id, NULL::jsonb AS before, j AS after,
           coalesce({WHO}, CASE WHEN j->>'etl_run_id' IS NOT NULL
                                THEN 'etl:run/' || (j->>'etl_run_id') ELSE {SQL_USER} END)
             AS actor
    FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) x
"""
UPDATED = f"""
    SELECT n->>'id' AS row_id, o AS before, n AS after,
           coalesce({WHO}, CASE WHEN n->>'etl_run_id' IS NOT NULL
                                 AND n->>'etl_run_id' IS DISTINCT FROM o->>'etl_run_id'
                                THEN 'etl:run/' || (n->>'etl_run_id') ELSE {SQL_USER} END)
             AS actor
    FROM (SELECT to_jsonb(s) AS o FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) a
    JOIN (SELECT to_jsonb(s) AS n FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) b
      ON a.o->'id' = b.n->'id'
    WHERE (o - 'updated_at') IS DISTINCT FROM (n - 'updated_at')
"""
DELETED = f"""
    SELECT j->>'id' AS row_id, j AS before, NULL::jsonb AS after,
           coalesce({WHO}, {SQL_USER}) AS actor
    FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) x
"""


def _append(changes: str) -> str:
    """Dynamic SQL appending `changes` as entries plus their block, in one statement.

    $1 the previous block's hash, $2 the action, $3 the table, $4 this block's id, $5 the
    statement's constant head of audit_entry_text() (its time, action and table)."""
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


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE audit_blocks (
          id bigserial PRIMARY KEY,
          first_seq bigint NOT NULL,
          last_seq bigint NOT NULL,
          entries bigint NOT NULL,
          at timestamptz NOT NULL DEFAULT now(),
          legacy boolean NOT NULL DEFAULT false,
          prev_hash bytea NOT NULL,
          hash bytea NOT NULL
        );
        CREATE UNIQUE INDEX ix_audit_blocks_first_seq ON audit_blocks (first_seq);
        CREATE INDEX ix_audit_blocks_hash ON audit_blocks (hash);
        CREATE TRIGGER audit_blocks_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
          ON audit_blocks FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;

        -- the canonical text of one entry, hashed on its own (also used by `truce audit verify`):
        -- a head constant for one statement (time, action, table), then the row's own part;
        -- strings are JSON-quoted and before/after are jsonb text: no field can forge a line break
        CREATE FUNCTION audit_entry_head(at timestamptz, action text, table_name text)
        RETURNS text LANGUAGE sql STABLE AS $$
          SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\\n'
                 || to_json(action)::text || E'\\n' || to_json(table_name)::text || E'\\n'
        $$;
        CREATE FUNCTION audit_entry_tail(seq bigint, actor text, row_id text, before jsonb,
                                         after jsonb)
        RETURNS text LANGUAGE sql IMMUTABLE AS $$
          SELECT seq::text || E'\\n' || to_json(actor)::text || E'\\n'
                 || to_json(row_id)::text || E'\\n' || coalesce(before::text, 'null')
                 || E'\\n' || coalesce(after::text, 'null')
        $$;
        CREATE FUNCTION audit_entry_text(seq bigint, at timestamptz, actor text, action text,
                                         table_name text, row_id text, before jsonb, after jsonb)
        RETURNS text LANGUAGE sql STABLE AS $$
          SELECT audit_entry_head(at, action, table_name)
                 || audit_entry_tail(seq, actor, row_id, before, after)
        $$;
        CREATE FUNCTION audit_block_hash(prev bytea, id bigint, first_seq bigint,
                                         last_seq bigint, entries bigint, hashes bytea)
        RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
          SELECT sha256(prev || convert_to(id || ':' || first_seq || ':' || last_seq || ':'
                                           || entries || ':', 'UTF8') || hashes)
        $$;

        -- entries written under migration 07 keep their chain, sealed as one legacy block
        INSERT INTO audit_blocks (first_seq, last_seq, entries, legacy, prev_hash, hash)
        SELECT min(seq), max(seq), count(*), true, {GENESIS},
               (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)
        FROM audit_log HAVING count(*) > 0;
    """)
    op.execute(f"""
        CREATE OR REPLACE FUNCTION audit_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
          prev bytea;
          stmt text;
          hidden text[] := coalesce(TG_ARGV, '{{}}'::text[]);
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
            stmt := $q${_append(DELETED)}$q$;
          ELSE
            IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
            IF TG_OP = 'INSERT' THEN
              stmt := $q${_append(INSERTED)}$q$;
            ELSE
              stmt := $q${_append(UPDATED)}$q$;
            END IF;
          END IF;
          PERFORM pg_advisory_xact_lock({LOCK});
          SELECT b.hash INTO prev FROM audit_blocks b ORDER BY b.id DESC LIMIT 1;
          EXECUTE replace(stmt, '__COLS__', audit_columns(TG_RELID, hidden))
            USING coalesce(prev, {GENESIS}), lower(TG_OP), TG_TABLE_NAME::text,
                  nextval('audit_blocks_id_seq'),
                  audit_entry_head(now(), lower(TG_OP), TG_TABLE_NAME::text);
          RETURN NULL;
        END $fn$;
    """)


def downgrade() -> None:
    # Entries sealed in blocks cannot be re-chained the 07 way without rewriting the log.
    raise NotImplementedError("09_audit_blocks is irreversible: it would break the audit log")
