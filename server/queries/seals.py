"""Verifying the versioned history against the chain of seals (migration 15a, docs/audit-model.md).

Every seal is recomputed from the live rows and the history tables: its own hash and link to the
seal before it; the history versions it ended (count and digest, exactly); for each table, the
versions all seals wrote against the live rows plus the history (count and digest). A row
written behind the triggers' back has an `xmin` (its writing transaction) that no seal of its
table names, so it is named exactly; a row deleted behind their back is named by its id, found
missing from the id ranges its table's seals cover. Nothing here writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

GENESIS = bytes(32)
VERSIONED = ("incidents", "agreement_areas", "aid_deliveries", "settlements")
# the output settings row text (so every content hash) is computed under, as the trigger's
CANONICAL = {"timezone": "UTC", "datestyle": "ISO, YMD", "extra_float_digits": "1",
             "intervalstyle": "postgres", "bytea_output": "hex"}
NAMED = 20  # rows named per kind of problem, at most


def _sums(h: str) -> str:
    return "ARRAY[" + ", ".join(f"coalesce(sum(audit_lane({h}, {i})), 0)"
                                for i in range(4)) + "]::numeric[]"


def _columns(table: str, session: Session) -> list[str]:
    return [str(c) for c in session.execute(text("""
        SELECT attname FROM pg_attribute
        WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped
        ORDER BY attnum"""), {"t": table}).scalars()]


def _seal_problems(session: Session) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    rows = session.execute(text("""
        SELECT id, table_name,
               hash <> audit_seal_hash(prev_hash, id, at, table_name, action, actor, xid,
                                       written, ended, first_id, last_id, written_sum,
                                       ended_sum) AS bad_hash,
               prev_hash <> coalesce(lag(hash) OVER (ORDER BY id), :genesis) AS bad_link,
               lag(id) OVER (ORDER BY id) AS previous
        FROM audit_seals ORDER BY id
    """), {"genesis": GENESIS}).mappings().all()
    edited = {r["id"] for r in rows if r["bad_hash"]}
    for r in rows:
        if r["bad_hash"]:
            found.append({"broken": "seal", "seal": r["id"], "table_name": r["table_name"]})
        elif r["bad_link"] and r["previous"] not in edited:
            found.append({"broken": "seal_removed", "seal": r["id"],
                          "after_seal": r["previous"], "table_name": r["table_name"]})
    return found


def _table_problems(table: str, session: Session) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    hist = f"{table}_history"
    content = "ROW(" + ", ".join(f"h.{c}" for c in _columns(table, session)) + ")::text"
    params = {"t": table, "n": NAMED}
    # rows written behind the triggers: their transaction sealed nothing in this table
    found += [{"broken": "live_row", "table_name": table, "row_id": str(i)}
              for i in session.execute(text(f"""
        SELECT t.id FROM {table} t
        WHERE NOT EXISTS (SELECT 1 FROM audit_seals s
                          WHERE s.table_name = :t AND s.xid = t.xmin::text::bigint)
        ORDER BY t.id LIMIT :n"""), params).scalars()]  # noqa: S608 - whitelisted table
    found += [{"broken": "history_row", "table_name": table, "row_id": str(r[0]),
               "seal": r[1]} for r in session.execute(text(f"""
        SELECT h.id, h.ended_seal FROM {hist} h
        LEFT JOIN audit_seals s ON s.id = h.ended_seal AND s.table_name = :t
        WHERE s.id IS NULL OR s.xid <> h.xmin::text::bigint
        ORDER BY h.ended_seal, h.id LIMIT :n"""), params)]  # noqa: S608 - whitelisted table
    # the versions each seal ended, recounted and rehashed from the history rows
    for r in session.execute(text(f"""
        SELECT s.id, s.ended, coalesce(e.n, 0) AS n, s.first_id, s.last_id
        FROM audit_seals s
        LEFT JOIN (SELECT h.ended_seal, count(*) AS n,
                          {_sums("sha256(convert_to('E' || h.h::text, 'UTF8'))")} AS sums
                   FROM (SELECT ended_seal, h FROM {hist} h) h GROUP BY h.ended_seal) e
          ON e.ended_seal = s.id
        WHERE s.table_name = :t
          AND (s.ended <> coalesce(e.n, 0)
               OR s.ended_sum <> coalesce(e.sums, '{{0,0,0,0}}'::numeric[]))
        ORDER BY s.id LIMIT :n"""), params).mappings():  # noqa: S608 - whitelisted table
        if r["n"] < r["ended"]:
            found.append({"broken": "history_removed", "table_name": table, "seal": r["id"],
                          "row_id": _ended_missing(table, r["id"], session)})
        elif not any(p["broken"] == "history_row" and p.get("seal") == r["id"] for p in found):
            found.append({"broken": "history_digest", "table_name": table, "seal": r["id"]})
    # the versions all seals wrote: the live rows and every history version
    sealed = session.execute(text("""
        SELECT coalesce(sum(written), 0) AS n,
               ARRAY[coalesce(sum(written_sum[1]), 0), coalesce(sum(written_sum[2]), 0),
                     coalesce(sum(written_sum[3]), 0), coalesce(sum(written_sum[4]), 0)
               ]::numeric[] AS sums
        FROM audit_seals WHERE table_name = :t"""), params).mappings().one()
    held = session.execute(text(f"""
        SELECT count(*) AS n, {_sums("v.h")} AS sums FROM (
          SELECT sha256(convert_to(t::text, 'UTF8')) AS h FROM {table} t
          UNION ALL
          SELECT sha256(convert_to({content}, 'UTF8')) FROM {hist} h
        ) v"""), params).mappings().one()  # noqa: S608 - whitelisted table and its columns
    if held["n"] < sealed["n"]:
        missing = [str(i) for i in session.execute(text(f"""
            SELECT DISTINCT g.id FROM audit_seals s
            CROSS JOIN LATERAL generate_series(s.first_id, s.last_id) g(id)
            WHERE s.table_name = :t AND s.action IN ('insert', 'baseline')
              AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = g.id)
              AND NOT EXISTS (SELECT 1 FROM {hist} h WHERE h.id = g.id)
            ORDER BY g.id LIMIT :n"""), params).scalars()]  # noqa: S608 - whitelisted table
        found += [{"broken": "live_row_removed", "table_name": table, "row_id": i}
                  for i in missing] or [{"broken": "live_row_removed", "table_name": table,
                                         "row_id": None}]
    elif list(held["sums"]) != list(sealed["sums"]) and not found:
        found.append({"broken": "digest", "table_name": table})
    return found


def _ended_missing(table: str, seal: int, session: Session) -> str | None:
    """The id of a history version seal `seal` ended that is gone: a row it wrote (same id) whose
    previous version is missing, else one in its id range no longer anywhere."""
    row = session.execute(text(f"""
        SELECT g.id FROM audit_seals s
        CROSS JOIN LATERAL generate_series(s.first_id, s.last_id) g(id)
        WHERE s.id = :seal
          AND NOT EXISTS (SELECT 1 FROM {table}_history h
                          WHERE h.id = g.id AND h.ended_seal = s.id)
          AND (s.action = 'delete' AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = g.id)
               OR s.action = 'update' AND EXISTS (SELECT 1 FROM {table} t
                                                  WHERE t.id = g.id
                                                    AND t.xmin::text::bigint = s.xid))
        ORDER BY g.id LIMIT 1"""), {"seal": seal}).scalar()  # noqa: S608 - whitelisted table
    return None if row is None else str(row)


def verify(*, session: Session) -> dict[str, Any]:
    """Recompute every seal from the live rows and the history; return the head and problems."""
    for name, value in CANONICAL.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    head = session.execute(text(
        "SELECT id, encode(hash, 'hex') AS hash, (SELECT count(*) FROM audit_seals) AS seals "
        "FROM audit_seals ORDER BY id DESC LIMIT 1")).mappings().first()
    problems = _seal_problems(session)
    for table in VERSIONED:
        problems += _table_problems(table, session)
    return {"seals": head["seals"] if head else 0, "seal_head_id": head["id"] if head else None,
            "seal_head": head["hash"] if head else None, "problems": problems}
