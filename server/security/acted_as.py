"""Which principal each API key acted as last time: a guess, never trusted.

The hot read paths (an unfiltered GeoJSON page, a feature by id) run their one statement with
the release rules of the principal a key acted as last time and read the key's row in that same
statement; the row is checked (`services.keys.check`) before any of the answer is output, and a
wrong guess (the key changed role or organisation) is read again as it is.

Keys are remembered by their digest, the whole key's sha256, only once it was checked: a wrong
secret for a known id is never found here, so it takes the same path (and the same work) as an
unknown id, and the rate limiter can tell a key whose secret was verified (limited by its id)
from one that was not (limited by client address). One instance per app (`app.state.acted_as`),
bounded: it is emptied when full."""

from __future__ import annotations

from server.security import keys
from server.security.principal import PUBLIC, Principal


class ActedAs:
    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._by_digest: dict[str, Principal] = {}

    def guess(self, raw_key: str | None) -> tuple[str | None, Principal | None]:
        """(key id, the principal it acted as last time) of a presented key; (None, PUBLIC)
        without a key; (id, None) for a key not checked yet, or whose secret is wrong (it is
        checked on its own first)."""
        if not raw_key:
            return None, PUBLIC
        raw = raw_key.strip()
        return keys.key_id(raw), self._by_digest.get(keys.digest(raw))

    def verified_id(self, raw_key: str) -> str | None:
        """The id of a presented key whose secret was verified before, else None."""
        principal = self._by_digest.get(keys.digest(raw_key.strip()))
        return principal.key_id if principal is not None else None

    def remember(self, raw_key: str | None, principal: Principal) -> None:
        """Remember the principal `raw_key` acts as; only after `services.keys.check` passed."""
        if raw_key and principal.key_id is not None:
            if len(self._by_digest) >= self._capacity:
                self._by_digest.clear()
            self._by_digest[keys.digest(raw_key.strip())] = principal
