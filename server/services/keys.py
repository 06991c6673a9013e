"""API keys: create (the key is returned once), list, revoke, and authenticate a presented key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from server.errors import InvalidQueryError, NotFoundError, UnauthorizedError
from server.queries import audit as audit_q
from server.queries import keys as q
from server.security import keys
from server.security.principal import Principal, Role

ASSIGNABLE = tuple(r.value for r in Role if r is not Role.PUBLIC)


def create(role: str, *, org: str | None = None, expires_at: datetime | None = None,
           label: str | None = None, actor: str = "cli", session: Session) -> tuple[str, str]:
    """Store a new key's hash; return (id, key). The plain key exists only in the return value."""
    if role not in ASSIGNABLE:
        raise InvalidQueryError(f"unknown role {role!r}; one of {', '.join(ASSIGNABLE)}")
    if role == Role.PARTNER and not org:
        raise InvalidQueryError("a partner key needs --org (the organisation it reads for)")
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    key_id, key = keys.generate()
    audit_q.set_actor(actor, session=session)
    q.insert(key_id, keys.digest(key), role, org, label, expires_at, session=session)
    session.commit()
    return key_id, key


def list_(*, session: Session) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = q.list_(session=session)
    for row in rows:
        row.pop("key_hash", None)
        row["state"] = ("revoked" if row["revoked_at"] else
                        "expired" if row["expires_at"] and row["expires_at"] <= now else "active")
    return rows


def revoke(key_id: str, *, actor: str = "cli", session: Session) -> None:
    audit_q.set_actor(actor, session=session)
    if not q.revoke(key_id, session=session):
        session.rollback()
        raise NotFoundError(f"no key {key_id!r}; see 'truce keys list'")
    session.commit()


def authenticate(raw: str, *, session: Session, now: datetime | None = None) -> Principal:
    """The principal a presented key acts as; UnauthorizedError if unknown, revoked or expired."""
    key_id = keys.key_id(raw)
    return check(raw, q.get(key_id, session=session) if key_id else None, now=now)


def check(raw: str, row: dict[str, Any] | None, *, now: datetime | None = None) -> Principal:
    """The principal `raw` acts as, given its key's row (None: no such key), read already. The
    secret is compared whether or not the row exists (the same work for an unknown id)."""
    if not keys.matches(raw, row["key_hash"] if row is not None else None) or row is None:
        raise UnauthorizedError("unknown API key")
    now = now or datetime.now(UTC)
    if row["revoked_at"] is not None:
        raise UnauthorizedError("this API key was revoked")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise UnauthorizedError("this API key has expired")
    return Principal(Role(row["role"]), key_id=row["id"], org=row["org"])
