"""System-versioned history for the layers, and an audit chain that seals row content hashes.

The live row is its own current version. For incidents, agreement areas, aid deliveries and
settlements, one statement-level trigger per operation (`history_capture()`):
- on UPDATE or DELETE moves the previous versions, as typed columns (not JSON), into
  `<table>_history` with their validity (`valid_from`, `valid_to`), who wrote them
  (`written_by`) and who ended them (`ended_by`, `ended_seal`, `ended_action`);
- seals the statement with ONE row of `audit_seals`: the actor (the API's `truce.actor`, else
  `etl:run/<id>` when every row carries that run, else `sql:<session user>`), the action, the
  counts and id range, the transaction id that wrote the rows (their `xmin`), and two multiset
  digests computed set-wise: the sums, over the versions the statement wrote (its live rows), of
  their content hashes cut into four 64-bit lanes, and the same over the history rows it wrote.
  A content hash is sha256 of the row's text (`row::text`, under fixed output settings).
  Each seal's hash covers its fields and the previous seal's hash: the seals form a chain.
An insert writes nothing but its seal: no copy of the row.

How a live row knows which seal wrote it costs nothing: its `xmin` (the transaction id Postgres
stores in every row version) is the seal's `xid`. A row edited, inserted or deleted behind the
triggers' back (a superuser with triggers off) has an `xmin` no seal names, or is missing from
the digests; `truce audit verify` recomputes them (server/queries/seals.py). The seals are
allocated under the audit log's advisory lock, so seal order is commit order.

Rows present when this migration runs are sealed as `baseline` seals, one per transaction that
wrote them. The previous versions the JSON log holds (the `before` of its updates and deletes)
are copied into the history tables, sealed by one `baseline` seal per table
(`migration:history`); the log itself stays, so its entries stay verifiable as before. The
JSON audit log (migrations 07, 09, 11b) is kept as it is for now: its readers (change feeds,
/history, asof, alerts) still read it, and `truce audit verify` checks both.

Revision ID: 15a_versioned_history
Revises: 14e_settlement_russian_names
"""

# ruff: noqa: S608 - every SQL text here is built from constants only

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "15a_versioned_history"
down_revision: str | None = "14e_settlement_russian_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("incidents", "agreement_areas", "aid_deliveries", "settlements")
GENESIS = "decode(repeat('00', 32), 'hex')"
LOCK = "hashtext('truce.audit_log')"
# the output settings a row's text (so its hash) depends on, fixed for writers and verify
CANONICAL = ("SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' SET extra_float_digits TO 1 "
             "SET intervalstyle TO 'postgres' SET bytea_output TO 'hex'")

# The previous version of each row ended is looked up by (id, ended_seal) while the same statement
# inserts into that history table: a plan scanning it (its statistics may say "empty") would
# rescan the rows inserted so far for every row, quadratic in the statement's size.
INDEXED = "SET enable_seqscan TO off"


def sums(h: str) -> str:
    """The four lane sums of hashes `h` over a group (an empty group sums to zeros)."""
    return "ARRAY[" + ", ".join(f"coalesce(sum(audit_lane({h}, {i})), 0)"
                                for i in range(4)) + "]::numeric[]"


WRITTEN = f"""
    SELECT count(*), min(v.id), max(v.id), {sums('v.h')}
    FROM (SELECT n.id, sha256(convert_to(n::text, 'UTF8')) AS h FROM new_rows n OFFSET 0) v
"""
# the previous versions into history; $1 seal, $2 action, $3 actor, $4 table name
ENDED = f"""
    WITH moved AS (
      INSERT INTO %1$I AS v
      SELECT o.*, coalesce(p.valid_to, f.at), coalesce(p.ended_by, f.actor), now(), $1, $2, $3
      FROM old_rows o
      LEFT JOIN LATERAL (
        SELECT p.valid_to, p.ended_by FROM %1$I p WHERE p.id = o.id
        ORDER BY p.ended_seal DESC LIMIT 1) p ON true
      LEFT JOIN LATERAL (
        SELECT s.at, s.actor FROM audit_seals s
        WHERE p.valid_to IS NULL AND s.table_name = $4 AND s.action IN ('insert', 'baseline')
          AND s.first_id <= o.id AND s.last_id >= o.id
        ORDER BY s.first_id DESC LIMIT 1) f ON true
      RETURNING v.xmin::text::bigint AS x, v.id, sha256(convert_to('E' || v::text, 'UTF8')) AS h
    )
    SELECT max(m.x), count(*), min(m.id), max(m.id), {sums('m.h')}
    FROM (SELECT * FROM moved OFFSET 0) m
"""


def upgrade() -> None:
    op.execute(f"""
        CREATE SEQUENCE audit_seals_id_seq;
        CREATE TABLE audit_seals (
          id bigint PRIMARY KEY DEFAULT nextval('audit_seals_id_seq'),
          at timestamptz NOT NULL,
          table_name text NOT NULL,
          action text NOT NULL,
          actor text NOT NULL,
          xid bigint NOT NULL,
          written bigint NOT NULL,
          ended bigint NOT NULL,
          first_id bigint,
          last_id bigint,
          written_sum numeric[] NOT NULL,
          ended_sum numeric[] NOT NULL,
          prev_hash bytea NOT NULL,
          hash bytea NOT NULL,
          CONSTRAINT ck_audit_seals_action
            CHECK (action IN ('insert', 'update', 'delete', 'baseline'))
        );
        ALTER SEQUENCE audit_seals_id_seq OWNED BY audit_seals.id;
        CREATE INDEX ix_audit_seals_table_name_xid ON audit_seals (table_name, xid);
        -- the insert that wrote a row's first version (when an update or delete ends it)
        CREATE INDEX ix_audit_seals_table_name_first_id ON audit_seals (table_name, first_id)
          WHERE action IN ('insert', 'baseline');
        CREATE INDEX ix_audit_seals_hash ON audit_seals (hash);
        CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
          ON audit_seals FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

        -- lane i (0-3) of a 32-byte hash as a signed 64-bit integer
        CREATE FUNCTION audit_lane(h bytea, i integer) RETURNS bigint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT ('x' || encode(substr(h, 8 * i + 1, 8), 'hex'))::bit(64)::bigint
        $$;
        -- a seal's hash: the previous seal's hash and this seal's fields, one per line
        CREATE FUNCTION audit_seal_hash(prev bytea, id bigint, at timestamptz, table_name text,
                                        action text, actor text, xid bigint, written bigint,
                                        ended bigint, first_id bigint, last_id bigint,
                                        written_sum numeric[], ended_sum numeric[])
        RETURNS bytea LANGUAGE sql STABLE AS $$
          SELECT sha256(prev || convert_to(concat_ws(E'\\n', id,
                   to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   to_json(table_name)::text, to_json(action)::text, to_json(actor)::text, xid,
                   written, ended, coalesce(first_id::text, 'null'),
                   coalesce(last_id::text, 'null'), written_sum::text, ended_sum::text),
                 'UTF8'))
        $$;
        -- append one seal to the chain (the caller holds the advisory lock)
        CREATE FUNCTION audit_seal_append(seal bigint, tab text, act text, who text, x bigint,
                                          w bigint, e bigint, lo bigint, hi bigint,
                                          wsum numeric[], esum numeric[])
        RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE prev bytea;
        BEGIN
          SELECT s.hash INTO prev FROM audit_seals s ORDER BY s.id DESC LIMIT 1;
          prev := coalesce(prev, {GENESIS});
          INSERT INTO audit_seals (id, at, table_name, action, actor, xid, written, ended,
                                   first_id, last_id, written_sum, ended_sum, prev_hash, hash)
          VALUES (seal, now(), tab, act, who, x, w, e, lo, hi, wsum, esum, prev,
                  audit_seal_hash(prev, seal, now(), tab, act, who, x, w, e, lo, hi, wsum,
                                  esum));
        END $fn$;

        CREATE FUNCTION history_capture() RETURNS trigger LANGUAGE plpgsql {CANONICAL}
        {INDEXED} AS $fn$
        DECLARE
          seal bigint;
          who text := nullif(current_setting('truce.actor', true), '');
          x bigint;
          w bigint := 0;
          e bigint := 0;
          lo bigint;
          hi bigint;
          elo bigint;
          ehi bigint;
          wsum numeric[] := '{{0,0,0,0}}';
          esum numeric[] := '{{0,0,0,0}}';
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
          ELSIF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;
          END IF;
          PERFORM pg_advisory_xact_lock({LOCK});
          seal := nextval('audit_seals_id_seq');
          IF who IS NULL AND TG_OP = 'INSERT' THEN
            SELECT CASE WHEN bool_and(n.etl_run_id IS NOT NULL)
                             AND count(DISTINCT n.etl_run_id) = 1
                        THEN 'etl:run/' || min(n.etl_run_id) END
              INTO who FROM new_rows n;
          ELSIF who IS NULL AND TG_OP = 'UPDATE' THEN
            -- dynamic: a static join of the transition tables keeps the plan made for the
            -- session's first (small) statement, a nested loop, quadratic for a large one
            EXECUTE $q$
              SELECT CASE WHEN bool_and(n.etl_run_id IS NOT NULL
                                        AND n.etl_run_id IS DISTINCT FROM o.etl_run_id)
                               AND count(DISTINCT n.etl_run_id) = 1
                          THEN 'etl:run/' || min(n.etl_run_id) END
              FROM new_rows n JOIN old_rows o ON o.id = n.id$q$ INTO who;
          END IF;
          who := coalesce(who, 'sql:' || session_user);
          IF TG_OP <> 'INSERT' THEN
            EXECUTE format($q${ENDED}$q$, TG_TABLE_NAME || '_history')
              INTO x, e, elo, ehi, esum USING seal, lower(TG_OP), who, TG_TABLE_NAME::text;
          END IF;
          IF TG_OP <> 'DELETE' THEN
            EXECUTE $q${WRITTEN}$q$ INTO w, lo, hi, wsum;
            IF x IS NULL THEN
              EXECUTE format('SELECT xmin::text::bigint FROM %I WHERE id = $1', TG_TABLE_NAME)
                INTO x USING lo;
            END IF;
          ELSE
            lo := elo;
            hi := ehi;
          END IF;
          PERFORM audit_seal_append(seal, TG_TABLE_NAME::text, lower(TG_OP), who, x, w, e, lo,
                                    hi, wsum, esum);
          RETURN NULL;
        END $fn$;
    """)
    for table in VERSIONED:
        op.execute(f"""
            CREATE TABLE {table}_history (LIKE {table});
            ALTER TABLE {table}_history
              ADD COLUMN valid_from timestamptz,
              ADD COLUMN written_by text,
              ADD COLUMN valid_to timestamptz NOT NULL,
              ADD COLUMN ended_seal bigint NOT NULL,
              ADD COLUMN ended_action text NOT NULL,
              ADD COLUMN ended_by text NOT NULL;
            CREATE INDEX ix_{table}_history_id_ended_seal ON {table}_history (id, ended_seal);
            CREATE TRIGGER {table}_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
              ON {table}_history FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
            CREATE TRIGGER {table}_history_ins AFTER INSERT ON {table}
              REFERENCING NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION history_capture();
            CREATE TRIGGER {table}_history_upd AFTER UPDATE ON {table}
              REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION history_capture();
            CREATE TRIGGER {table}_history_del AFTER DELETE ON {table}
              REFERENCING OLD TABLE AS old_rows
              FOR EACH STATEMENT EXECUTE FUNCTION history_capture();
        """)
    # the previous versions the JSON log holds become history versions, sealed by one seal per
    # table; the rows already there get one baseline seal per transaction that wrote them
    for setting in CANONICAL.removeprefix("SET ").split(" SET "):
        op.execute(f"SET LOCAL {setting}")
    op.execute(f"SELECT pg_advisory_xact_lock({LOCK})")
    bind = op.get_bind()
    for table in VERSIONED:
        columns = bind.execute(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"), {"t": table}).scalars()
        content = "ROW(" + ", ".join(f"h.{c}" for c in columns) + ")::text"
        op.execute(f"""
            DO $do$
            DECLARE
              g record;
              seal bigint := nextval('audit_seals_id_seq');
            BEGIN
              INSERT INTO {table}_history
              SELECT r.*, l.prev_at, l.prev_actor, l.at, seal, l.action, l.actor
              FROM (SELECT a.*, lag(a.at) OVER w AS prev_at, lag(a.actor) OVER w AS prev_actor
                    FROM audit_log a WHERE a.table_name = '{table}'
                    WINDOW w AS (PARTITION BY a.row_id ORDER BY a.seq)) l
              CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, l.before) r
              WHERE l.before IS NOT NULL
              ORDER BY l.seq;
              SELECT max(h.x) AS x, count(*) AS n, min(h.id) AS lo, max(h.id) AS hi,
                     {sums('h.c')} AS ws, {sums('h.e')} AS es
                INTO g
                FROM (SELECT h.xmin::text::bigint AS x, h.id,
                             sha256(convert_to({content}, 'UTF8')) AS c,
                             sha256(convert_to('E' || h::text, 'UTF8')) AS e
                      FROM {table}_history h WHERE h.ended_seal = seal OFFSET 0) h;
              IF g.n > 0 THEN
                PERFORM audit_seal_append(seal, '{table}', 'baseline', 'migration:history', g.x,
                                          g.n, g.n, g.lo, g.hi, g.ws, g.es);
              END IF;
              FOR g IN
                SELECT v.x, count(*) AS w, min(v.id) AS lo, max(v.id) AS hi, {sums('v.h')} AS s
                FROM (SELECT t.xmin::text::bigint AS x, t.id,
                             sha256(convert_to(t::text, 'UTF8')) AS h
                      FROM {table} t OFFSET 0) v
                GROUP BY v.x ORDER BY min(v.id)
              LOOP
                PERFORM audit_seal_append(nextval('audit_seals_id_seq'), '{table}', 'baseline',
                                          'migration:baseline', g.x, g.w, 0, g.lo, g.hi, g.s,
                                          '{{0,0,0,0}}');
              END LOOP;
            END $do$;
        """)


def downgrade() -> None:
    for table in VERSIONED:
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_history_{suffix} ON {table}")
        op.execute(f"DROP TABLE IF EXISTS {table}_history")
    op.execute("""
        DROP FUNCTION IF EXISTS history_capture();
        DROP FUNCTION IF EXISTS audit_seal_append(bigint, text, text, text, bigint, bigint,
                                                  bigint, bigint, bigint, numeric[], numeric[]);
        DROP FUNCTION IF EXISTS audit_seal_hash(bytea, bigint, timestamptz, text, text, text,
                                                bigint, bigint, bigint, bigint, bigint,
                                                numeric[], numeric[]);
        DROP FUNCTION IF EXISTS audit_lane(bytea, integer);
        DROP TABLE IF EXISTS audit_seals;
    """)
