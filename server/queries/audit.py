"""The audit log: naming the actor of a transaction, verifying the hash chain, a row's history.

Entries and their blocks are written by the database triggers (migrations 07 and 09) only;
nothing here writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

GENESIS = bytes(32)


def set_actor(actor: str, *, session: Session) -> None:
    """Name who writes in the current transaction (read by the audit triggers)."""
    session.execute(text("SELECT set_config('truce.actor', :actor, true)"), {"actor": actor})


_ENTRY_HASH = ("sha256(convert_to(audit_entry_text(l.seq, l.at, l.actor, l.action, l.table_name, "
               "l.row_id, l.before, l.after), 'UTF8'))")
_LEGACY_HASH = ("sha256(l.prev_hash || convert_to(audit_payload(l.seq, l.at, l.actor, l.action, "
                "l.table_name, l.row_id, l.before, l.after), 'UTF8'))")


def _problems(session: Session) -> list[dict[str, Any]]:
    """Every broken thing found, as {seq, broken, ...}: edited entries ('content'), blocks whose
    entries no longer add up ('link': an entry deleted or added), edited or removed blocks
    ('link'), entries sealed by no block ('unsealed'). Migration 07's legacy chain is checked the
    07 way (each entry's hash over the previous hash and its payload)."""
    found: list[dict[str, Any]] = []
    legacy_last = session.execute(text(
        "SELECT max(last_seq) FROM audit_blocks WHERE legacy")).scalar()
    # 1. every entry's own hash (legacy entries: the 07 chain, entry by entry)
    found += [dict(r) for r in session.execute(text(f"""
        SELECT seq, 'content' AS broken FROM (
          SELECT l.seq, l.hash,
                 CASE WHEN l.seq <= :legacy THEN {_LEGACY_HASH} ELSE {_ENTRY_HASH} END AS expected,
                 CASE WHEN l.seq <= :legacy
                      THEN coalesce(lag(l.hash) OVER (ORDER BY l.seq), :genesis) END AS link,
                 l.prev_hash
          FROM audit_log l
        ) c
        WHERE expected <> hash OR (link IS NOT NULL AND prev_hash <> link)
        ORDER BY seq LIMIT 1
    """), {"legacy": legacy_last or 0, "genesis": GENESIS}).mappings()]  # noqa: S608
    # 2. every block: its entries recounted and rehashed, its link to the block before it
    bad_blocks = session.execute(text("""
        SELECT b.id, b.first_seq, b.last_seq, b.entries, e.n,
               b.prev_hash <> coalesce(lag(b.hash) OVER (ORDER BY b.id), :genesis) AS bad_link,
               CASE WHEN b.legacy THEN e.n <> b.entries OR e.head IS DISTINCT FROM b.hash
                    ELSE audit_block_hash(b.prev_hash, b.id, b.first_seq, b.last_seq, e.n,
                                          coalesce(e.hashes, ''::bytea)) <> b.hash
                         OR e.n <> b.entries END AS bad_entries
        FROM audit_blocks b
        CROSS JOIN LATERAL (
          SELECT count(*) AS n,
                 CASE WHEN NOT b.legacy
                      THEN string_agg(l.hash, ''::bytea ORDER BY l.seq) END AS hashes,
                 (array_agg(l.hash ORDER BY l.seq DESC))[1] AS head
          FROM audit_log l WHERE l.seq BETWEEN b.first_seq AND b.last_seq
        ) e
    """), {"genesis": GENESIS}).mappings().all()
    sealed = 0
    for b in bad_blocks:
        sealed += int(b["n"])
        if b["bad_entries"] or b["bad_link"]:
            missing = session.execute(text("""
                SELECT min(s) FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) s
                WHERE NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.seq = s)
            """), {"first": b["first_seq"], "last": b["last_seq"]}).scalar()
            # name the first entry after the gap (the one whose predecessor went), else the block
            after = session.execute(text(
                "SELECT min(seq) FROM audit_log WHERE seq > :s"),
                {"s": missing if missing is not None else b["first_seq"] - 1}).scalar()
            found.append({"seq": after if after is not None else b["last_seq"],
                          "broken": "link", "block": b["id"]})
    # 3. entries no block seals (added by hand, or their block deleted)
    if sealed != session.execute(text("SELECT count(*) FROM audit_log")).scalar_one():
        found += [dict(r) for r in session.execute(text("""
            SELECT l.seq, 'unsealed' AS broken FROM audit_log l
            WHERE NOT EXISTS (SELECT 1 FROM audit_blocks b
                              WHERE l.seq BETWEEN b.first_seq AND b.last_seq)
            ORDER BY l.seq LIMIT 1
        """)).mappings()]
    return found


def verify(*, session: Session) -> dict[str, Any]:
    """Recompute every entry's hash, every block's hash and link; return counts, the head (the
    last block's hash) and the first broken entry, if any."""
    row = session.execute(text("""
        SELECT (SELECT count(*) FROM audit_log) AS entries,
               (SELECT max(seq) FROM audit_log) AS head_seq,
               (SELECT encode(hash, 'hex') FROM audit_blocks ORDER BY id DESC LIMIT 1)
                 AS head_hash,
               (SELECT count(*) FROM audit_blocks) AS blocks
    """)).mappings().one()
    result: dict[str, Any] = dict(row)
    problems = _problems(session)
    result["first_bad"] = None
    if problems:
        first = min(problems, key=lambda p: p["seq"])
        detail = session.execute(text("""
            SELECT l.table_name, l.row_id,
                   (SELECT max(p.seq) FROM audit_log p WHERE p.seq < :seq) AS previous_seq
            FROM (SELECT CAST(:seq AS bigint) AS seq) s LEFT JOIN audit_log l ON l.seq = s.seq
        """), {"seq": first["seq"]}).mappings().one()
        result["first_bad"] = {**first, **dict(detail)}
    return result


def has_hash(digest: bytes, *, session: Session) -> bool:
    """Whether a head published earlier (a block's hash, a legacy 07 entry's, or a seal's of the
    versioned history) is still there."""
    return bool(session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM audit_blocks WHERE hash = :h) "
        "OR EXISTS (SELECT 1 FROM audit_log WHERE hash = :h AND prev_hash IS NOT NULL) "
        "OR EXISTS (SELECT 1 FROM audit_seals WHERE hash = :h)"),
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


def last_block(*, session: Session) -> dict[str, Any] | None:
    """The chain's head: the last block's id, its last entry's seq and its hash."""
    row = session.execute(text(
        "SELECT id, last_seq, hash FROM audit_blocks ORDER BY id DESC LIMIT 1")).mappings().first()
    return dict(row) if row else None


def first_head_not_in_chain(heads: list[tuple[int, int, bytes]], *, session: Session
                            ) -> int | None:
    """The index in `heads` ((block id, last entry seq, hash), in order) of the first that the
    chain no longer holds: no block with that id ending at that entry has that hash."""
    if not heads:
        return None
    return session.execute(text("""
        SELECT u.n - 1 FROM unnest(CAST(:blocks AS bigint[]), CAST(:entries AS bigint[]),
                                   CAST(:hashes AS bytea[])) WITH ORDINALITY u(id, last_seq, h, n)
        WHERE NOT EXISTS (SELECT 1 FROM audit_blocks b
                          WHERE b.id = u.id AND b.last_seq = u.last_seq AND b.hash = u.h)
        ORDER BY u.n LIMIT 1
    """), {"blocks": [h[0] for h in heads], "entries": [h[1] for h in heads],
           "hashes": [h[2] for h in heads]}).scalar()
