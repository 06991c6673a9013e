"""Change feeds read from the audit log, with the caller's release rules applied in SQL.

Each audit entry's before/after row is turned back into a row of the layer's table
(`jsonb_populate_record`), so the same release predicate and column rules as for live rows apply.
A change is `created` when the row becomes visible to the caller, `updated` while it stays
visible, `deleted` (a tombstone) when it stops being visible. The row's CURRENT visibility decides
last: a row the caller may no longer see (retracted, restricted, deleted) gets one tombstone, at
its last change the caller could see, and none of its old content. Identifiers come from the
Collection whitelist and the release module's constants; every value is a bound parameter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.security.release import Release


@dataclass(frozen=True)
class ChangePage:
    count: int
    changes: str  # a JSON array
    last_seq: int | None
    head_seq: int | None


def feature_sql(c: Collection, rel: Release, alias: str, params: dict[str, Any]) -> str:
    """SQL building one GeoJSON Feature (json) from row `alias` under the release rules."""
    props = [f"'{p}', {rel.columns.get(p, f'{alias}.{p}')}" for p in c.properties
             if p not in rel.hidden]
    for i, (name, value) in enumerate(sorted(rel.notes.items())):
        props.append(f"'{name}', CAST(:rel_note_{i} AS text)")
        params[f"rel_note_{i}"] = value
    return (f"json_build_object('type', 'Feature', 'id', {alias}.{c.id_column}, "
            f"'geometry', ST_AsGeoJSON({rel.geometry}, 6)::json, "
            f"'properties', json_build_object({', '.join(props)}))")


def page(c: Collection, release: Callable[[str], Release], *, since: int, limit: int,
         reads_history: bool = False, created_only: bool = False, newest_first: bool = False,
         session: Session) -> ChangePage:
    """Audit entries after `since` as changes seen by the caller whose release rules over a row
    alias `release(alias)` gives: the row after the entry (t), before it (b), as it is now (cur)
    and in the row's later entries (la, lb). `reads_history`: the caller may read every past
    state (analysts, through the history route), so a deleted row's changes stay as they were."""
    rels = {alias: release(alias) for alias in ("t", "b", "cur", "la", "lb")}
    params: dict[str, Any] = {"table": c.table, "since": since, "limit": limit}
    for rel in rels.values():
        params.update(rel.params)
    t, b, cur, la, lb = (rels[a].predicate for a in ("t", "b", "cur", "la", "lb"))
    feature = feature_sql(c, rels["t"], "t", params)
    kinds = "('created')" if created_only else "('created', 'updated', 'deleted')"
    order = "DESC" if newest_first else "ASC"
    table, key = c.table, c.id_column
    now = ("TRUE" if reads_history
           else f"EXISTS (SELECT 1 FROM {table} cur WHERE cur.{key} = s.rid AND {cur})")  # noqa: S608
    sql = f"""
        WITH scanned AS (
          SELECT a.seq, a.at, a.row_id, t, coalesce(t.{key}, b.{key}) AS rid,
                 a.after IS NOT NULL AND coalesce({t}, false) AS va,
                 a.before IS NOT NULL AND coalesce({b}, false) AS vb
          FROM audit_log a
          CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, a.after) t
          CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, a.before) b
          WHERE a.table_name = :table AND a.seq > :since
        ), seen AS (
          SELECT s.*, {now} AS vn
          FROM scanned s WHERE va OR vb
        ), visible AS (
          SELECT seq, at, row_id, t,
                 CASE WHEN NOT vn THEN 'deleted' WHEN va AND NOT vb THEN 'created'
                      WHEN va THEN 'updated' ELSE 'deleted' END AS change
          FROM seen s
          -- not visible now: only the tombstone at its last change the caller could see
          WHERE vn OR NOT EXISTS (
            SELECT 1 FROM audit_log l
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, l.after) la
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, l.before) lb
            WHERE l.table_name = :table AND l.row_id = s.row_id AND l.seq > s.seq
              AND ((l.after IS NOT NULL AND coalesce({la}, false))
                   OR (l.before IS NOT NULL AND coalesce({lb}, false))))
        ), chosen AS (
          SELECT * FROM visible WHERE change IN {kinds} ORDER BY seq {order} LIMIT :limit
        )
        SELECT count(*),
               coalesce(json_agg(json_build_object(
                   'seq', seq, 'change', change, 'at', at, 'id', row_id,
                   'feature', CASE WHEN change = 'deleted' THEN NULL
                                   ELSE (SELECT {feature} FROM (SELECT (x.t).*) t) END)
                 ORDER BY seq {order}), '[]'::json)::text,
               max(seq),
               (SELECT max(seq) FROM audit_log WHERE table_name = :table)
        FROM chosen x
    """  # noqa: S608 - identifiers from the Collection whitelist and release constants
    count, body, last, head = session.execute(text(sql), params).one()
    return ChangePage(int(count), str(body), last, head)
