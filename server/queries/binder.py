"""Bound parameters for hand-built SQL: every value goes through `bind`, never into the text."""

from __future__ import annotations

from typing import Any


class Binder:
    def __init__(self, params: dict[str, Any] | None = None, prefix: str = "p") -> None:
        self.params: dict[str, Any] = params if params is not None else {}
        self.prefix = prefix
        self._n = 0

    def bind(self, value: Any) -> str:
        while f"{self.prefix}{self._n}" in self.params:
            self._n += 1
        name = f"{self.prefix}{self._n}"
        self.params[name] = value
        self._n += 1
        return f":{name}"
