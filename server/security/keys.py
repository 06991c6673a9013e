"""API key format and hashing. A key is `truce_<id>_<secret>`: the id (public, 12 hex digits)
finds the row; only sha256 of the whole key is stored; comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "truce"
_KEY = re.compile(r"^truce_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")


def generate() -> tuple[str, str]:
    """A new (id, key). The key is shown once and never stored."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str | None:
    """The id part of a well-formed key, else None."""
    match = _KEY.match(key)
    return match.group(1) if match else None


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)
