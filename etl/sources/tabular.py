"""CSV files: encoding (etl.sources.encoding) and delimiter detected; rows streamed."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from etl.records import RawRecord
from etl.sources.encoding import Detected, EncodingError, detect, text_lines

# the field read_csv adds to a row with a line its encoding cannot decode (or with a NUL): the
# runner quarantines the row as `encoding_error` (the value is the encoding)
ENCODING_FIELD = "__encoding__"
# the field read_csv adds to the file's last record when no line end follows it: "open_quote"
# (a quoted value never closed: the record is cut) or "no_line_end" (it may be); the runner
# quarantines the first as `truncated_record`, and the second when any check fails, else
# loads it with a warning
UNTERMINATED = "__unterminated__"
# its value on a feature of a GeoJSON or KML file that the end of the file cuts (the file was cut
# short inside it: etl/sources/cut_json.py, kml.py): nothing of it is whole, the runner
# quarantines it as `truncated_record`, its text as far as it goes kept as "feature"
CUT_FEATURE = "inside_feature"


class SourceError(ValueError):
    """The file cannot be read at all (empty, not a table, unreadable)."""


class SourceWarning(UserWarning):
    """Something about the file the run read past, and says so (RunSummary.warnings)."""


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _looks_like_data(header: list[str]) -> bool:
    """A first row of numbers and dates, not names: the file has no header row."""
    return sum(h.replace(".", "").replace("-", "").isdigit() for h in header) >= 2


def _no_field_limit() -> None:
    """csv's own limit (131,072 characters a cell) fails the whole file on one long cell; the
    runner quarantines the row naming the field instead (TRUCE_ETL_MAX_FIELD_CHARS), as the
    COPY path does."""
    if csv.field_size_limit() < sys.maxsize:
        csv.field_size_limit(sys.maxsize)


def read_csv(path: Path, headers: dict[int, list[str]] | None = None,
             encoding: str | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row; `number` is the row's line number in the file.

    `headers`: column names by column count, for files that come without a header row.
    `encoding`: the file's encoding (`--encoding`), detected when None."""
    layout = sniff_csv(path, headers, encoding)
    _no_field_limit()
    header = layout.columns
    bad: set[int] = set()
    tail = _Tail(text_lines(path, layout.detected, bad))
    reader = csv.reader(tail, delimiter=layout.delimiter)
    if layout.header_row:
        next(reader, None)
    previous = reader.line_num
    pending: RawRecord | None = None  # one record behind: the last is known when it ends
    for row in reader:
        first, previous = previous + 1, reader.line_num
        broken = bool(bad) and any(n in bad for n in range(first, previous + 1))
        if not broken and not any(cell.strip() for cell in row):
            continue
        fields = dict(zip(header, row, strict=False))
        if len(row) != len(header):
            fields["__columns__"] = str(len(row))
        if broken:
            fields[ENCODING_FIELD] = layout.encoding
        if pending is not None:
            yield pending
        pending = RawRecord(number=reader.line_num, fields=fields)
    if pending is not None:
        if pending.number == tail.lines and not tail.last.endswith(("\n", "\r")):
            pending.fields[UNTERMINATED] = "open_quote" if tail.quotes % 2 else "no_line_end"
        yield pending


class _Tail:
    """The lines csv.reader reads, counted: how many, the last one, the quote characters."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.source, self.lines, self.last, self.quotes = lines, 0, "", 0

    def __iter__(self) -> _Tail:
        return self

    def __next__(self) -> str:
        line = next(self.source)
        self.lines += 1
        self.last = line
        if '"' in line:
            self.quotes += line.count('"')
        return line


@dataclass(frozen=True)
class CsvLayout:
    """How read_csv reads a file, for a loader that streams the bytes itself (COPY)."""

    encoding: str  # a Python codec name: utf-8, cp1252, latin-1, cp1256, utf-16
    skip_bytes: int  # a BOM's length
    delimiter: str
    columns: list[str]  # field names, in file order
    header_row: bool  # the first line names the columns (else it is data)
    detected: Detected  # the encoding, and the lines it cannot decode (rows read_csv rejects)


def sniff_csv(path: Path, headers: dict[int, list[str]] | None = None,
              encoding: str | None = None) -> CsvLayout:
    """The layout read_csv would use for `path` (same detection), or SourceError."""
    _no_field_limit()
    with open(path, "rb") as raw:
        sample = raw.read(65536)
    if not sample.strip():
        raise SourceError(f"{path.name} is empty")
    try:
        detected = detect(path, encoding)
        lines = text_lines(path, detected)
        first = next(lines, "")
    except EncodingError as exc:
        raise SourceError(str(exc)) from None
    if 1 in detected.bad_lines:
        raise SourceError(f"{path.name}: the header (line 1) is not valid {detected.encoding} "
                          "text; re-save the file as UTF-8 or give its encoding with --encoding")
    delimiter = _delimiter(first)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter), [])]
    header_row = True
    if headers and _looks_like_data(header) and len(header) in headers:
        header, header_row = headers[len(header)], False
    if len(header) < 2:
        raise SourceError(f"{path.name}: the header has fewer than two columns; "
                          "is the delimiter one of , ; tab |?")
    return CsvLayout(detected.encoding, detected.bom, delimiter, header, header_row, detected)


def _tag(cell: str) -> str:
    """'#Geo +Lat' -> '#geo+lat' (attributes sorted, so their order does not matter)."""
    parts = [p.strip().lower() for p in cell.strip().split("+")]
    return "+".join([parts[0].replace(" ", ""), *sorted(p for p in parts[1:] if p)])


def _is_tag_row(row: list[str]) -> bool:
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and sum(c.startswith("#") for c in cells) >= max(1, len(cells) // 2)


def hxl_tags(header: list[str], values: list[str]) -> tuple[list[str | None], bool] | None:
    """read_hxl's rule for a row before the tags are known: (the tags, whether this row is data)
    from the row when it is a tag row, else from the header when that is one (the tag row is the
    file's first line); None for a title row between header and tags (skipped)."""
    if _is_tag_row(values):
        return [_tag(v) if v.strip().startswith("#") else None for v in values], False
    if _is_tag_row(header):
        return [_tag(h) if h.strip().startswith("#") else None for h in header], True
    return None


def read_hxl(path: Path, encoding: str | None = None) -> Iterator[RawRecord]:
    """HXL-tagged CSV: fields keyed by their hashtags ('#geo+lat'); rows above the tag row skipped."""
    records = read_csv(path, encoding=encoding)
    header_seen: list[str] | None = None
    tags: list[str | None] | None = None
    for record in records:
        if tags is None:
            header_seen = header_seen or list(record.fields)
            found = hxl_tags(header_seen, [str(record.fields.get(h, "")) for h in header_seen])
            if found is None:
                continue
            tags, is_data = found
            if not is_data:
                continue
        fields = {tag: record.fields.get(h) for tag, h in zip(tags, header_seen or [], strict=False)
                  if tag}
        for mark in ("__columns__", ENCODING_FIELD, UNTERMINATED):
            if mark in record.fields:
                fields[mark] = record.fields[mark]
        yield RawRecord(number=record.number, fields=fields)
    if tags is None:
        raise SourceError(f"{path.name}: no HXL hashtag row (#event, #date, #geo+lat ...) found")
