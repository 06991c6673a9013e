"""Which principal each API key acted as last time: a guess, never trusted.

The hot read paths (an unfiltered GeoJSON page, a feature by id) run their one statement with
the release rules of the principal a key acted as last time and read the key's row in that same
statement; the row is checked (`services.keys.check`) before any of the answer is output, and a
wrong guess (the key changed role or organisation) is read again as it is. One instance per app
(`app.state.acted_as`), bounded: it is emptied when full."""

from __future__ import annotations

from server.security import keys
from server.security.principal import PUBLIC, Principal


class ActedAs:
    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._by_key: dict[str, Principal] = {}

    def guess(self, raw_key: str | None) -> tuple[str | None, Principal | None]:
        """(key id, the principal it acted as last time) of a presented key; (None, PUBLIC)
        without a key; (id, None) for a key not seen yet (checked on its own first)."""
        if not raw_key:
            return None, PUBLIC
        key_id = keys.key_id(raw_key.strip())
        return key_id, self._by_key.get(key_id) if key_id else None

    def remember(self, principal: Principal) -> None:
        if principal.key_id is not None:
            if len(self._by_key) >= self._capacity:
                self._by_key.clear()
            self._by_key[principal.key_id] = principal
