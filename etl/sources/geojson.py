"""GeoJSON read feature by feature in Python, where GDAL's reading loses what was written:

- a feature GDAL cannot read (`"type": "Featur"`, a broken geometry) is skipped without a word;
  here it is counted and yielded as unreadable (UNREADABLE field), for the runner to quarantine;
- an array in one feature makes GDAL type the whole column as a list (every other feature's
  value wrapped in one) and dates are typed by the first values (offsets and fractions of a
  second dropped); here each feature keeps its own values as written (arrays and objects as
  JSON text, dates as strings);
- GDAL's time grows with the square of a feature's properties (100,000 take minutes); here it
  is linear.

Used for GeoJSON sequences (streamed line by line) and for FeatureCollections up to
MAX_COLLECTION_BYTES without a legacy `crs` member (GDAL streams the larger ones and reprojects
those with a CRS)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from .cut_json import Cut, cut_collection, cut_short
from .kml import Batch
from .tabular import CUT_FEATURE, UNTERMINATED, SourceError

#: The field that marks a feature that could not be read (its reason as text).
UNREADABLE = "__unreadable__"
#: The largest FeatureCollection read here (it is parsed whole: ~10 times its size in memory).
MAX_COLLECTION_BYTES = 32 << 20
_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
               "GeometryCollection")


def collection(path: Path) -> tuple[list[Any], str | None] | None:
    """The features of a FeatureCollection (or a lone Feature or geometry) small enough to parse
    whole and without a `crs` member, and what to say of the file; None when GDAL must read it.
    A collection the end of the file cuts (cut_json.py) gives its whole features, then the one
    the end falls in as a cut_json.Cut, and a warning that the file was cut."""
    if path.stat().st_size > MAX_COLLECTION_BYTES:
        return None
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return _cut(path, data)
    if not isinstance(document, dict) or "crs" in document:
        return None
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        return (features, None) if isinstance(features, list) else None
    if kind == "Feature":
        return [document], None
    if kind in _GEOMETRIES:
        return [{"type": "Feature", "properties": {}, "geometry": document}], None
    return None


def _cut(path: Path, data: bytes) -> tuple[list[Any], str] | None:
    """A FeatureCollection the end of the file cuts, with what to say; None for a file broken
    otherwise (GDAL's reading says what is wrong, in its words)."""
    found = cut_collection(data)
    if found is None:
        return None
    features, inside = found
    whole = len(features) - inside
    if inside:
        return features, (f"{path.name} ends inside feature {whole + 1}: the file was cut "
                          f"short; that feature is quarantined (truncated_record), the {whole} "
                          "before it are read, and any after it are missing: send the whole "
                          "file")
    return features, (f"{path.name} ends before its FeatureCollection closes, after feature "
                      f"{whole}: the file may have been cut short and features after it be "
                      "missing: check that it is whole")


def _value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


Feature = tuple[dict[str, Any], bytes | None]


def _unreadable(why: str, feature: Any) -> Feature:
    text = json.dumps(feature, ensure_ascii=False, default=str)
    return {UNREADABLE: why, "feature": text[:2000]}, None


def record(feature: Any) -> Feature:
    """One parsed feature's (fields, WKB geometry), or UNREADABLE fields saying why it is not
    a feature."""
    import shapely
    from shapely.geometry import shape

    if isinstance(feature, Cut):
        return {UNTERMINATED: CUT_FEATURE, "feature": feature.text[:2000]}, None
    if not isinstance(feature, dict):
        return _unreadable(f"not a GeoJSON object but a {type(feature).__name__}",
                           feature)
    if feature.get("type") != "Feature":
        return _unreadable(f"its type is {str(feature.get('type'))[:40]!r}, not "
                                   "'Feature'", feature)
    properties = feature.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return _unreadable("its properties are not an object", feature)
    geometry = feature.get("geometry")
    wkb = None
    if geometry is not None:
        try:
            if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRIES:
                raise ValueError("not a GeoJSON geometry")
            wkb = bytes(shapely.to_wkb(shape(geometry)))
        except Exception as exc:  # shapely's and GEOS's errors are many; all mean the same
            return _unreadable(f"its geometry cannot be read ({str(exc)[:80]})", feature)
    fields = {str(k): _value(v) for k, v in (properties or {}).items()}
    if isinstance(feature.get("id"), str) and "id" not in fields:
        fields["id"] = feature["id"]  # as GDAL gives it
    return fields, wkb


class Reader:
    """`read_next_batch()`: the next `size` features at most as a kml.Batch whose one column,
    FIELDS, holds each feature's fields as a dict (columns of every property name would cost
    features x names); StopIteration at the end."""

    def __init__(self, features: Iterable[Any], size: int) -> None:
        self._features = iter(features)
        self._size = size

    def read_next_batch(self) -> Batch:
        read = [record(f) for f in islice(self._features, self._size)]
        if not read:
            raise StopIteration
        return Batch([wkb for _, wkb in read], [FIELDS], [[fields for fields, _ in read]])


FIELDS = "__fields__"


def sequence(lines: Iterable[tuple[int, bytes]], cut_at_end: bool = False) -> Iterator[Any]:
    """The features of a GeoJSON sequence's lines ((line number, text)); a line that is not a
    Feature (or a bare geometry) is left out (the caller counts them), but with `cut_at_end`
    (no line end follows the last line) a last line the end of the file cuts is a
    cut_json.Cut."""
    unparsed: bytes | None = None  # the line before, if it did not parse
    for _, line in lines:
        unparsed = None
        try:
            feature = json.loads(line)
        except (ValueError, RecursionError):
            unparsed = line if cut_at_end else None
            continue
        if isinstance(feature, dict) and feature.get("type") in _GEOMETRIES:
            feature = {"type": "Feature", "properties": {}, "geometry": feature}
        if isinstance(feature, dict) and feature.get("type") == "Feature":
            yield feature
    if unparsed is not None:
        text = unparsed.decode("utf-8", errors="replace")
        if cut_short(text):
            yield Cut(text)


SEQUENCE_SUFFIXES = (".geojsonl", ".geojsons", ".ndjson", ".jsonl")


def is_sequence(path: Path) -> bool:
    """Newline-delimited GeoJSON (what GDAL reads as GeoJSONSeq), told by its first line: RFC 8142's
    record separator, a whole Feature, or a broken one; a FeatureCollection is not one, whatever
    the file's name."""
    if path.suffix.lower() not in (*SEQUENCE_SUFFIXES, ".json", ".geojson") or not path.is_file():
        return False
    with open(path, "rb") as handle:
        first = b""
        while not first and (line := handle.readline(1 << 20)):
            first = line.strip(b" \t\r\n")
    if first.startswith(b"\x1e"):
        return True
    try:
        parsed = json.loads(first)
    except ValueError:
        return b'"Feature"' in first and b'"FeatureCollection"' not in first
    return isinstance(parsed, dict) and parsed.get("type") in ("Feature", *_GEOMETRIES)


def unterminated(path: Path) -> bool:
    """Whether no line end follows the file's last line (the end may cut it)."""
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, text) of each non-blank line of a GeoJSON sequence."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip(b" \t\r\n\x1e")
            if line:
                yield number, line


def is_feature(line: bytes) -> bool:
    try:
        parsed = json.loads(line)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("type") in ("Feature", *_GEOMETRIES)


def check_sequence(path: Path, read: int) -> None:
    """A GeoJSON sequence with a line that is not a feature (truncated, broken) is refused naming
    the line, as GDAL would have skipped it: a file whose lines outnumber the features read."""
    records = sum(1 for _ in lines(path))
    if records == read:
        return
    bad = [number for number, line in lines(path) if not is_feature(line)]
    named = ", ".join(str(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
    raise SourceError(f"{path.name}: {records - read} of {records} lines are not GeoJSON features"
                      f"{f' (line {named})' if bad else ''}: fix or remove them and load the file "
                      "again")


_GEOMETRY_KEY = re.compile(rb'(?<!\\)"geometry"\s*:')


def check_collection(path: Path, read: int) -> None:
    """GDAL skips a feature of a FeatureCollection it cannot read (`"type": "Featur"`) without
    a word; the file's own count (its "geometry" members, streamed) shows the loss, and the
    file is refused rather than loaded without them."""
    members, tail = 0, b""
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            members += len(_GEOMETRY_KEY.findall(tail + chunk))
            members -= len(_GEOMETRY_KEY.findall(tail))
            tail = chunk[-64:]
    if members > read:
        raise SourceError(f"{path.name}: GDAL read {read:,} features but the file has "
                          f"{members:,}: {members - read:,} cannot be read (a type other than "
                          "'Feature', a broken geometry); fix them, or load the file in parts "
                          f"under {MAX_COLLECTION_BYTES >> 20} MB to have them "
                          "quarantined one by one")
