"""CSV files: encoding (UTF-8, BOM, UTF-16 with its BOM, Windows Arabic, Latin-1) and delimiter
detected; rows streamed."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from etl.records import RawRecord


class SourceError(ValueError):
    """The file cannot be read at all (empty, not a table, unreadable)."""


_WORD = re.compile(rb"[A-Za-z\x80-\xff]+")


def _legacy(sample: bytes) -> str:
    """A file that is not UTF-8: Windows Arabic (cp1256, what Excel writes on an Arabic system)
    or Latin-1. Both decode any byte, so the words decide: an Arabic word is made of bytes over
    0x7F only ("حمص" is CD E3 D5), while a Latin word with accents mixes them with ASCII letters
    ("Déir"). Read as Latin-1, every Arabic name would be stored garbled ("ÍãÕ")."""
    arabic = latin = 0
    for word in _WORD.findall(sample):
        if max(word) < 0x80:
            continue
        if min(word) >= 0x80:
            arabic += len(word) >= 2
        else:
            latin += 1
    return "cp1256" if arabic and arabic >= latin else "latin-1"


SAMPLE = 65536


def _encoding(name: str, sample: bytes, rest: BinaryIO) -> str:
    """The file's encoding from its first SAMPLE bytes; a file that looks UTF-8 there is read
    to its end (`rest`), so a Latin-1 or Arabic byte further on decides rather than fails the
    run. A file that is UTF-8 up to a byte that is not (a damaged or mixed file) is refused:
    read in another encoding, all its UTF-8 text would be stored garbled."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # its BOM says which byte order; the codec reads it
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk, last, done, utf8 = sample, sample, 0, False  # utf8: a multi-byte character was read
    try:
        while chunk:
            utf8 = not decoder.decode(chunk).isascii() or utf8
            done += len(chunk)
            last, chunk = chunk, rest.read(1 << 20)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        utf8 = utf8 or not chunk[:exc.start].isascii()  # read before the byte, in its chunk
        if not utf8:  # ASCII up to there: a file in another encoding
            return _legacy(chunk or last)
        where = done + exc.start if chunk else done
        raise SourceError(f"{name} is UTF-8 up to byte {where:,}, where a byte is not: the file "
                          "mixes encodings or is damaged; save it again as UTF-8") from None
    return "utf-8"


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _looks_like_data(header: list[str]) -> bool:
    """A first row of numbers and dates, not names: the file has no header row."""
    return sum(h.replace(".", "").replace("-", "").isdigit() for h in header) >= 2


def read_csv(path: Path, headers: dict[int, list[str]] | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row; `number` is the row's line number in the file.

    `headers`: column names by column count, for files that come without a header row."""
    layout = sniff_csv(path, headers)
    header = layout.columns
    encoding = "utf-8-sig" if layout.skip_bytes else layout.encoding
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        if layout.header_row:
            next(reader, None)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            fields = dict(zip(header, row, strict=False))
            if len(row) != len(header):
                fields["__columns__"] = str(len(row))
            yield RawRecord(number=reader.line_num, fields=fields)


@dataclass(frozen=True)
class CsvLayout:
    """How read_csv reads a file, for a loader that streams the bytes itself (COPY)."""

    encoding: str  # "utf-8", "utf-16" (its BOM read by the codec), "cp1256" or "latin-1"
    skip_bytes: int  # a BOM's length
    delimiter: str
    columns: list[str]  # field names, in file order
    header_row: bool  # the first line names the columns (else it is data)


def sniff_csv(path: Path, headers: dict[int, list[str]] | None = None) -> CsvLayout:
    """The layout read_csv would use for `path` (same detection), or SourceError."""
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE)
        if not sample.strip():
            raise SourceError(f"{path.name} is empty")
        encoding = _encoding(path.name, sample, raw)
    with open(path, encoding=encoding, newline="") as handle:
        first = handle.readline()
        delimiter = _delimiter(first)
        handle.seek(0)
        header = [h.strip() for h in next(csv.reader(handle, delimiter=delimiter), [])]
    header_row = True
    if headers and _looks_like_data(header) and len(header) in headers:
        header, header_row = headers[len(header)], False
    if len(header) < 2:
        raise SourceError(f"{path.name}: the header has fewer than two columns; "
                          "is the delimiter one of , ; tab |?")
    bom = encoding == "utf-8-sig"
    return CsvLayout("utf-8" if bom else encoding, 3 if bom else 0, delimiter, header, header_row)


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


def read_hxl(path: Path) -> Iterator[RawRecord]:
    """HXL-tagged CSV: fields keyed by their hashtags ('#geo+lat'); rows above the tag row skipped."""
    records = read_csv(path)
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
        if "__columns__" in record.fields:
            fields["__columns__"] = record.fields["__columns__"]
        yield RawRecord(number=record.number, fields=fields)
    if tags is None:
        raise SourceError(f"{path.name}: no HXL hashtag row (#event, #date, #geo+lat ...) found")
