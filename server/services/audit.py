"""Audit log reading: chain verification and per-feature history ("as of" a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.errors import NotFoundError
from server.queries import audit as q
from server.queries import seals
from server.services.changes import feed_collection


def verify(*, session: Session) -> dict[str, Any]:
    """The JSON log's entries and blocks, and the versioned history against its seals."""
    result = q.verify(session=session)
    result["history"] = seals.verify(session=session)
    result["ok"] = result["first_bad"] is None and not result["history"]["problems"]
    return result


def contains_hash(head_hex: str, *, session: Session) -> bool:
    """Whether an entry with this hash (a head published earlier) is still in the log."""
    try:
        digest = bytes.fromhex(head_hex)
    except ValueError:
        return False
    return q.has_hash(digest, session=session)


def history(collection_id: str, feature_id: str, asof: datetime | None, *, session: Session
            ) -> dict[str, Any]:
    """Every recorded change of one feature, oldest first; with `asof`, only changes up to then,
    and `state` is the feature as it stood at that time (None if it did not exist then)."""
    c = feed_collection(collection_id)
    if not feature_id.isdecimal():
        raise NotFoundError(f"no feature {feature_id!r} in {c.id}: ids are integers")
    entries = q.history(c.table, feature_id, asof, session=session)
    if not entries and asof is None:
        raise NotFoundError(f"no history for feature {feature_id} in {c.id}")
    state = entries[-1]["after"] if entries else None
    return {"collection": c.id, "id": int(feature_id),
            "asof": asof.isoformat() if asof else None, "state": state,
            "changes": [{**e, "at": e["at"].isoformat()} for e in entries]}
