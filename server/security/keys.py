"""API key format and hashing. A key is `truce_<id>_<secret>`: the id (public, 12 hex digits)
finds the row; only sha256 of the whole key is stored; comparison is constant-time, and a key
whose id is unknown is compared too (with a hash no key has), so a wrong secret for a real id
costs the same as an unknown id."""

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


#: compared with when the key's id is unknown: the same work as a wrong secret for a real id
NO_KEY_DIGEST = "0" * 64


def matches(key: str, stored_digest: str | None) -> bool:
    """Whether `key` is the key stored as `stored_digest`; None (no such id) is compared
    against NO_KEY_DIGEST, which no sha256 of a key equals in practice, and is never a match."""
    same = hmac.compare_digest(digest(key), stored_digest or NO_KEY_DIGEST)
    return same and stored_digest is not None


def presented(x_api_key: str | None, authorization: str | None) -> str | None:
    """The API key a request presents: `X-API-Key` first, then `Authorization: Bearer`."""
    if x_api_key:
        return x_api_key
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
