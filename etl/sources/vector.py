"""Vector files streamed a batch at a time: GeoJSON and newline-delimited GeoJSON, GeoPackage,
Shapefile (zipped or not) through GDAL (pyogrio); KML and KMZ with the streaming reader of kml.py
(GDAL's KML drivers hold the whole document in memory)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pyogrio

from etl.records import RawRecord

from . import dbf_encoding, gdal_guard, geojson, kml, signature
from .tabular import CUT_FEATURE, UNTERMINATED, SourceError, SourceWarning


def _srid(crs: str | None) -> int | None:
    """The EPSG code of the file's CRS; None when it has none; 0 when it is not an EPSG CRS."""
    if not crs:
        return None
    if crs.upper().startswith("EPSG:"):
        return int(crs.split(":")[1])
    if "CRS84" in crs.upper():
        return 4326
    from pyproj import CRS

    code = CRS.from_user_input(crs).to_epsg(min_confidence=70)
    return int(code) if code else 0


def _reprojector(crs: str) -> Callable[[bytes], bytes]:
    """WKB in the file's (non-EPSG) CRS -> WKB in lon/lat."""
    import shapely
    from pyproj import CRS, Transformer

    try:
        transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    except Exception as exc:
        raise SourceError(f"unsupported CRS {crs[:80]!r}: reproject the file to EPSG:4326") from exc

    def reproject(wkb: bytes) -> bytes:
        geom = shapely.transform(shapely.from_wkb(wkb), lambda xy: _stack(transformer, xy))
        return bytes(shapely.to_wkb(geom))

    return reproject


def _stack(transformer: Any, xy: Any) -> Any:
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _part(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _check_shapefile(path: Path) -> None:
    if path.suffix.lower() != ".shp":
        return
    heads = {}
    for suffix, what in ((".dbf", "the attributes"), (".shx", "the index")):
        part = _part(path, suffix)
        if part is None:
            raise SourceError(f"{path.name}: the {suffix} file ({what}) is missing next to it; "
                              "copy all the shapefile's parts (.shp .shx .dbf .prj)")
        with open(part, "rb") as handle:
            heads[suffix] = handle.read(32)
    _check_parts(path.name, heads[".shx"], heads[".dbf"])


def _check_parts(name: str, shx: bytes, dbf: bytes) -> None:
    """A shapefile's .shx (one entry per shape) and .dbf (one record per shape) agree on the
    count: GDAL reads the smaller one and says nothing of the rest."""
    if len(shx) < 28 or len(dbf) < 8:
        raise SourceError(f"{name}: the .shx or .dbf file is cut short; export the shapefile "
                          "again")
    if not shx.startswith(b"\x00\x00\x27\x0a"):
        raise SourceError(f"{name}: the .shx file (the index) is damaged; export the shapefile "
                          "again")
    shapes = (int.from_bytes(shx[24:28], "big") * 2 - 100) // 8
    records = int.from_bytes(dbf[4:8], "little")
    if shapes != records:
        raise SourceError(f"{name}: its .shx lists {shapes:,} shapes but its .dbf has "
                          f"{records:,} records: the parts do not belong together (or one is "
                          "damaged); export the shapefile again")


def _check_geopackage(path: Path) -> None:
    """A GeoPackage with a damaged page is refused: GDAL reads the features before the damage
    and stops there without an error (34 of 100 features loaded)."""
    import sqlite3

    if path.suffix.lower() != ".gpkg":
        return
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1",
                                     uri=True)) as db:
            db.execute("PRAGMA trusted_schema = OFF")
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        found = [str(exc)]
    if found != ["ok"]:
        raise SourceError(f"{path.name} is damaged (SQLite finds: {found[0][:120]}); export the "
                          "GeoPackage again")


def _check_zipped_shapefile(path: Path, member: str) -> None:
    import zipfile

    stem = member[:-4]
    with zipfile.ZipFile(path) as archive:
        names = {n.lower(): n for n in archive.namelist()}
        heads = {}
        for suffix, what in ((".dbf", "the attributes"), (".shx", "the index")):
            found = names.get(f"{stem}{suffix}".lower())
            if found is None:
                raise SourceError(f"{path.name}: {Path(member).name} has no {suffix} file ({what}) "
                                  "in the zip; zip all the shapefile's parts (.shp .shx .dbf .prj)")
            with archive.open(found) as handle:
                heads[suffix] = handle.read(32)
    _check_parts(f"{path.name}: {Path(member).name}", heads[".shx"], heads[".dbf"])


# Features are read BATCH at a time in one pass over the open file (GDAL's Arrow stream), so a file
# larger than memory loads: GDAL streams GeoJSON FeatureCollections (a first pass for the schema,
# then feature by feature), GeoJSONSeq, GeoPackage and Shapefile; kml.py streams KML and KMZ (a
# batch is of one layer). The Python objects of more than one batch are never held.
BATCH = 50_000


_GDAL_ADVICE = re.compile(r"[;.]?\s*It might help to specify the correct driver.*$", re.S)
_CALLS = re.compile(r"\b[a-z_0-9]+\([^)]*\)(?: failed)?:?\s*")


def _plain(path: Path, message: str) -> str:
    """GDAL's message without what only a developer can act on: the file's full path (its name
    stays), the advice to prefix a driver name, C function calls, build paths."""
    text = _GDAL_ADVICE.sub("", message.splitlines()[0] if message else "")
    for form in (str(path.resolve()), str(path), f"/vsizip/{path}"):
        text = text.replace(f"'{form}'", path.name).replace(form, path.name)
    text = _CALLS.sub("", text)
    text = re.sub(r"(/[\w.+-]+){2,}", "", text).strip(" :;,.")
    if "not recognized as being in a supported file format" in text or not text:
        return "its content is not in the format its name says, or it is damaged"
    if "SHAPE_RESTORE_SHX" in text:
        return "its .shx file (the index) is missing or damaged"
    return text[:200]


def _unreadable(path: Path, after: int, exc: Exception) -> SourceError:
    where = f" after feature {after}" if after else ""
    return SourceError(f"{path.name} cannot be read as a vector file{where}: "
                       f"{_plain(path, str(exc))}; export it again or send the original file")


def _batches(path: Path, reader: Any, geometry: str, done: int
             ) -> Iterator[tuple[list[Any], list[str], list[list[Any]]]]:
    """(geometries as WKB or None, field names, field columns as lists) per batch; `done`: the
    features read before (for the error's position)."""
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except Exception as exc:  # GDAL's (and expat's) errors are many; all mean the same here
            raise _unreadable(path, done, exc) from exc
        if isinstance(batch, kml.Batch):
            yield batch.geometries, batch.names, batch.columns
            done += len(batch.geometries)
            continue
        names = batch.schema.names
        geometries = (batch.column(names.index(geometry)).to_pylist() if geometry in names
                      else [None] * batch.num_rows)
        fields = [i for i, name in enumerate(names) if name != geometry]
        yield geometries, [names[i] for i in fields], [batch.column(i).to_pylist() for i in fields]
        done += batch.num_rows


_SINGLE_LAYER_SUFFIXES = (".json", ".geojson", *geojson.SEQUENCE_SUFFIXES, ".shp")


def _zipped_shapefiles(path: Path) -> dict[str, str]:
    """{layer name: the .shp inside the zip} for every shapefile in it, in a folder or not
    (GDAL opens the zip's root only); the name is the file's stem, or its path in the zip when
    two folders hold the same stem."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".shp")
                       and not m.startswith("__MACOSX/") and not Path(m).name.startswith(".")]
    except (OSError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{path.name} cannot be read as a zip file: {exc}") from exc
    stems = [Path(m).stem for m in members]
    return {(Path(m).stem if stems.count(Path(m).stem) == 1 else m[:-4]): m for m in members}


def _sources(path: Path) -> dict[str, tuple[str, str | None]]:
    """{layer name: (what GDAL opens, its layer there)} for every layer of the file (a KML's:
    (the file, its index for kml.KmlReader))."""
    if kml.is_kml(path):
        try:
            return {name: (str(path), str(index)) for name, index in kml.layers(path).items()}
        except Exception as exc:  # expat's errors, an unreadable zip
            raise _unreadable(path, 0, exc) from exc
    target = f"/vsizip/{path}"
    if path.suffix.lower() == ".zip":
        shapefiles = _zipped_shapefiles(path)
        if not shapefiles:
            raise _no_shapefile(path)
        for member in shapefiles.values():
            signature.check_zip_member(path, member)
            _check_zipped_shapefile(path, member)
        return {name: (f"{target}/{member}", None) for name, member in shapefiles.items()}
    target = str(path)
    try:
        with gdal_guard.only(_gdal_format(path)):
            return {str(name): (target, str(name)) for name in pyogrio.list_layers(target)[:, 0]}
    except SourceError:
        raise
    except Exception as exc:  # GDAL's errors are many; all mean the same here
        raise _unreadable(path, 0, exc) from exc


def _no_shapefile(path: Path) -> SourceError:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = [m for m in archive.namelist() if not m.endswith("/")]
    except (OSError, zipfile.BadZipFile) as exc:
        return SourceError(f"{path.name} cannot be read as a zip file: {exc}")
    inner = [m for m in names if m.lower().endswith((".zip", ".kmz"))]
    if inner:
        return SourceError(f"{path.name} holds another zip ({inner[0]}) and no shapefile: unzip it "
                           "and load the file inside")
    listed = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return SourceError(f"{path.name} holds no shapefile (.shp) or KML ({listed or 'nothing'}): "
                       "zip the shapefile's parts (.shp .shx .dbf .prj), or load the file itself")


def _gdal_format(path: Path) -> str:
    """Which of gdal_guard's formats GDAL reads `path` as, by its content (checked against its
    extension and --format by the runner before any read)."""
    kind = signature.kind_of(path)
    formats = {"sqlite": "gpkg", "json": "geojson", "shp": "shp", "zip": "shp"}
    if kind not in formats:
        raise SourceError(f"{path.name} is not a vector file Truce reads: its content is "
                          f"{signature.KIND_NAMES[kind]}")
    return formats[kind]


def source_layers(path: Path) -> list[str]:
    """The names of the file's layers (a GeoPackage's tables, a zip's shapefiles, a KML's
    folders), as `read_vector(path, layer=...)` takes them."""
    return list(_sources(path))


def _layer_list(names: list[str]) -> str:
    return ", ".join(names[:20]) + (f" ... ({len(names)} in all)" if len(names) > 20 else "")


def no_such_layer(path: Path, layer: str, names: list[str]) -> SourceError:
    return SourceError(f"{path.name} has no layer {layer!r}; its layers: "
                       f"{_layer_list(names) or 'none'}")


def _layers(path: Path, layer: str | None) -> list[tuple[str, str | None]]:
    """What to read: the layer asked for; every folder of a KML (GDAL makes each a layer); the
    file's only layer. A file of several layers (a GeoPackage, a zip of shapefiles) is refused
    without a layer name, rather than one of them loaded and the others left out."""
    if layer is None and path.suffix.lower() in _SINGLE_LAYER_SUFFIXES:
        return [(str(path), None)]
    sources = _sources(path)
    if layer is not None:
        if layer not in sources:
            raise no_such_layer(path, layer, list(sources))
        return [sources[layer]]
    if len(sources) <= 1:
        return list(sources.values()) or [(str(path), None)]
    raise SourceError(f"{path.name} has {len(sources)} layers ({_layer_list(list(sources))}): "
                      "load one with `truce etl load --source-layer NAME`")


def read_vector(path: Path, layer: str | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per feature, numbered from 1 across the file, with WKB geometry and
    its SRID (4326 after reprojection of a non-EPSG CRS). `layer`: the one to read, by a name
    `source_layers` gives; without it, the file's only layer (every folder of a KML, in the
    file's order), and a file of several layers is refused. A file without a CRS (a Shapefile
    without .prj) is assumed lon/lat when its extent fits lon/lat, and refused otherwise. A file
    that breaks half-way raises SourceError after the features before it (the runner's
    transaction keeps none of them)."""
    _check_shapefile(path)
    _check_geopackage(path)
    if kml.is_kml(path):
        yield from _read_kml(path, layer)
        return
    if layer is None and path.suffix.lower() in (".json", ".geojson", *geojson.SEQUENCE_SUFFIXES):
        yield from _read_geojson(path)
        return
    number = 0
    for target, name in _layers(path, layer):
        for record in _read_layer(path, target, name, number):
            number = record.number
            yield record
    if geojson.is_sequence(path):
        geojson.check_sequence(path, number)


def _read_geojson(path: Path) -> Iterator[RawRecord]:
    """A GeoJSON sequence or a small FeatureCollection read in Python (geojson.py says why);
    a large FeatureCollection, or one with a `crs`, by GDAL."""
    fmt = _gdal_format(path)  # refuses a file that is not JSON inside
    sequence = geojson.is_sequence(path)
    if sequence:
        first = next(geojson.lines(path), None)
        if first is not None and not geojson.is_feature(first[1]):
            raise SourceError(f"{path.name} cannot be read as a vector file: its first line "
                              f"(line {first[0]}) is not a GeoJSON feature; export it again or "
                              "send the original file")
    said: str | None = None
    features: Any = None
    if sequence:
        features = geojson.sequence(geojson.lines(path), geojson.unterminated(path))
    elif fmt == "geojson" and (found := geojson.collection(path)) is not None:
        features, said = found
    if features is None:
        read = 0
        for record in _read_layer(path, str(path), None, 0):
            read = record.number
            yield record
        geojson.check_collection(path, read)
        return
    number = 0
    for geometries, _, columns in _batches(path, geojson.Reader(features, BATCH), "", 0):
        for wkb, fields in zip(geometries, columns[0], strict=True):
            number += 1
            if sequence and fields.get(UNTERMINATED) == CUT_FEATURE:
                said = (f"{path.name} ends inside its last feature ({number}): the file was "
                        "cut short; that feature is quarantined (truncated_record), the ones "
                        "before it are read, and any after it are missing: send the whole file")
            yield RawRecord(number=number, fields=fields, geometry_wkb=wkb, srid=4326)
    if sequence:
        geojson.check_sequence(path, number)
    if said:
        warnings.warn(said, SourceWarning, stacklevel=2)


def _read_kml(path: Path, layer: str | None) -> Iterator[RawRecord]:
    container = None
    if layer is not None:
        sources = _sources(path)
        if layer not in sources:
            raise no_such_layer(path, layer, list(sources))
        container = int(str(sources[layer][1]))
    number = 0
    for geometries, names, columns in _batches(path, kml.KmlReader(path, BATCH, container), "",
                                               0):
        for i, wkb in enumerate(geometries):
            number += 1
            yield RawRecord(number=number, fields={name: values[i] for name, values in
                                                   zip(names, columns, strict=True)},
                            geometry_wkb=wkb, srid=4326)


def _refuse_references(path: Path, before: int) -> None:
    """A file whose reading made GDAL ask for a URL (a GeoJSON `crs` of type `link`) is refused:
    the request was not made, and a CRS GDAL could not fetch is a CRS it guessed."""
    asked = gdal_guard.refused_requests()[before:]
    if asked:
        raise SourceError(f"{path.name} refers to {asked[0][:200]} (a CRS or file given by link); "
                          "Truce reads nothing outside the file: remove the reference and give "
                          "coordinates in lon/lat (EPSG:4326)")


# Each feature's values as written: an array is JSON text (not the whole column typed as a list,
# every other value wrapped in one), a date the string written (offset and fraction kept).
_GEOJSON_OPTIONS = {"ARRAY_AS_STRING": "YES", "DATE_AS_STRING": "YES"}


def _read_layer(path: Path, target: str, layer: str | None, before: int) -> Iterator[RawRecord]:
    with ExitStack() as stack:
        stack.enter_context(gdal_guard.only(_gdal_format(path)))
        refused = len(gdal_guard.refused_requests())
        try:
            meta, reader = stack.enter_context(pyogrio.raw.open_arrow(
                target, layer=layer, batch_size=BATCH, use_pyarrow=True,
                **(_GEOJSON_OPTIONS if _gdal_format(path) == "geojson" else {}),
                **dbf_encoding.open_options(path, target)))
        except Exception as exc:  # GDAL's errors are many; all mean the same here
            raise _unreadable(path, before, exc) from exc
        _refuse_references(path, refused)
        geometry = meta.get("geometry_name") or "wkb_geometry"
        crs = meta.get("crs")
        srid = _srid(crs)
        reproject: Callable[[bytes], bytes] | None = None
        if srid == 0:
            reproject, srid = _reprojector(str(crs)), 4326
        elif srid is None:
            bounds = (pyogrio.read_bounds(target, layer=layer)[1]
                      if meta.get("geometry_type") else None)
            if bounds is not None and bounds.size and not (
                    bounds[0].min() >= -180 and bounds[2].max() <= 180
                    and bounds[1].min() >= -90 and bounds[3].max() <= 90):
                raise SourceError(f"{path.name} has no CRS (.prj missing?) and its coordinates are "
                                  "not lon/lat: add the .prj file or reproject to EPSG:4326")
            srid = 4326  # GeoJSON's default; a Shapefile without .prj in lon/lat range
        number = before
        _refuse_references(path, refused)
        for geometries, names, columns in _batches(path, reader, geometry, before):
            for i, wkb in enumerate(geometries):
                # an unset field is None (the Arrow stream's null); a NaN is a NaN the file holds
                fields = {name: values[i] for name, values in zip(names, columns, strict=True)}
                if wkb is not None and reproject is not None:
                    wkb = reproject(wkb)
                number += 1
                yield RawRecord(number=number, fields=fields, geometry_wkb=wkb, srid=srid)


# what a reader adds to a record that the file does not hold as a field
_MARKERS = (geojson.UNREADABLE, "feature", kml.GEOMETRY_ERROR, UNTERMINATED)


def columns(path: Path, layer: str | None = None) -> list[str] | None:
    """The field names of a vector file's features, every name any feature has, in the order
    first met: what a mapping's columns are checked against before a run. GDAL's schema for
    the files it reads (a GeoPackage, a Shapefile, a large GeoJSON); one pass over the others
    (a KML, a GeoJSON sequence or small collection, whose features each have their own
    properties). None when the file cannot be read: the run says why."""
    suffix = path.suffix.lower()
    try:
        whole = kml.is_kml(path) or (layer is None and suffix in (
            ".json", ".geojson", *geojson.SEQUENCE_SUFFIXES) and (
                geojson.is_sequence(path) or path.stat().st_size <= geojson.MAX_COLLECTION_BYTES))
        if whole:
            names: dict[str, None] = {}
            read = 0
            with warnings.catch_warnings():  # the run says them
                warnings.simplefilter("ignore", SourceWarning)
                for record in read_vector(path, layer):
                    read += 1
                    names.update(dict.fromkeys(k for k in record.fields if k not in _MARKERS))
            return list(names) if read else None  # no feature: the run says it is empty
        found: dict[str, None] = {}
        with gdal_guard.only(_gdal_format(path)):
            for target, name in _layers(path, layer):
                info = pyogrio.read_info(target, layer=name,
                                         **dbf_encoding.open_options(path, target))
                found.update(dict.fromkeys(str(f) for f in info["fields"]))
        return list(found)
    except SourceError:
        return None
    except Exception:  # GDAL's errors are many: the run reads the file and says why
        return None
