"""Which text encoding a delimited file is in, judged from the whole file (streamed), and its
lines decoded one by one so that one bad line is one bad row, not a failed file.

A BOM wins (UTF-8, UTF-16). Else a file that decodes as UTF-8 is UTF-8; a file with no valid
UTF-8 multi-byte character is in a single-byte code page: Windows-1252 (Latin-1 when it has bytes
1252 leaves undefined), unless its letters read as Latin-1 look like Arabic (words made only of
accented capitals and symbols: cp1256 bytes), when it is Windows Arabic (cp1256). A file forced
to a Latin code page that looks like Arabic fails the run naming `--encoding cp1256`. A UTF-8
file with a few lines that are not UTF-8 (or hold a NUL) keeps those lines as `encoding_error`
rows; a file that no one encoding decodes fails with the first bad line and the advice."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
ENCODING_ERROR = "encoding_error"
# the names `--encoding` takes (Python's codec names are accepted too)
KNOWN = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "cp1256")
# bad lines a UTF-8 file may have and still load (the rest of its rows): more is a mixed file
MAX_BAD_LINES = 10
_ADVICE = ("re-save it as UTF-8, or give its encoding with --encoding (utf-8, cp1252, latin-1, "
           "cp1256 for Arabic Windows files, utf-16)")
_WORD = re.compile(r"[^\W\d_]{2,}")


class EncodingError(ValueError):
    """The file's text cannot be read in one encoding; the message says which line and why."""


@dataclass(frozen=True)
class Detected:
    encoding: str  # a Python codec name: utf-8, utf-16, cp1252, latin-1, cp1256, ...
    bom: int  # bytes of BOM to skip
    bad_lines: frozenset[int]  # lines (1-based) not decodable or holding a NUL: encoding_error

    @property
    def clean(self) -> bool:
        return not self.bad_lines


def _codec(name: str) -> str:
    try:
        found = codecs.lookup(name.strip()).name
    except LookupError:
        raise EncodingError(f"--encoding {name!r} is not an encoding Python knows; one of "
                            f"{', '.join(KNOWN)}") from None
    return "latin-1" if found == "iso8859-1" else found


def check_name(name: str) -> str:
    """`--encoding`'s value as a codec name, or EncodingError (a ValueError) listing the names."""
    return _codec(name)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(CHUNK), b"")


def byte_lines(path: Path, skip: int = 0) -> Iterator[bytes]:
    """The file's lines as bytes, line ends kept (\\n, \\r\\n or a bare \\r, as universal newlines
    count them), streamed. Only for encodings where those bytes are always line ends (not UTF-16)."""
    rest = b""
    first = True
    for chunk in _chunks(path):
        if first:
            chunk, first = chunk[skip:], False
        lines = (rest + chunk).splitlines(keepends=True)
        rest = lines.pop() if lines else b""
        if rest.endswith(b"\r") or not rest.endswith((b"\n", b"\r")):
            pass  # kept whole: a \r may be followed by \n in the next chunk
        else:
            lines.append(rest)
            rest = b""
        yield from lines
    if rest:
        yield rest


def _bom(head: bytes) -> tuple[str, int] | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0  # Python's utf-16 codec reads and drops the BOM itself
    return None


def _utf8_whole(path: Path, skip: int) -> bool:
    """The whole file decodes as UTF-8 and holds no NUL (C speed: the common case)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    for chunk in _chunks(path):
        if first:
            chunk, first = chunk[skip:], False
        if b"\x00" in chunk:
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _scan(path: Path, skip: int, encoding: str) -> tuple[list[int], int]:
    """(lines not decodable in `encoding` or holding a NUL, lines with non-ASCII text it
    decodes)."""
    bad: list[int] = []
    good = 0
    for number, line in enumerate(byte_lines(path, skip), start=1):
        if line.isascii() and b"\x00" not in line:
            continue
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            bad.append(number)
            continue
        if b"\x00" in line:
            bad.append(number)
        else:
            good += 1
    return bad, good


def looks_arabic(path: Path, encoding: str) -> bool:
    """Whether the file's letters, read in Latin `encoding`, are Arabic in a Windows code page:
    cp1256 letters read as Latin-1 are accented capitals and symbols (U+00C0-U+00FF) that make
    whole words, where a Latin language puts its accents among ASCII letters ("livré")."""
    whole = mixed = 0
    for line in byte_lines(path):
        if line.isascii():
            continue
        for word in _WORD.findall(line.decode(encoding, errors="replace")):
            if word.isascii():
                continue
            if not any(c.isascii() for c in word):
                whole += 1
            else:
                mixed += 1
    return whole >= 2 and whole > mixed


def _single_byte(path: Path) -> str:
    """cp1252 (a superset of Latin-1's letters) when it decodes every byte, else latin-1."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _check_latin(path: Path, encoding: str) -> None:
    if encoding in ("cp1252", "latin-1") and looks_arabic(path, encoding):
        raise EncodingError(
            f"{path.name} looks like Arabic text in the Windows code page cp1256, which read as "
            f"{encoding} would be stored garbled: load it with --encoding cp1256")


def _too_many(path: Path, encoding: str, bad: list[int]) -> EncodingError:
    return EncodingError(f"{path.name}: line {bad[0]} is not valid {encoding} text (and "
                         f"{len(bad) - 1} more lines); no one encoding reads the whole file: "
                         f"{_ADVICE}")


def detect(path: Path, forced: str | None = None) -> Detected:
    """The file's encoding (forced by `--encoding`, else detected), or EncodingError."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    bom = _bom(head)
    if forced:
        encoding = _codec(forced)
        skip = 3 if encoding in ("utf-8", "utf-8-sig") and head.startswith(codecs.BOM_UTF8) else 0
        encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    elif bom is not None:
        encoding, skip = bom
    else:
        encoding, skip = "utf-8", 0
    if encoding.startswith("utf-16"):
        return Detected(encoding, 0, frozenset())  # decoded whole; errors fail with their line
    if encoding == "utf-8" and _utf8_whole(path, skip):
        return Detected("utf-8", skip, frozenset())
    if not forced and bom is None:
        bad, good = _scan(path, 0, "utf-8")
        if good == 0:  # no UTF-8 character at all: a single-byte code page
            encoding = _single_byte(path)
            if looks_arabic(path, encoding):  # Arabic words in Windows Arabic, not Latin text
                encoding = "cp1256"
            bad, _ = _scan(path, 0, encoding)  # NULs only
    else:
        _check_latin(path, encoding)
        bad, _ = _scan(path, skip, encoding)
    if len(bad) > MAX_BAD_LINES:
        raise _too_many(path, encoding, bad)
    return Detected(encoding, skip, frozenset(bad))


def _opened_lines(path: Path, encoding: str) -> Iterator[str]:
    """The lines of a file every line of which decodes (universal newlines, as csv.reader
    counts them); EncodingError naming the line that does not (UTF-16 is decoded whole)."""
    number = 0
    try:
        with open(path, encoding=encoding, newline="") as handle:
            for number, line in enumerate(handle, start=1):  # noqa: B007 - read after the loop
                yield line
    except UnicodeDecodeError:
        raise EncodingError(f"{path.name}: line {number + 1} is not valid {encoding} text: "
                            f"{_ADVICE}") from None


def text_lines(path: Path, detected: Detected, bad: set[int] | None = None) -> Iterator[str]:
    """The file's lines as text, one per line of the file (so csv.reader's line_num is the file's
    line). A bad line is decoded with U+FFFD in place of what cannot be read (and of NULs) and
    its number added to `bad`."""
    encoding = detected.encoding
    if not detected.bad_lines:
        yield from _opened_lines(path, "utf-8-sig" if detected.bom == 3 else encoding)
        return
    for number, line in enumerate(byte_lines(path, detected.bom), start=1):
        if number in detected.bad_lines:
            if bad is not None:
                bad.add(number)
            yield line.decode(encoding, errors="replace").replace("\x00", "\ufffd")
        else:
            yield line.decode(encoding)
