"""Load accepted rows into PostGIS: COPY into a temporary table, then one upsert statement.

`INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE row IS DISTINCT FROM excluded`, so a
second load of the same file changes nothing. Identifiers come only from TableSpec constants.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from .spec import TableSpec

NULL = "\\N"

_POINT = "ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326)"
_POLYGON = (
    "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Force2D(ST_Transform("
    "ST_SetSRID(ST_GeomFromWKB(decode(s.geom_wkb, 'hex')), s.srid::int), 4326))), 3))"
)


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def _copy(conn: Connection, table: str, fields: Sequence[str], rows: Iterable[dict[str, Any]]
          ) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fields])
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(fields)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def _select_expr(col_type: str, name: str) -> str:
    if col_type == "text[]":
        return f"ARRAY(SELECT json_array_elements_text(s.{name}::json))"
    return f"s.{name}::{col_type}"


def upsert(conn: Connection, spec: TableSpec, rows: list[dict[str, Any]], *, source: str,
           run_id: int) -> tuple[int, int]:
    """Stage and upsert `rows`; return (inserted, updated). The caller owns the transaction."""
    if not rows:
        return 0, 0
    fields = spec.staged_fields
    stage = f"stage_{spec.table}"
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    conn.execute(text(f"CREATE TEMP TABLE {stage} ({', '.join(f + ' text' for f in fields)})"
                      " ON COMMIT DROP"))
    _copy(conn, stage, fields, rows)
    targets = [c.name for c in spec.columns]
    selects = [c.expr if c.expr else _select_expr(c.pgtype, c.name) for c in spec.columns]
    geometry = _POINT if spec.geometry == "point" else _POLYGON
    compared = [c for c in [*targets, "geom"] if c not in spec.key]
    insert_cols = ", ".join([*targets, "geom", "source", "etl_run_id"])
    key = ", ".join(spec.key)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared)
    old = ", ".join(f"t.{c}" for c in compared)
    new = ", ".join(f"EXCLUDED.{c}" for c in compared)
    sql = f"""
        WITH written AS (
          INSERT INTO {spec.table} AS t ({insert_cols})
          SELECT {", ".join(selects)}, {geometry}, :source, :run_id FROM {stage} s
          ON CONFLICT ({key}) DO UPDATE SET {updates}, source = EXCLUDED.source,
              etl_run_id = EXCLUDED.etl_run_id, updated_at = now()
          WHERE ({old}) IS DISTINCT FROM ({new})
          RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
    """  # noqa: S608 - identifiers are TableSpec constants; values are bound
    inserted, updated = conn.execute(text(sql), {"source": source, "run_id": run_id}).one()
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    return int(inserted), int(updated)


def quarantine(conn: Connection, rows: list[dict[str, Any]], *, run_id: int, layer: str,
               source: str, source_path: str) -> None:
    """Keep rejected rows with their raw payload, record number and reasons."""
    if not rows:
        return
    conn.execute(
        text("""
            INSERT INTO quarantine (etl_run_id, layer, source, source_path, record_number,
                                    source_id, raw, reasons, detail)
            VALUES (:run_id, :layer, :source, :path, :number, :source_id,
                    CAST(:raw AS jsonb), :reasons, CAST(:detail AS jsonb))
        """),
        [
            {"run_id": run_id, "layer": layer, "source": source, "path": source_path,
             "number": r["number"], "source_id": r.get("source_id"),
             "raw": json.dumps(r["raw"], ensure_ascii=False, default=str),
             "reasons": list(r["reasons"]),
             "detail": json.dumps(r.get("detail", {}), ensure_ascii=False, default=str)}
            for r in rows
        ],
    )


def start_run(engine: Engine, *, job: str, layer: str, source: str, source_path: str,
              sha256: str | None, options: dict[str, Any]) -> int:
    with engine.begin() as conn:
        return int(conn.execute(
            text("""INSERT INTO etl_runs (job, layer, source, source_path, source_sha256, options)
                    VALUES (:job, :layer, :source, :path, :sha, CAST(:options AS jsonb))
                    RETURNING id"""),
            {"job": job, "layer": layer, "source": source, "path": source_path, "sha": sha256,
             "options": json.dumps(options, default=str)},
        ).scalar_one())


def finish_run(engine: Engine, run_id: int, *, status: str, counts: dict[str, int],
               error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE etl_runs SET status = :status, finished_at = now(), error = :error,
                      rows_read = :read, rows_loaded = :loaded, rows_updated = :updated,
                      rows_unchanged = :unchanged, rows_quarantined = :quarantined
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
                   AND q.etl_run_id <> :run_id AND t.source = q.source
                   AND t.source_id = q.source_id"""),  # noqa: S608 - layer from a fixed set
        {"run_id": run_id, "layer": layer, "source": source},
    )
