"""What a file is by its first bytes, checked against what its name and `--format` say.

GDAL opens a file by its content, whatever its name: a GDAL VRT (XML pointing to other files and
URLs) named `x.gpkg` is opened as a VRT. The loader reads a file only when its content is of the
format asked for (by `--format`, else by its extension), and says both when they differ."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .tabular import SourceError

HEAD = 4096

#: What each kind of content is called in a message.
KIND_NAMES = {
    "sqlite": "an SQLite database (a GeoPackage)",
    "zip": "a zip archive",
    "shp": "a Shapefile",
    "vrt": "a GDAL VRT (an XML file that points to other files or URLs)",
    "kml": "a KML document",
    "xml": "an XML document",
    "json": "JSON (GeoJSON)",
    "text": "text (CSV)",
    "binary": "binary data",
    "empty": "empty",
}

#: The content kinds a job's format reads.
ACCEPTS = {
    "geojson": ("json",),
    "gpkg": ("sqlite",),
    "shp": ("shp", "zip"),
    "kml": ("kml", "xml", "zip"),
    "csv": ("text",),
    "ucdp": ("text",),
    "acled": ("text",),
    "hxl": ("text",),
}

FORMAT_NAMES = {
    "geojson": "a GeoJSON file", "gpkg": "a GeoPackage", "shp": "a Shapefile",
    "kml": "a KML or KMZ file", "csv": "a CSV file", "ucdp": "a UCDP GED CSV file",
    "acled": "an ACLED CSV file", "hxl": "an HXL CSV file",
}

_SUFFIX_FORMATS = {
    ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".geojsonl": "geojson",
    ".geojsons": "geojson", ".ndjson": "geojson", ".jsonl": "geojson", ".shp": "shp",
    ".zip": "shp", ".kml": "kml", ".kmz": "kml", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
}

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def kind_of_bytes(head: bytes) -> str:
    """The kind of content that starts with `head` (one of KIND_NAMES)."""
    if not head.strip():
        return "empty"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x00\x00\x27\x0a"):
        return "shp"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM: text
        return "text"
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    body = body.lstrip(b" \t\r\n")
    lowered = body[:HEAD].lower()
    if body.startswith(b"<"):
        if b"ogrvrtdatasource" in lowered or b"vrtdataset" in lowered:
            return "vrt"
        return "kml" if b"<kml" in lowered else "xml"
    if body.startswith((b"{", b"[", b"\x1e")):
        return "json"
    # a NUL or two in a text file is a damaged row (quarantined as encoding_error); binary data
    # has NULs throughout, and in its first line
    if b"\x00" in head.split(b"\n", 1)[0] or head.count(b"\x00") > len(head) // 256:
        return "binary"
    return "text"


def kind_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return kind_of_bytes(handle.read(HEAD))


def expected_format(path: Path) -> str | None:
    """The format a file's extension promises (None: an extension that promises none)."""
    return _SUFFIX_FORMATS.get(path.suffix.lower())


def check(path: Path, fmt: str) -> str:
    """SourceError unless `path`'s content is of format `fmt` (and of the format its extension
    promises, when that differs). Returns the content's kind."""
    if not path.is_file():
        return "missing"
    kind = kind_of(path)
    if kind == "empty":
        raise SourceError(f"{path.name} cannot be read: the file is empty")
    if kind == "vrt":
        raise SourceError(f"{path.name} is not {FORMAT_NAMES.get(fmt, fmt)}: it is "
                          f"{KIND_NAMES[kind]}, which Truce never opens; send the data itself "
                          "(GeoPackage, GeoJSON, Shapefile, KML or CSV)")
    named = expected_format(path)
    for wanted in dict.fromkeys([fmt, *([named] if named else [])]):
        accepted = ACCEPTS.get(wanted)
        if accepted is None or kind in accepted:
            continue
        if wanted == "csv" and fmt in ("ucdp", "acled", "hxl") and kind == "text":
            continue
        raise SourceError(f"{path.name} is not {FORMAT_NAMES.get(wanted, wanted)}: its content "
                          f"is {KIND_NAMES[kind]}. Give the file the extension of what it is "
                          "(or --format), or export it again")
    return kind


def check_zip_member(path: Path, member: str) -> None:
    """A shapefile inside a zip is a Shapefile by its bytes too (a `layer.shp` that is a VRT is
    refused before GDAL sees it)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            kind = kind_of_bytes(handle.read(HEAD))
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError) as exc:
        raise SourceError(f"{path.name}: {member} cannot be read from the zip ({exc})") from None
    if kind != "shp":
        raise SourceError(f"{path.name}: {member} is not a Shapefile: its content is "
                          f"{KIND_NAMES[kind]}; export the shapefile again")
