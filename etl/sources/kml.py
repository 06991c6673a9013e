"""KML and KMZ read as a stream: the XML is parsed element by element (xml.etree's iterparse, expat)
and every Placemark is dropped from the tree once read, so memory stays bounded whatever the size
of the file (GDAL's KML drivers hold the whole document, many times the file's size).

A Placemark gives its `Name`, `description`, `id`, `timestamp` / `begin` / `end` (as written),
every ExtendedData field (Data values as text, SchemaData typed by its Schema's SimpleField), and
its geometry as WKB in lon/lat (Point, LineString, LinearRing, Polygon, MultiGeometry, gx:Track,
gx:MultiTrack, a Model's Location; Z kept when every coordinate has it). A geometry that cannot be
read is left empty and the field `geometry_error` says why, so the record is quarantined with it
rather than dropped or put at 0,0 (GDAL's drivers do both). Layers are named as GDAL's LIBKML
driver names them: the document when it holds Placemarks itself, then every Folder and inner
Document in the file's order."""

from __future__ import annotations

import math
import re
import struct
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse, tostring

import shapely

from .tabular import CUT_FEATURE, UNTERMINATED, SourceError, SourceWarning

GEOMETRY_ERROR = "geometry_error"
# expat's errors that only the end of the text gives (no element found: elements left open; an
# unclosed token; a partial character; an unclosed CDATA section): the file was cut short there
_CUT_CODES = (3, 5, 6, 20)
_CONTAINERS = ("Document", "Folder")
_FEATURES = ("Placemark", "Document", "Folder", "NetworkLink", "GroundOverlay", "PhotoOverlay",
             "ScreenOverlay")
_INTEGER = ("int", "uint", "short", "ushort")
_REAL = ("float", "double")
_COMMA = re.compile(r"\s*,\s*")


def is_kml(path: Path) -> bool:
    """A .kml or .kmz file, a zip holding a .kml and no shapefile (a KMZ by another name), or a
    file whose first bytes are a KML document whatever its name."""
    if path.suffix.lower() in (".kml", ".kmz"):
        return True
    if not path.is_file():
        return False
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = [n.lower() for n in archive.namelist()]
        except (OSError, zipfile.BadZipFile):
            return False
        return (any(n.endswith(".kml") for n in names)
                and not any(n.endswith(".shp") for n in names))
    with open(path, "rb") as handle:
        head = handle.read(4096).lower()
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and b"<kml" in head


_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    """The tag without its namespace (KML 2.0 to 2.2, Google's gx:, none), remembered."""
    local = _LOCAL.get(tag)
    if local is None:
        local = _LOCAL[tag] = tag.rsplit("}", 1)[-1]
    return local


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The KML document: the file, or a KMZ's doc.kml (else its first .kml), decompressed as read."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as stream:
            yield stream
        return
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist()
                   if m.lower().endswith(".kml") and not m.startswith("__MACOSX/")]
        if not members:
            raise SourceError(f"{path.name} is a zip without a .kml document in it")
        with archive.open("doc.kml" if "doc.kml" in members else members[0]) as stream:
            yield stream


@dataclass
class _Container:
    """A Document or Folder; the first is the file's own (its Document, or the file itself when
    Placemarks or Folders sit right under <kml>)."""

    name: str | None = None
    placemarks: int = 0
    position: int = 0  # among its parent's features (Placemarks, Folders...): an unnamed one's name


class _Scan:
    """One pass over the document. `placemarks()` yields (container index, Placemark element) in
    the file's order; `containers` fills as it goes (the file's own first, then in order)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.containers: list[_Container] = []
        self.schemas: dict[str, dict[str, str]] = {}
        #: the Placemark the end of the file cuts (yielded last, as far as it goes)
        self.cut: Element | None = None
        #: what to say of a file cut short (None: it is whole)
        self.said: str | None = None
        #: where the file's NetworkLinks point (Truce reads nothing outside the file)
        self.links: list[str] = []

    def placemarks(self) -> Iterator[tuple[int, Element]]:
        owners: list[int] = []  # the open containers' indexes, innermost last
        holders: list[Element] = []  # their elements
        depths: list[int] = []  # their depths
        features: list[int] = []  # how many features each holds so far
        depth = 0  # of the open elements
        read = 0
        with _open(self.path) as stream:
            try:
                for event, elem in iterparse(stream, events=("start", "end")):
                    if event == "start":
                        depth += 1
                        tag = _local(elem.tag)
                        position = 0
                        if depth == 1:
                            if tag != "kml":
                                raise SourceError(f"{self.path.name} is not a KML document (its root "
                                                  f"element is <{tag}>)")
                            self.containers.append(_Container())
                        else:
                            if depth == depths[-1] + 1 and tag in _FEATURES:
                                position = features[-1]
                                features[-1] += 1
                            if tag not in _CONTAINERS:
                                continue
                            if not (tag == "Document" and depth == 2 and len(self.containers) == 1
                                    and not self.containers[0].placemarks):  # else: the file's own
                                self.containers.append(_Container(position=position))
                        owners.append(len(self.containers) - 1)
                        holders.append(elem)
                        depths.append(depth)
                        features.append(0)
                        continue
                    depth -= 1
                    if elem is holders[-1]:  # a container ends
                        owners.pop()
                        holders.pop()
                        depths.pop()
                        features.pop()
                        if holders and depth == depths[-1]:
                            holders[-1].remove(elem)
                        continue
                    if depth != depths[-1]:
                        continue  # inside a Placemark, a Style...: read with it
                    # a child of the innermost open container: read, then dropped from the tree,
                    # which keeps only the open containers
                    tag = _local(elem.tag)
                    if tag == "Placemark":
                        self.containers[owners[-1]].placemarks += 1
                        read += 1
                        yield owners[-1], elem
                    elif tag == "Schema":
                        self._schema(elem)
                    elif tag == "NetworkLink":
                        self.links.append(_href(elem))
                    elif tag == "name":
                        self.containers[owners[-1]].name = (elem.text or "").strip() or None
                    holders[-1].remove(elem)
            except ParseError as exc:
                if getattr(exc, "code", None) not in _CUT_CODES or not holders:
                    raise
                open_child = holders[-1][-1] if depth > depths[-1] and len(holders[-1]) else None
                if open_child is not None and _local(open_child.tag) == "Placemark":
                    self.cut = open_child
                    self.containers[owners[-1]].placemarks += 1
                    read += 1
                    self.said = (f"{self.path.name} ends inside Placemark {read}: the file was "
                                 "cut short; that Placemark is quarantined (truncated_record), "
                                 "the ones before it are read, and any after it are missing: "
                                 "send the whole file")
                    yield owners[-1], open_child
                else:
                    self.said = (f"{self.path.name} ends before its document closes, after "
                                 f"Placemark {read}: the file may have been cut short and "
                                 "Placemarks after it be missing: check that it is whole")

    def _schema(self, elem: Element) -> None:
        types = {str(f.get("name")): (f.get("type") or "string").lower() for f in elem
                 if _local(f.tag) == "SimpleField"}
        for key in (elem.get("id"), elem.get("name")):
            if key:
                self.schemas[key] = types

    def layers(self) -> dict[str, int]:
        """{layer name: container index}, as LIBKML lists them (valid after a whole pass)."""
        listed = [i for i, c in enumerate(self.containers)
                  if i or c.placemarks or len(self.containers) == 1]
        out: dict[str, int] = {}
        for i in listed:
            container = self.containers[i]
            name = container.name or (self.path.stem if i == 0 else f"Layer{container.position}")
            unique, n = name, 1
            while unique in out:
                n += 1
                unique = f"{name} (#{n})"
            out[unique] = i
        return out


def layers(path: Path) -> dict[str, int]:
    """{layer name: its index for `KmlReader`} of a KML or KMZ file (one pass over it)."""
    scan = _Scan(path)
    for _ in scan.placemarks():
        pass
    return scan.layers()


@dataclass
class Batch:
    """Placemarks of one layer as columns (what GDAL's Arrow batches give for other formats)."""

    geometries: list[bytes | None]
    names: list[str]
    columns: list[list[Any]]


class KmlReader:
    """`read_next_batch()`: the next `size` Placemarks at most, all of one layer (a batch ends
    where a Folder does), in the file's order; StopIteration at the end. `container`: only that
    layer's Placemarks (an index from `layers`)."""

    def __init__(self, path: Path, size: int, container: int | None = None) -> None:
        self._scan = _Scan(path)
        self._placemarks = self._scan.placemarks()
        self._size = size
        self._container = container
        self._pending: tuple[int, dict[str, Any], bytes | None] | None = None
        self._error: Exception | None = None  # raised after the Placemarks read before it
        self._warned = False
        self._read = 0

    def _next(self) -> tuple[int, dict[str, Any], bytes | None] | None:
        for owner, elem in self._placemarks:
            if self._container is None or owner == self._container:
                if elem is self._scan.cut:  # nothing of it is whole: kept as written
                    return owner, {UNTERMINATED: CUT_FEATURE,
                                   "feature": tostring(elem, encoding="unicode")[:2000]}, None
                fields, wkb = _record(elem, self._scan.schemas)
                self._read += 1
                return owner, fields, wkb
        if not self._warned:
            self._warned = True
            if self._scan.said is not None:
                warnings.warn(self._scan.said, SourceWarning, stacklevel=2)
            if self._scan.links and not self._read:
                warnings.warn(_only_links(self._scan.path, self._scan.links), SourceWarning,
                              stacklevel=2)
        return None

    def read_next_batch(self) -> Batch:
        if self._error is not None:
            raise self._error
        first = self._pending or self._next()
        self._pending = None
        if first is None:
            raise StopIteration
        owner = first[0]
        rows, geometries = [first[1]], [first[2]]
        while len(rows) < self._size:
            try:
                following = self._next()
            except Exception as exc:  # a broken file: said after the Placemarks before it
                self._error = exc
                break
            if following is None:
                break
            if following[0] != owner or UNTERMINATED in following[1]:  # the cut one alone
                self._pending = following
                break
            rows.append(following[1])
            geometries.append(following[2])
        keys: dict[str, None] = {}
        for row in rows:
            keys.update(dict.fromkeys(row))
        return Batch(geometries, list(keys), [[row.get(k) for row in rows] for k in keys])


def _href(link: Element) -> str:
    """Where a NetworkLink points (its Link's or Url's href), as written."""
    for child in link:
        if _local(child.tag) in ("Link", "Url"):
            href = _child(child, "href")
            if href is not None and _text(href):
                return str(_text(href))
    return "nowhere"


def _only_links(path: Path, links: list[str]) -> str:
    shown = ", ".join(link[:120] for link in links[:3]) + (" ..." if len(links) > 3 else "")
    return (f"{path.name} holds no Placemark, only {len(links)} NetworkLink(s) to other files "
            f"({shown}): Truce reads nothing outside the file; download what they link to and "
            "load that")


def _text(elem: Element) -> str | None:
    return elem.text.strip() if elem.text is not None else None


def _child(elem: Element, name: str) -> Element | None:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _children(elem: Element, name: str) -> list[Element]:
    return [child for child in elem if _local(child.tag) == name]


def _typed(text: str | None, kind: str | None) -> Any:
    """A SimpleData value as its Schema types it; the text when it is not that type, or not a
    finite number ("NaN", "inf": no JSON can hold them, so their row could not even be
    quarantined, and the run failed)."""
    if text is None or kind is None:
        return text
    try:
        if kind in _INTEGER:
            return int(text)
        if kind in _REAL:
            number = float(text)
            return number if math.isfinite(number) else text
    except ValueError:
        pass
    return text


def _record(placemark: Element, schemas: dict[str, dict[str, str]]
            ) -> tuple[dict[str, Any], bytes | None]:
    fields: dict[str, Any] = {"Name": None, "description": None}
    if placemark.get("id") is not None:
        fields["id"] = placemark.get("id")
    geometry: Element | None = None
    for child in placemark:
        tag = _local(child.tag)
        if tag == "name":
            fields["Name"] = _text(child)
        elif tag == "description":
            fields["description"] = child.text
        elif tag in ("TimeStamp", "TimeSpan"):
            for part in child:
                key = {"when": "timestamp", "begin": "begin", "end": "end"}.get(_local(part.tag))
                if key:
                    fields[key] = _text(part)
        elif tag == "ExtendedData":
            _extended(child, schemas, fields)
        elif geometry is None and tag in _SHAPES:
            geometry = child
    if geometry is None:
        return fields, None
    try:
        return fields, _wkb(geometry)
    except ValueError as exc:
        fields[GEOMETRY_ERROR] = f"{_local(geometry.tag)}: {exc}"
        return fields, None


def _extended(elem: Element, schemas: dict[str, dict[str, str]], fields: dict[str, Any]) -> None:
    for item in elem:
        tag = _local(item.tag)
        if tag == "Data" and item.get("name"):
            value = _child(item, "value")
            fields[str(item.get("name"))] = value.text if value is not None else None
        elif tag == "SchemaData":
            types = schemas.get((item.get("schemaUrl") or "").rsplit("#", 1)[-1], {})
            for simple in _children(item, "SimpleData"):
                name = simple.get("name")
                if name:
                    fields[name] = _typed(simple.text, types.get(name))


def _points(text: str | None) -> list[tuple[float, ...]]:
    """KML coordinates ("lon,lat[,alt]" separated by blanks) as 2D, or 3D when all have a Z."""
    tuples = _COMMA.sub(",", (text or "").strip()).split()
    points = []
    for item in tuples:
        values = item.split(",")
        if len(values) < 2:
            raise ValueError(f"coordinate {item[:40]!r} is not lon,lat[,altitude]")
        try:
            points.append(tuple(float(v) for v in values[:3]))
        except ValueError:
            raise ValueError(f"coordinate {item[:40]!r} is not numbers") from None
    if points and any(len(p) == 2 for p in points):
        points = [p[:2] for p in points]
    return points


def _coordinates(elem: Element) -> list[tuple[float, ...]]:
    node = _child(elem, "coordinates")
    points = _points(node.text if node is not None else None)
    if not points:
        raise ValueError("no coordinates")
    return points


def _ring(boundary: Element) -> list[tuple[float, ...]]:
    ring = _child(boundary, "LinearRing")
    if ring is None:
        raise ValueError("a boundary without a LinearRing")
    points = _coordinates(ring)
    if len(points) < 3:
        raise ValueError(f"a LinearRing of {len(points)} coordinates (4 at least, the first "
                         "repeated last)")
    return points


def _shape(elem: Element) -> Any:
    """A shapely geometry of a KML geometry element; None for an empty MultiGeometry."""
    tag = _local(elem.tag)
    if tag == "Point":
        points = _coordinates(elem)
        if len(points) != 1:
            raise ValueError(f"{len(points)} coordinates for a point")
        return shapely.Point(points[0])
    if tag in ("LineString", "LinearRing"):
        points = _coordinates(elem)
        if len(points) < 2:
            raise ValueError("a line needs 2 coordinates at least")
        return shapely.LineString(points)
    if tag == "Polygon":
        outer = _child(elem, "outerBoundaryIs")
        if outer is None:
            raise ValueError("no outerBoundaryIs")
        holes = [_ring(ring) for ring in _children(elem, "innerBoundaryIs")]
        try:
            return shapely.Polygon(_ring(outer), holes)
        except (ValueError, shapely.errors.GEOSException) as exc:
            raise ValueError(str(exc)) from None
    if tag == "Track":
        points = [tuple(float(v) for v in (c.text or "").split()[:3])
                  for c in _children(elem, "coord")]
        if len(points) < 2 or any(len(p) < 2 for p in points):
            raise ValueError("a track needs 2 gx:coord of lon lat [alt] at least")
        return shapely.LineString([p[:2] for p in points] if any(len(p) == 2 for p in points)
                                  else points)
    if tag == "Model":
        location = _child(elem, "Location")
        lon, lat = ((_child(location, k) if location is not None else None)
                    for k in ("longitude", "latitude"))
        if lon is None or lat is None or lon.text is None or lat.text is None:
            raise ValueError("a model without Location longitude and latitude")
        return shapely.Point(float(lon.text), float(lat.text))
    parts = [part for part in (_shape(child) for child in elem if _local(child.tag) in _SHAPES)
             if part is not None]
    if not parts:
        return None
    kinds = {part.geom_type for part in parts}
    if kinds == {"Point"}:
        return shapely.MultiPoint(parts)
    if kinds == {"LineString"}:
        return shapely.MultiLineString(parts)
    if kinds == {"Polygon"}:
        return shapely.MultiPolygon(parts)
    return shapely.GeometryCollection(parts)


_SHAPES = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack",
           "Model")
_WKB_POINT = struct.Struct("<BIdd")
_WKB_POINT_Z = struct.Struct("<BIddd")


def _wkb(elem: Element) -> bytes | None:
    if _local(elem.tag) == "Point":  # the common case, without a shapely object
        points = _coordinates(elem)
        if len(points) != 1:
            raise ValueError(f"{len(points)} coordinates for a point")
        if len(points[0]) == 3:
            return _WKB_POINT_Z.pack(1, 0x80000001, *points[0])
        return _WKB_POINT.pack(1, 1, *points[0])
    shape = _shape(elem)
    return None if shape is None else bytes(shapely.to_wkb(shape))
