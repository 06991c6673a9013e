"""Published heads of the audit chain: a signed head log that can be copied off the machine.

A superuser can edit an entry and recompute every hash after it: the chain then verifies again.
What catches that is a head published earlier that the chain no longer holds. `publish` signs
the chain's current head (its last block: id, last entry's seq, hash) as one JSON line:

    {"at": "2026-12-07T03:00:00+00:00", "block": 812, "entry": 61734,
     "head": "<sha256 hex>", "sig": "<HMAC-SHA256 hex>"}

signed with TRUCE_SECURITY_AUDIT_HEAD_KEY over the line's other fields. `check` verifies every
line of such a log: its signature (an edited or forged line fails) and that the chain still has
that hash at that block and entry (a rewritten or truncated chain fails)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.errors import NotFoundError
from server.queries import audit as q

FIELDS = ("at", "block", "entry", "head")
_DOMAIN = b"truce-audit-head-v1\n"  # a head signature is never valid as any other HMAC


def signature(record: dict[str, Any], key: str) -> str:
    """HMAC-SHA256 (hex) over the record's fields, as canonical JSON."""
    body = json.dumps({f: record[f] for f in FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), _DOMAIN + body.encode(), hashlib.sha256).hexdigest()


def current(*, session: Session) -> dict[str, Any]:
    """The chain's head now: {block, entry, head}."""
    row = q.last_block(session=session)
    if row is None:
        raise NotFoundError("the audit log is empty: there is no head to publish yet")
    return {"block": int(row["id"]), "entry": int(row["last_seq"]), "head": row["hash"].hex()}


def publish(key: str, at: datetime, *, session: Session) -> str:
    """One signed line (JSON, no newline) for the head of the chain now."""
    record = {"at": at.isoformat(), **current(session=session)}
    return json.dumps({**record, "sig": signature(record, key)})


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
        ok = (isinstance(record, dict) and all(f in record for f in (*FIELDS, "sig"))
              and isinstance(record["at"], str) and isinstance(record["sig"], str)
              and all(type(record[f]) is int for f in ("block", "entry"))
              and isinstance(record["head"], str) and len(bytes.fromhex(record["head"])) == 32)
    except ValueError:
        return None
    return record if ok else None


def check(lines: Iterable[str], key: str, *, session: Session) -> dict[str, Any]:
    """Every published head checked: {"checked": n, "first_bad": None | {line, reason, ...}}
    with reason "malformed", "signature" (the line was edited, or signed with another key) or
    "not_in_chain" (the chain was rewritten at or before that head, or cut off after it). A bad
    line is reported before the chain is consulted; blank lines are skipped."""
    heads: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _parse(line)
        if record is None:
            return {"checked": len(heads), "first_bad": {"line": number, "reason": "malformed"}}
        if not hmac.compare_digest(record["sig"], signature(record, key)):
            return {"checked": len(heads), "first_bad": {"line": number, "reason": "signature",
                                                         **{f: record[f] for f in FIELDS}}}
        heads.append((number, record))
    bad = q.first_head_not_in_chain(
        [(r["block"], r["entry"], bytes.fromhex(r["head"])) for _, r in heads], session=session)
    if bad is None:
        return {"checked": len(heads), "first_bad": None}
    number, record = heads[bad]
    return {"checked": len(heads), "first_bad": {"line": number, "reason": "not_in_chain",
                                                 **{f: record[f] for f in FIELDS}}}
