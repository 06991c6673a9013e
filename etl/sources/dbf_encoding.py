"""A shapefile's declared code page checked against its text: a `.cpg` saying 1256 (Arabic
Windows) next to a .dbf written in UTF-8 turns every Arabic name into mojibake (every byte
sequence is "valid" 1256). When the .dbf's records are valid UTF-8 with characters beyond ASCII
(which text in a legacy code page practically never is), they are read as UTF-8 and the
declaration is ignored with a warning (SourceWarning)."""

from __future__ import annotations

import codecs
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .tabular import SourceWarning

_UTF8 = {"utf-8", "utf8", "65001", "cp65001"}


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: handle.read(1 << 20), b"")


def _is_utf8_text(handle: IO[bytes]) -> bool:
    """Whether the .dbf's records (after its header) are valid UTF-8 holding non-ASCII text."""
    head = handle.read(32)
    if len(head) < 32:
        return False
    handle.read(max(int.from_bytes(head[8:10], "little") - 32, 0))
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    beyond_ascii = False
    try:
        for chunk in _chunks(handle):
            decoder.decode(chunk)
            beyond_ascii = beyond_ascii or not chunk.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return beyond_ascii


def _part(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def open_options(path: Path, target: str) -> dict[str, str]:
    """GDAL open options for the shapefile `target` opens (`path` itself, or a member of the
    zip `path`): {"ENCODING": "UTF-8"} when its text is UTF-8, whatever its .cpg says (a .cpg
    saying otherwise is warned about); {} otherwise (GDAL honours the declaration)."""
    if not target.lower().endswith(".shp"):
        return {}
    if target.startswith("/vsizip/"):
        member = target[len(f"/vsizip/{path}/"):]
        with zipfile.ZipFile(path) as archive:
            names = {n.lower(): n for n in archive.namelist()}
            stem = member[:-4].lower()
            dbf, cpg = names.get(f"{stem}.dbf"), names.get(f"{stem}.cpg")
            if dbf is None:
                return {}
            declared = archive.read(cpg)[:64].decode("ascii", "replace").strip() if cpg else None
            with archive.open(dbf) as handle:
                utf8 = _is_utf8_text(handle)
        name = Path(member).name
    else:
        shp = Path(target)
        dbf_path, cpg_path = _part(shp, ".dbf"), _part(shp, ".cpg")
        if dbf_path is None:
            return {}
        declared = (cpg_path.read_bytes()[:64].decode("ascii", "replace").strip()
                    if cpg_path is not None else None)
        with open(dbf_path, "rb") as handle:
            utf8 = _is_utf8_text(handle)
        name = shp.name
    if not utf8:
        return {}
    if declared is not None and declared.lower() not in _UTF8:
        warnings.warn(f"{name}: its .cpg declares code page {declared[:20]!r} but its text is "
                      "UTF-8; read as UTF-8 (the declaration ignored)", SourceWarning,
                      stacklevel=2)
    return {"ENCODING": "UTF-8"}
