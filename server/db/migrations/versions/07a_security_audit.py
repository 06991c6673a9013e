"""API keys, violation reports, verification steps and the tamper-evident audit log.

The audit log is hash-chained: hash = sha256(prev_hash || audit_payload(row)), where
audit_payload() is the canonical JSON text of the entry. Statement-level triggers with transition
tables append one entry per changed row in ONE set-based INSERT per statement (the chain is a
running aggregate, `audit_chain`, over the new entries, seeded with the current head), so a bulk
ETL load pays one statement, not one trigger call per row. A transaction-scoped advisory lock
serialises appenders, so sequence order is commit order (the change-feed cursor relies on it).
The actor is `current_setting('truce.actor')` (set by the API per transaction), else
`etl:run/<id>` for rows written by an ETL run, else `sql:<session user>`.

Revision ID: 07_security_audit
Revises: 05_area_incident_links
"""

from collections.abc import Sequence

from alembic import op

revision: str = "07_security_audit"
down_revision: str | None = "05_area_incident_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> columns never copied into the audit log
AUDITED = {
    "incidents": (),
    "agreement_areas": (),
    "aid_deliveries": (),
    "reports": (),
    "api_keys": ("key_hash",),
}
GENESIS = "decode(repeat('00', 32), 'hex')"
LOCK = "hashtext('truce.audit_log')"


def _append(changes: str) -> str:
    """Dynamic SQL appending the rows of `changes` (row_id, before, after, actor) to the chain.

    $1 is the current head hash, $2 the action, $3 the table; __COLS__ is the select list that
    turns a row into JSON (geometry as hex EWKB: to_jsonb's geometry cast is much slower)."""
    return f"""
      INSERT INTO audit_log (seq, at, actor, action, table_name, row_id, before, after,
                             prev_hash, hash)
      SELECT seq, at, actor, action, table_name, row_id, before, after,
             coalesce(lag(hash) OVER (ORDER BY seq), $1), hash
      FROM (
        SELECT n.*, audit_chain(audit_payload(n.seq, n.at, n.actor, n.action, n.table_name,
                                              n.row_id, n.before, n.after), $1)
                      OVER (ORDER BY n.seq) AS hash
        FROM (
          SELECT nextval('audit_log_seq_seq') AS seq, now() AS at, c.actor,
                 $2 AS action, $3 AS table_name, c.row_id, c.before, c.after
          FROM ({changes}) c
        ) n
      ) h
    """  # noqa: S608 - constant SQL fragments


def upgrade() -> None:
    op.execute("""
        CREATE TABLE api_keys (
          id text PRIMARY KEY,
          key_hash text NOT NULL,
          role text NOT NULL,
          org text,
          label text,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz,
          revoked_at timestamptz,
          CONSTRAINT ck_api_keys_role
            CHECK (role IN ('admin', 'analyst', 'planner', 'partner', 'reporter')),
          CONSTRAINT ck_api_keys_partner_org CHECK (role <> 'partner' OR org IS NOT NULL)
        );
        CREATE TABLE reports (
          id bigserial PRIMARY KEY,
          incident_id bigint REFERENCES incidents (id) ON DELETE SET NULL,
          key_id text REFERENCES api_keys (id) ON DELETE SET NULL,
          org text,
          occurred_at timestamptz NOT NULL,
          event_type text NOT NULL,
          description text NOT NULL,
          reporting_party text,
          contact text,
          location_name text,
          settlement_id integer REFERENCES settlements (id) ON DELETE SET NULL,
          attachments text[] NOT NULL DEFAULT '{}',
          geom geometry(POINT, 4326) NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_reports_incident_id ON reports (incident_id);
        CREATE INDEX ix_reports_key_id ON reports (key_id);
        CREATE INDEX ix_reports_org ON reports (org);
        CREATE TABLE verification_steps (
          id bigserial PRIMARY KEY,
          incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
          from_status text NOT NULL,
          to_status text NOT NULL,
          duplicate_of bigint REFERENCES incidents (id) ON DELETE SET NULL,
          actor text NOT NULL,
          reason text NOT NULL,
          at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_verification_steps_incident_id ON verification_steps (incident_id);

        CREATE TABLE audit_log (
          seq bigserial PRIMARY KEY,
          at timestamptz NOT NULL DEFAULT now(),
          actor text NOT NULL,
          action text NOT NULL,
          table_name text NOT NULL,
          row_id text NOT NULL,
          before jsonb,
          after jsonb,
          prev_hash bytea NOT NULL,
          hash bytea NOT NULL
        );
        CREATE INDEX ix_audit_log_table_name_row_id_seq ON audit_log (table_name, row_id, seq);
        CREATE INDEX ix_audit_log_table_name_seq ON audit_log (table_name, seq);

        -- the canonical text hashed for one entry (also used by `truce audit verify`)
        CREATE FUNCTION audit_payload(seq bigint, at timestamptz, actor text, action text,
                                      table_name text, row_id text, before jsonb, after jsonb)
        RETURNS text LANGUAGE sql STABLE AS $$
          SELECT jsonb_build_object(
            'seq', seq,
            'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'actor', actor, 'action', action, 'table', table_name, 'row_id', row_id,
            'before', before, 'after', after)::text
        $$;
        CREATE FUNCTION audit_chain_step(state bytea, payload text, seed bytea)
        RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
          SELECT sha256(coalesce(state, seed) || convert_to(payload, 'UTF8'))
        $$;
        CREATE AGGREGATE audit_chain(text, bytea) (SFUNC = audit_chain_step, STYPE = bytea);

        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
          FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """)
    who = "nullif(current_setting('truce.actor', true), '')"
    sql_user = "'sql:' || session_user"
    insert_changes = f"""
        SELECT j->>'id' AS row_id, NULL::jsonb AS before, j AS after,
               coalesce({who}, CASE WHEN j->>'etl_run_id' IS NOT NULL
                                    THEN 'etl:run/' || (j->>'etl_run_id') ELSE {sql_user} END)
                 AS actor
        FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) x
        ORDER BY j->>'id'
    """  # noqa: S608 - constant SQL fragments
    update_changes = f"""
        SELECT n->>'id' AS row_id, o AS before, n AS after,
               coalesce({who}, CASE WHEN n->>'etl_run_id' IS NOT NULL
                                     AND n->>'etl_run_id' IS DISTINCT FROM o->>'etl_run_id'
                                    THEN 'etl:run/' || (n->>'etl_run_id') ELSE {sql_user} END)
                 AS actor
        FROM (SELECT to_jsonb(s) AS o FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) a
        JOIN (SELECT to_jsonb(s) AS n FROM (SELECT __COLS__ FROM new_rows r) s OFFSET 0) b ON a.o->'id' = b.n->'id'
        WHERE (o - 'updated_at') IS DISTINCT FROM (n - 'updated_at')
        ORDER BY n->>'id'
    """  # noqa: S608 - constant SQL fragments
    delete_changes = f"""
        SELECT j->>'id' AS row_id, j AS before, NULL::jsonb AS after,
               coalesce({who}, {sql_user}) AS actor
        FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM old_rows r) s OFFSET 0) x
        ORDER BY j->>'id'
    """  # noqa: S608 - constant SQL fragments
    op.execute(f"""
        -- the select list turning a row `r` of `rel` into audit JSON (hidden columns left out)
        CREATE FUNCTION audit_columns(rel oid, hidden text[]) RETURNS text
        LANGUAGE sql STABLE AS $$
          SELECT string_agg(CASE WHEN t.typname = 'geometry'
                                 THEN format('encode(ST_AsEWKB(r.%1$I), ''hex'') AS %1$I',
                                             a.attname)
                                 ELSE format('r.%I', a.attname) END, ', ' ORDER BY a.attnum)
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
            AND NOT (a.attname = ANY (hidden))
        $$;
        CREATE FUNCTION audit_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
          head bytea;
          stmt text;
          hidden text[] := coalesce(TG_ARGV, '{{}}'::text[]);
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
            stmt := $q${_append(delete_changes)}$q$;
          ELSE
            IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
            IF TG_OP = 'INSERT' THEN
              stmt := $q${_append(insert_changes)}$q$;
            ELSE
              stmt := $q${_append(update_changes)}$q$;
            END IF;
          END IF;
          PERFORM pg_advisory_xact_lock({LOCK});
          SELECT l.hash INTO head FROM audit_log l ORDER BY l.seq DESC LIMIT 1;
          EXECUTE replace(stmt, '__COLS__', audit_columns(TG_RELID, hidden))
            USING coalesce(head, {GENESIS}), lower(TG_OP), TG_TABLE_NAME::text;
          RETURN NULL;
        END $fn$;
    """)  # noqa: S608 - constant SQL fragments
    for table, hidden in AUDITED.items():
        args = ", ".join(f"'{c}'" for c in hidden)
        op.execute(f"""
            CREATE TRIGGER {table}_audit_ins AFTER INSERT ON {table}
              REFERENCING NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION audit_capture({args});
            CREATE TRIGGER {table}_audit_upd AFTER UPDATE ON {table}
              REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
              FOR EACH STATEMENT EXECUTE FUNCTION audit_capture({args});
            CREATE TRIGGER {table}_audit_del AFTER DELETE ON {table}
              REFERENCING OLD TABLE AS old_rows
              FOR EACH STATEMENT EXECUTE FUNCTION audit_capture({args});
        """)
    # rows already present get one baseline 'insert' entry each, so history starts complete
    baseline = _append("""
        SELECT j->>'id' AS row_id, NULL::jsonb AS before, j AS after,
               'migration:baseline' AS actor
        FROM (SELECT to_jsonb(s) AS j FROM (SELECT __COLS__ FROM __TABLE__ r) s OFFSET 0) x
    """)
    for table, hidden in AUDITED.items():
        array = "ARRAY[" + ", ".join(f"'{c}'" for c in hidden) + "]::text[]"
        op.execute(f"""
            DO $do$
            DECLARE head bytea;
            BEGIN
              SELECT l.hash INTO head FROM audit_log l ORDER BY l.seq DESC LIMIT 1;
              EXECUTE replace(replace($q${baseline}$q$, '__COLS__',
                                      audit_columns('{table}'::regclass, {array})),
                              '__TABLE__', '{table}')
                USING coalesce(head, {GENESIS}), 'insert', '{table}';
            END $do$;
        """)  # noqa: S608 - constant table names


def downgrade() -> None:
    for table in AUDITED:
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_{suffix} ON {table}")
    op.execute("""
        DROP FUNCTION IF EXISTS audit_capture();
        DROP FUNCTION IF EXISTS audit_columns(oid, text[]);
        DROP TABLE IF EXISTS audit_log;
        DROP FUNCTION IF EXISTS audit_log_append_only();
        DROP AGGREGATE IF EXISTS audit_chain(text, bytea);
        DROP FUNCTION IF EXISTS audit_chain_step(bytea, text, bytea);
        DROP FUNCTION IF EXISTS audit_payload(bigint, timestamptz, text, text, text, text,
                                              jsonb, jsonb);
        DROP TABLE IF EXISTS verification_steps;
        DROP TABLE IF EXISTS reports;
        DROP TABLE IF EXISTS api_keys;
    """)
