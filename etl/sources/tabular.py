"""CSV files: encoding (UTF-8, BOM, Latin-1) and delimiter detected; rows streamed."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from etl.records import RawRecord


class SourceError(ValueError):
    """The file cannot be read at all (empty, not a table, unreadable)."""


def _encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(sample) - 4:
            return "latin-1"
    return "utf-8"


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv(path: Path) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row; `number` is the row's line number in the file."""
    with open(path, "rb") as raw:
        sample = raw.read(65536)
    if not sample.strip():
        raise SourceError(f"{path.name} is empty")
    encoding = _encoding(sample)
    with open(path, encoding=encoding, newline="") as handle:
        first = handle.readline()
        delimiter = _delimiter(first)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        if len(header) < 2:
            raise SourceError(f"{path.name}: the header has fewer than two columns; "
                              "is the delimiter one of , ; tab |?")
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            fields = dict(zip(header, row, strict=False))
            if len(row) != len(header):
                fields["__columns__"] = str(len(row))
            yield RawRecord(number=reader.line_num, fields=fields)
