"""Load accepted rows into PostGIS: COPY into a temporary table, then one upsert statement.

`INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE row IS DISTINCT FROM excluded`, so a
second load of the same file changes nothing. Identifiers come only from TableSpec constants.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from .spec import TableSpec

_POINT = "ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326)"
_POLYGON = (
    "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Force2D(ST_Transform("
    "ST_SetSRID(ST_GeomFromWKB(decode(s.geom_wkb, 'hex')), s.srid::int), 4326))), 3))"
)
_REFERENCE = (
    "COALESCE((SELECT ST_Multi(a.geom) FROM admin_areas a WHERE a.pcode = s.geom_pcode), "
    "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326)::geography, "
    "s.buffer_m::float8)::geometry))"
)
_GEOMETRY = {"point": _POINT, "polygon": _POLYGON, "reference": _REFERENCE}
_RAW_POLYGON = "ST_SetSRID(ST_GeomFromWKB(decode(s.geom_wkb, 'hex')), s.srid::int)"

# Bulk mode: a load staging at least this many rows gets more memory for its sorts and hashes.
# The table's indexes stay in place: dropping them (a sorted rebuild is faster than a million
# index insertions) would hold an ACCESS EXCLUSIVE lock on a served table until the load commits,
# so every reader of the map would wait for the whole load. CREATE INDEX CONCURRENTLY cannot run
# in the load's transaction, and a load must stay one transaction (all or nothing), so the rows
# go through the live indexes: readers keep reading the committed rows while it runs.
BULK_ROWS = 100_000
BULK_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "512MB"}


#: server-side TCP keepalives of a loader's connection: a loader whose host vanished (no FIN
#: ever comes) is noticed in about a minute and a half, its transaction rolled back
KEEPALIVES = {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10",
              "tcp_keepalives_count": "3"}


def guard_session(conn: Connection, *, run_id: int, statement_timeout_s: float,
                  idle_timeout_s: float, client_check_s: float) -> None:
    """Settings for the load's transaction (SET LOCAL: they end with it) so that nothing it runs
    outlives its client: statements and idle time are bounded, the server checks during long
    statements that the client is still there (client_connection_check_interval), and the
    backend is named `truce etl run N` in pg_stat_activity."""
    values = {"statement_timeout": f"{int(statement_timeout_s * 1000)}",
              "idle_in_transaction_session_timeout": f"{int(idle_timeout_s * 1000)}",
              "client_connection_check_interval": f"{int(client_check_s * 1000)}",
              "application_name": f"truce etl run {run_id}", **KEEPALIVES}
    if int(conn.execute(text("SHOW server_version_num")).scalar_one()) < 140000:
        del values["client_connection_check_interval"]  # PostgreSQL 14 brought it
    for name, value in values.items():
        conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


def _list_columns(spec: TableSpec) -> set[int]:
    fields = spec.staged_fields
    return {fields.index(c.name) for c in spec.columns if c.pgtype == "text[]" and c.name in fields}


class _Pipe:
    """A read-only file object over CSV lines made on demand (COPY streams it; no big buffer)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._rest = ""

    def read(self, size: int = -1) -> str:
        parts = [self._rest]
        have = len(self._rest)
        for line in self._lines:
            parts.append(line)
            have += len(line)
            if 0 <= size <= have:
                break
        out = "".join(parts)
        if 0 <= size < len(out):
            self._rest = out[size:]
            return out[:size]
        self._rest = ""
        return out



class _Line:
    """csv.writer target that hands back the line it was given."""

    line = ""

    def write(self, value: str) -> None:
        self.line = value


def _lines(fields: Sequence[str], rows: Iterable[dict[str, Any]], lists: set[int]
           ) -> Iterator[str]:
    target = _Line()
    writer = csv.writer(target, lineterminator="\n")
    write = writer.writerow
    for row in rows:
        values = [row.get(f) for f in fields]
        for i in lists:
            item = values[i]
            if item is not None:
                values[i] = json.dumps(list(item), ensure_ascii=False)
        write(values)
        yield target.line


def begin_stage(conn: Connection, spec: TableSpec) -> None:
    """Create the run's staging table (text columns, dropped at commit)."""
    stage = f"stage_{spec.table}"
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    conn.execute(text(f"CREATE TEMP TABLE {stage} ({', '.join(f + ' text' for f in spec.staged_fields)})"
                      " ON COMMIT DROP"))


def stage(conn: Connection, spec: TableSpec, rows: Iterable[dict[str, Any]]) -> None:
    """COPY accepted rows into the staging table, streamed (empty string and None are NULL)."""
    fields = spec.staged_fields
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.copy_expert(
        f"COPY stage_{spec.table} ({', '.join(fields)}) FROM STDIN WITH (FORMAT csv)",
        _Pipe(_lines(fields, rows, _list_columns(spec))), size=1 << 18)


def _select_expr(col_type: str, name: str) -> str:
    if col_type == "text[]":
        return f"ARRAY(SELECT json_array_elements_text(s.{name}::json))"
    return f"s.{name}::{col_type}"


def _drop_unchanged(conn: Connection, spec: TableSpec, stage_table: str, selects: list[str],
                    geometry: str, compared: list[str], *, source: str) -> None:
    """Delete the staged rows already stored exactly so, before the upsert: ON CONFLICT locks
    (and so writes) every conflicting row even when its WHERE then skips the update, so a rerun of
    a million unchanged rows would rewrite the table. A separate statement, run only when the
    table holds rows of this source: the table does not grow while it runs, and its plan is kept
    to index look-ups (a nested loop over a sequential scan of a table whose statistics still say
    "empty" would be quadratic)."""
    exprs = dict(zip([c.name for c in spec.columns], selects, strict=True))
    exprs["geom"] = geometry
    mine = "t.source = :source" if "source" in spec.key else "true"
    exists = f"SELECT EXISTS (SELECT 1 FROM {spec.table} t WHERE {mine})"  # noqa: S608
    if not conn.execute(text(exists), {"source": source}).scalar():
        return
    same_key = " AND ".join(f"t.{k} = " + (":source" if k == "source" else exprs[k])
                            for k in spec.key)
    old = ", ".join(f"t.{c}" for c in compared)
    staged = ", ".join(exprs[c] for c in compared)
    conn.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    conn.execute(text(f"""
        DELETE FROM {stage_table} s
        WHERE EXISTS (SELECT 1 FROM {spec.table} t
                      WHERE {same_key} AND ({old}) IS NOT DISTINCT FROM ({staged}))
    """), {"source": source})  # noqa: S608 - identifiers are TableSpec constants
    conn.execute(text("SELECT set_config('enable_seqscan', 'on', true)"))


def repaired_count(conn: Connection, spec: TableSpec) -> int:
    """How many staged polygons are invalid as given (ST_MakeValid repairs them on merge)."""
    if spec.geometry != "polygon":
        return 0
    return int(conn.execute(text(
        f"SELECT count(*) FROM stage_{spec.table} s WHERE NOT ST_IsValid({_RAW_POLYGON})"  # noqa: S608
    )).scalar_one())


def merge(conn: Connection, spec: TableSpec, *, source: str, run_id: int, staged: int
          ) -> tuple[int, int]:
    """Upsert the staged rows; return (inserted, updated). The caller owns the transaction."""
    if not staged:
        return 0, 0
    stage_table = f"stage_{spec.table}"
    if staged >= BULK_ROWS:
        for name, value in BULK_SETTINGS.items():
            conn.execute(text("SELECT set_config(:name, :value, true)"),
                         {"name": name, "value": value})
    targets = [c.name for c in spec.columns]
    selects = [c.expr if c.expr else _select_expr(c.pgtype, c.name) for c in spec.columns]
    geometry = _GEOMETRY[spec.geometry]
    compared = [c for c in [*targets, "geom"] if c not in spec.key]
    insert_cols = ", ".join([*targets, "geom", "source", "etl_run_id"])
    key = ", ".join(spec.key)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared)
    old = ", ".join(f"t.{c}" for c in compared)
    new = ", ".join(f"EXCLUDED.{c}" for c in compared)
    _drop_unchanged(conn, spec, stage_table, selects, geometry, compared, source=source)
    sql = f"""
        WITH written AS (
          INSERT INTO {spec.table} AS t ({insert_cols})
          SELECT {", ".join(selects)}, {geometry}, :source, :run_id FROM {stage_table} s
          ON CONFLICT ({key}) DO UPDATE SET {updates}, source = EXCLUDED.source,
              etl_run_id = EXCLUDED.etl_run_id, updated_at = now()
          WHERE ({old}) IS DISTINCT FROM ({new})
          RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
    """  # noqa: S608 - identifiers are TableSpec constants; values are bound
    inserted, updated = conn.execute(text(sql), {"source": source, "run_id": run_id}).one()
    conn.execute(text(f"DROP TABLE IF EXISTS {stage_table}"))
    return int(inserted), int(updated)


def upsert(conn: Connection, spec: TableSpec, rows: list[dict[str, Any]], *, source: str,
           run_id: int) -> tuple[int, int]:
    """Stage and upsert `rows` in one go; return (inserted, updated)."""
    if not rows:
        return 0, 0
    begin_stage(conn, spec)
    stage(conn, spec, rows)
    return merge(conn, spec, source=source, run_id=run_id, staged=len(rows))


def row_key(source_id: Any, sha256: str | None, line: int) -> str:
    """What makes two quarantined rows the same row: the source id, or else the file's content
    and the line (copy_csv.quarantine computes the same in SQL)."""
    if source_id is not None and str(source_id) != "":
        return f"id:{source_id}"
    return f"line:{sha256 or ''}:{line}"


# the conflict target of the quarantine's unique index (one open entry per row; migration 13i)
ONE_ENTRY = "(layer, source, row_key) WHERE resolved_by_run_id IS NULL AND row_key IS NOT NULL"
# a row quarantined again keeps its one entry (and the run that first quarantined it), which
# records the last run that saw it (so that run does not count it resolved) and what the row
# says now
AGAIN = """DO UPDATE SET last_seen_run_id = EXCLUDED.last_seen_run_id,
               source_path = EXCLUDED.source_path, record_number = EXCLUDED.record_number,
               raw = EXCLUDED.raw, reasons = EXCLUDED.reasons, detail = EXCLUDED.detail"""


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as the text Python writes for them: JSON has no such
    numbers (json.dumps writes them anyway, and PostgreSQL's jsonb refuses the row)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def quarantine(conn: Connection, rows: list[dict[str, Any]], *, run_id: int, layer: str,
               source: str, source_path: str, sha256: str | None = None) -> None:
    """Keep rejected rows with their raw payload, record number and reasons: one entry per row
    (`row_key`), however often it is loaded; the run's own count still counts it."""
    if not rows:
        return
    params: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = row_key(r.get("source_id"), sha256, r["number"])
        params.setdefault(key, {
            "run_id": run_id, "layer": layer, "source": source, "path": source_path,
            "number": r["number"], "source_id": r.get("source_id"), "key": key,
            "raw": json.dumps(_finite(r["raw"]), ensure_ascii=False, default=str),
            "reasons": list(r["reasons"]),
            "detail": json.dumps(_finite(r.get("detail", {})), ensure_ascii=False,
                                 default=str)})
    conn.execute(
        text(f"""
            INSERT INTO quarantine (etl_run_id, layer, source, source_path, record_number,
                                    source_id, raw, reasons, detail, row_key, last_seen_run_id)
            VALUES (:run_id, :layer, :source, :path, :number, :source_id,
                    CAST(:raw AS jsonb), :reasons, CAST(:detail AS jsonb), :key, :run_id)
            ON CONFLICT {ONE_ENTRY} {AGAIN}
        """),  # noqa: S608 - constants
        list(params.values()),
    )


RUN_LOCK = "hashtext('truce.etl_runs')"


def start_run(engine: Engine, *, job: str, layer: str, source: str, source_path: str,
              sha256: str | None, options: dict[str, Any]) -> tuple[int, Connection]:
    """Record a running run; return its id and the connection holding its lock (a session
    advisory lock, taken before the row is visible): while the process lives the lock is held,
    so `reap_runs` can tell a run whose process died. Release it with `end_run_lock`."""
    conn = engine.connect()
    try:
        with conn.begin():
            run_id = int(conn.execute(
                text("""INSERT INTO etl_runs (job, layer, source, source_path, source_sha256,
                                              options)
                        VALUES (:job, :layer, :source, :path, :sha, CAST(:options AS jsonb))
                        RETURNING id"""),
                {"job": job, "layer": layer, "source": source, "path": source_path,
                 "sha": sha256, "options": json.dumps(options, default=str)},
            ).scalar_one())
            conn.execute(text(f"SELECT pg_advisory_lock({RUN_LOCK}, CAST(:id AS int))"),
                         {"id": run_id & 0x7FFFFFFF})
    except BaseException:
        conn.close()
        raise
    return run_id, conn


def end_run_lock(conn: Connection | None) -> None:
    """Release a run's lock (closing its connection releases it too)."""
    if conn is None:
        return
    try:
        conn.execute(text("SELECT pg_advisory_unlock_all()"))
        conn.commit()
    finally:
        conn.close()


def finish_run(engine: Engine, run_id: int, *, status: str, counts: dict[str, int],
               error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE etl_runs SET status = :status, finished_at = now(), error = :error,
                      rows_read = :read, rows_loaded = :loaded, rows_updated = :updated,
                      rows_unchanged = :unchanged, rows_quarantined = :quarantined,
                      rows_repaired = :repaired
                    WHERE id = :id"""),
            {"id": run_id, "status": status, "error": error, **counts},
        )


def resolve_quarantine(conn: Connection, *, layer: str, source: str, run_id: int) -> None:
    """Rows once quarantined that now loaded (same source id) are marked resolved by this run."""
    table = {"incidents", "aid_deliveries", "agreement_areas", "settlements"} & {layer}
    if not table:
        return
    conn.execute(
        text(f"""UPDATE quarantine q SET resolved_at = now(), resolved_by_run_id = :run_id
                 FROM {layer} t
                 WHERE q.layer = :layer AND q.source = :source AND q.resolved_at IS NULL
                   AND q.etl_run_id <> :run_id
                   AND q.last_seen_run_id IS DISTINCT FROM :run_id AND t.source = q.source
                   AND t.source_id = q.source_id"""),  # noqa: S608 - layer from a fixed set
        {"run_id": run_id, "layer": layer, "source": source},
    )


_CONTAINING = ("(SELECT p.pcode FROM admin_area_parts p WHERE p.admin_level = {level} "
               "AND ST_Intersects(p.geom, o.geom) ORDER BY p.pcode LIMIT 1) AS a{level}")


def recompute_admin_pcodes(conn: Connection) -> None:
    """Admin areas were (re)loaded: every incident, aid delivery and settlement takes the P-codes
    (levels 1-3) of the areas now containing it, set-based; rows whose P-codes stay are not
    written."""
    for table in ("incidents", "aid_deliveries", "settlements"):
        found = ", ".join(_CONTAINING.format(level=n) for n in (1, 2, 3))
        conn.execute(text(f"""
            UPDATE {table} t SET admin1_pcode = n.a1, admin2_pcode = n.a2, admin3_pcode = n.a3
            FROM {table} o CROSS JOIN LATERAL (SELECT {found}) n
            WHERE o.id = t.id
              AND (t.admin1_pcode, t.admin2_pcode, t.admin3_pcode)
                  IS DISTINCT FROM (n.a1, n.a2, n.a3)
        """))  # noqa: S608 - table names from a fixed list


def gazetteer_rows(conn: Connection) -> list[dict[str, Any]]:
    """Settlements with their names and the names of the admin areas holding them."""
    rows = conn.execute(text("""
        SELECT s.id, s.name, s.name_ar, s.name_ru, s.alternate_names,
               ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
               s.population, s.source, s.pcode,
               ARRAY(SELECT a.name_en FROM admin_areas a
                     WHERE a.admin_level BETWEEN 1 AND 3 AND ST_Intersects(a.geom, s.geom)) AS admin
        FROM settlements s
    """)).mappings().all()
    return [dict(r) for r in rows]


def admin_pcodes(conn: Connection) -> set[str]:
    return set(conn.execute(text("SELECT pcode FROM admin_areas")).scalars())


def record_raster(conn: Connection, info: dict[str, Any]) -> int:
    """Insert or replace a raster catalog row by name; return its id."""
    return int(conn.execute(text("""
        INSERT INTO rasters (name, kind, path, crs, bounds, width, height, band_count, dtype,
                             resolution_x, resolution_y, nodata, band_stats, source_path,
                             source_sha256)
        VALUES (:name, :kind, :path, :crs,
                ST_Transform(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, :srid), 4326),
                :width, :height, :band_count, :dtype, :resx, :resy, :nodata,
                CAST(:band_stats AS jsonb), :source_path, :sha)
        ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, path = EXCLUDED.path,
            crs = EXCLUDED.crs, bounds = EXCLUDED.bounds, width = EXCLUDED.width,
            height = EXCLUDED.height, band_count = EXCLUDED.band_count, dtype = EXCLUDED.dtype,
            resolution_x = EXCLUDED.resolution_x, resolution_y = EXCLUDED.resolution_y,
            nodata = EXCLUDED.nodata, band_stats = EXCLUDED.band_stats,
            source_path = EXCLUDED.source_path, source_sha256 = EXCLUDED.source_sha256,
            updated_at = now()
        RETURNING id
    """), {**info, "band_stats": json.dumps(info["band_stats"])}).scalar_one())


def loaded_hashes(conn: Connection, *, layer: str, source_layer: str | None = None) -> set[str]:
    """sha256 of every file a completed run loaded into `layer` from its `source_layer` (the
    whole file when None), for `truce etl watch`: a file loaded into another layer, or from
    another of its layers, is not done for this watch."""
    return set(conn.execute(text(
        "SELECT source_sha256 FROM etl_runs WHERE status IN ('completed', 'empty') "
        "AND source_sha256 IS NOT NULL AND layer = :layer "
        "AND options->>'source_layer' IS NOT DISTINCT FROM CAST(:source_layer AS text)"),
        {"layer": layer, "source_layer": source_layer}).scalars())


def quarantine_rows(conn: Connection, *, run_id: int | None = None, layer: str | None = None,
                    unresolved: bool = False, limit: int = 1000) -> list[dict[str, Any]]:
    rows = conn.execute(text("""
        SELECT id, etl_run_id, layer, source, source_path, record_number, source_id, reasons,
               detail, raw, created_at, resolved_at, resolved_by_run_id, review, reviewed_by,
               reviewed_at, review_reason
        FROM quarantine
        WHERE (CAST(:run_id AS bigint) IS NULL OR etl_run_id = :run_id)
          AND (CAST(:layer AS text) IS NULL OR layer = :layer)
          AND (NOT :unresolved OR resolved_at IS NULL)
        ORDER BY id LIMIT :limit
    """), {"run_id": run_id, "layer": layer, "unresolved": unresolved, "limit": limit})
    return [dict(r) for r in rows.mappings()]


def quarantine_row(conn: Connection, quarantine_id: int) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT * FROM quarantine WHERE id = :id"),
                       {"id": quarantine_id}).mappings().first()
    return dict(row) if row else None
