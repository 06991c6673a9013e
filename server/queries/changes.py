"""Change feeds read from the audit log, with the caller's release rules applied in SQL.

Each audit entry's before/after row is turned back into a row of the layer's table
(`jsonb_populate_record`), so the same release predicate and column rules as for live rows apply.
A change is `created` when the row becomes visible to the caller, `updated` while it stays
visible, `deleted` (a tombstone) when it stops being visible. Identifiers come from the Collection
whitelist and the release module's constants; every value is a bound parameter."""

from __future__ import annotations

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


def page(c: Collection, after_rel: Release, before_rel: Release, *, since: int, limit: int,
         created_only: bool = False, newest_first: bool = False, session: Session
         ) -> ChangePage:
    params: dict[str, Any] = {"table": c.table, "since": since, "limit": limit,
                              **after_rel.params, **before_rel.params}
    feature = feature_sql(c, after_rel, "t", params)
    kinds = "('created')" if created_only else "('created', 'updated', 'deleted')"
    order = "DESC" if newest_first else "ASC"
    sql = f"""
        WITH scanned AS (
          SELECT a.seq, a.at, a.row_id, t, b,
                 a.after IS NOT NULL AND coalesce({after_rel.predicate}, false) AS va,
                 a.before IS NOT NULL AND coalesce({before_rel.predicate}, false) AS vb
          FROM audit_log a
          CROSS JOIN LATERAL jsonb_populate_record(NULL::{c.table}, a.after) t
          CROSS JOIN LATERAL jsonb_populate_record(NULL::{c.table}, a.before) b
          WHERE a.table_name = :table AND a.seq > :since
        ), visible AS (
          SELECT seq, at, row_id, t,
                 CASE WHEN va AND NOT vb THEN 'created' WHEN va THEN 'updated'
                      ELSE 'deleted' END AS change
          FROM scanned WHERE va OR vb
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
