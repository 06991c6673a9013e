"""A hostile case: the files it writes and what a load of it must respect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CANARY_TEXT = "CANARY_hostile_7c1d2b_must_never_load"


@dataclass(frozen=True)
class Env:
    canary: Path  # a local CSV holding CANARY_TEXT
    listener: str  # http://127.0.0.1:PORT


@dataclass(frozen=True)
class ValueCheck:
    """A value the file writes: stored exactly as written (surrounding blanks aside), or its
    row is quarantined. kind: text, number or time."""

    source_id: str
    column: str
    written: str
    kind: str = "text"


@dataclass(frozen=True)
class Case:
    id: str
    cls: str
    layer: str
    name: str  # the file to load, among `files`
    files: Callable[[], dict[str, bytes]]
    fmt: str = "auto"
    mapping: dict[str, str] | None = None
    row_wise: bool = False
    cli: bool = False  # through `python -m cli.main etl load --json` rather than in-process
    values: tuple[ValueCheck, ...] = ()
    records: int | None = None  # records in the file: a completed run reads all of them
    must_load: frozenset[str] = field(default_factory=frozenset)
    must_quarantine: frozenset[str] = field(default_factory=frozenset)
    max_seconds: float | None = None

    def write(self, folder: Path, env: Env) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files().items():
            data = (data.replace(b"@CANARY@", str(env.canary).encode())
                    .replace(b"@LISTENER@", env.listener.encode()))
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder / self.name


def one(data: Callable[[], bytes], name: str) -> Callable[[], dict[str, bytes]]:
    return lambda: {name: data()}
