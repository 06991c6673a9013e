"""The audit log: naming the actor of a transaction, verifying the hash chain, a row's history.

Entries are written by the database triggers of migration 07 only; nothing here writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

GENESIS = bytes(32)


def set_actor(actor: str, *, session: Session) -> None:
    """Name who writes in the current transaction (read by the audit triggers)."""
    session.execute(text("SELECT set_config('truce.actor', :actor, true)"), {"actor": actor})


def verify(*, session: Session) -> dict[str, Any]:
    """Recompute every entry's hash and link; return counts, the head and the first bad entry."""
    row = session.execute(text("""
        WITH checked AS (
          SELECT seq, hash, prev_hash,
                 sha256(prev_hash || convert_to(audit_payload(seq, at, actor, action, table_name,
                                                              row_id, before, after), 'UTF8'))
                   AS expected,
                 coalesce(lag(hash) OVER (ORDER BY seq), :genesis) AS link
          FROM audit_log
        )
        SELECT (SELECT count(*) FROM checked) AS entries,
               (SELECT max(seq) FROM checked) AS head_seq,
               (SELECT encode(hash, 'hex') FROM checked ORDER BY seq DESC LIMIT 1) AS head_hash,
               (SELECT seq FROM checked WHERE expected <> hash OR prev_hash <> link
                ORDER BY seq LIMIT 1) AS first_bad
    """), {"genesis": GENESIS}).mappings().one()
    result = dict(row)
    if result["first_bad"] is not None:
        bad = session.execute(text("""
            WITH checked AS (
              SELECT seq, hash, prev_hash, table_name, row_id,
                     sha256(prev_hash || convert_to(audit_payload(seq, at, actor, action,
                            table_name, row_id, before, after), 'UTF8')) AS expected,
                     coalesce(lag(hash) OVER (ORDER BY seq), :genesis) AS link,
                     lag(seq) OVER (ORDER BY seq) AS previous_seq
              FROM audit_log
            )
            SELECT seq, table_name, row_id, previous_seq,
                   CASE WHEN expected <> hash THEN 'content' ELSE 'link' END AS broken
            FROM checked WHERE seq = :seq
        """), {"genesis": GENESIS, "seq": result["first_bad"]}).mappings().one()
        result["first_bad"] = dict(bad)
    return result


def has_hash(digest: bytes, *, session: Session) -> bool:
    return bool(session.execute(text("SELECT EXISTS (SELECT 1 FROM audit_log WHERE hash = :h)"),
                                {"h": digest}).scalar())


def history(table: str, row_id: str, asof: datetime | None, *, session: Session
            ) -> list[dict[str, Any]]:
    """Every entry for one row (oldest first), up to `asof` when given."""
    rows = session.execute(text("""
        SELECT seq, at, actor, action,
               CASE WHEN before ? 'geom' THEN jsonb_set(before, '{geom}',
                    ST_AsGeoJSON((before->>'geom')::geometry, 6)::jsonb) ELSE before END AS before,
               CASE WHEN after ? 'geom' THEN jsonb_set(after, '{geom}',
                    ST_AsGeoJSON((after->>'geom')::geometry, 6)::jsonb) ELSE after END AS after
        FROM audit_log
        WHERE table_name = :table AND row_id = :row_id
          AND (CAST(:asof AS timestamptz) IS NULL OR at <= CAST(:asof AS timestamptz))
        ORDER BY seq
    """), {"table": table, "row_id": row_id, "asof": asof})
    return [dict(r) for r in rows.mappings()]
