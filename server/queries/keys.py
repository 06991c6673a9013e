"""API key rows. Only key hashes are stored. Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_COLUMNS = "id, key_hash, role, org, label, created_at, expires_at, revoked_at"


def insert(key_id: str, key_hash: str, role: str, org: str | None, label: str | None,
           expires_at: datetime | None, *, session: Session) -> None:
    session.execute(
        text("""INSERT INTO api_keys (id, key_hash, role, org, label, expires_at)
                VALUES (:id, :hash, :role, :org, :label, :expires)"""),
        {"id": key_id, "hash": key_hash, "role": role, "org": org, "label": label,
         "expires": expires_at})


def get(key_id: str, *, session: Session) -> dict[str, Any] | None:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM api_keys WHERE id = :id"),  # noqa: S608
                          {"id": key_id}).mappings().one_or_none()
    return dict(row) if row else None


def list_(*, session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id"))  # noqa: S608
    return [dict(r) for r in rows.mappings()]


def revoke(key_id: str, *, session: Session) -> bool:
    """Mark revoked (once); return whether the key exists."""
    found = session.execute(
        text("""UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                WHERE id = :id RETURNING id"""), {"id": key_id}).scalar()
    return found is not None
