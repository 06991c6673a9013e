"""How far a load is: rows read, and the fraction of the file when its size tells it. The
runner feeds a Meter from both load paths (each row on the row-wise path, each chunk COPY
reads on the set-based path); the Meter calls the display at most a few times a second."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

#: progress(rows read, fraction of the file done or None, what the load is doing or None)
Progress = Callable[[int, "float | None", "str | None"], None]
EVERY_S = 0.25  # the display is fed at least this often while rows are read
_SAMPLE = 1 << 20
_TEXT = (".csv", ".tsv", ".txt", ".json", ".geojson", ".geojsonl", ".ndjson", ".geojsons",
         ".kml")


class Meter:
    def __init__(self, callback: Progress, path: Path) -> None:
        self.callback = callback
        self.size = path.stat().st_size if path.is_file() else 0
        self.row_bytes: float | None = None  # a row's mean size, from the file's first MB
        if self.size and path.suffix.lower() in _TEXT:
            with open(path, "rb") as handle:
                head = handle.read(_SAMPLE)
            lines = head.count(b"\n")
            self.row_bytes = len(head) / lines if lines else None
        self.rows = 0
        self.last = 0.0

    def row(self, rows: int) -> None:
        """The row-wise path read `rows` rows (called for each: cheap until it is time)."""
        if rows & 255:
            return
        now = time.monotonic()
        if now - self.last < EVERY_S:
            return
        self.last = now
        self.rows = rows
        fraction = None
        if self.row_bytes:
            fraction = min(rows * self.row_bytes / self.size, 0.99)
        self.callback(rows, fraction, None)

    def copied(self, done: int, rows: int) -> None:
        """The set-based path's COPY has sent `done` bytes, `rows` lines."""
        now = time.monotonic()
        if now - self.last < EVERY_S:
            return
        self.last, self.rows = now, rows
        self.callback(rows, min(done / self.size, 1.0) if self.size else None, None)

    def phase(self, rows: int, what: str) -> None:
        self.rows = rows
        self.callback(rows, None, what)

    def done(self, rows: int) -> None:
        self.callback(rows, 1.0, None)
