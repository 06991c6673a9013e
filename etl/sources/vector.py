"""Vector files through GDAL (pyogrio): GeoJSON, GeoPackage, Shapefile (zipped or not), KML."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyogrio

from etl.records import RawRecord

from .tabular import SourceError


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


def _check_shapefile(path: Path) -> None:
    if path.suffix.lower() != ".shp":
        return
    if not path.with_suffix(".dbf").exists() and not path.with_suffix(".DBF").exists():
        raise SourceError(f"{path.name}: the .dbf file (the attributes) is missing next to it; "
                          "copy all the shapefile's parts (.shp .shx .dbf .prj)")


# Formats GDAL re-opens cheaply at feature n are read BATCH features at a time, so a file larger
# than memory loads; GDAL parses a GeoJSON or KML document whole on opening, so those are read once.
BATCH = 50_000
_BATCHED = (".gpkg", ".shp", ".zip")


def _count(geometries: Any, columns: Any) -> int:
    return len(geometries) if geometries is not None else (len(columns[0]) if columns else 0)


def _batches(path: Path, target: str, layer: str | None) -> Iterator[tuple[Any, Any, Any]]:
    """(meta, geometries, columns) per batch; the first batch always comes (it carries meta)."""
    batched = path.suffix.lower() in _BATCHED
    skip = 0
    while True:
        try:
            meta, _fids, geometries, columns = pyogrio.raw.read(
                target, layer=layer, **({"skip_features": skip, "max_features": BATCH}
                                        if batched else {}))
        except Exception as exc:  # GDAL's errors are many; all mean the same here
            raise SourceError(f"{path.name} cannot be read as a vector file"
                              f"{f' after feature {skip}' if skip else ''}: {exc}") from exc
        count = _count(geometries, columns)
        if count or not skip:
            yield meta, geometries, columns
        if not batched or count < BATCH:
            return
        skip += count


def read_vector(path: Path, layer: str | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per feature, with WKB geometry and its SRID (4326 after reprojection
    of a non-EPSG CRS). A file without a CRS (a Shapefile without .prj) is assumed lon/lat when its
    extent fits lon/lat, and refused otherwise."""
    _check_shapefile(path)
    target = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    batches = _batches(path, target, layer)
    meta, geometries, columns = next(batches)
    crs = meta.get("crs")
    srid = _srid(crs)
    reproject: Callable[[bytes], bytes] | None = None
    if srid == 0:
        reproject, srid = _reprojector(str(crs)), 4326
    elif srid is None:
        bounds = pyogrio.read_bounds(target, layer=layer)[1] if geometries is not None else None
        if bounds is not None and bounds.size and not (
                bounds[0].min() >= -180 and bounds[2].max() <= 180
                and bounds[1].min() >= -90 and bounds[3].max() <= 90):
            raise SourceError(f"{path.name} has no CRS (.prj missing?) and its coordinates are not "
                              "lon/lat: add the .prj file or reproject to EPSG:4326")
        srid = 4326  # GeoJSON's default; a Shapefile without .prj in lon/lat range
    names = [str(n) for n in meta["fields"]]
    number = 0
    while True:
        for i in range(_count(geometries, columns)):
            fields = {}
            for name, values in zip(names, columns, strict=True):
                value = values[i]
                if hasattr(value, "tolist"):  # numpy scalars and list fields (GeoJSON arrays)
                    value = value.tolist()
                if value != value:  # NaN: GDAL's unset float field (it is no JSON value either)
                    value = None
                fields[name] = value
            wkb = geometries[i] if geometries is not None else None
            if wkb is not None and reproject is not None:
                wkb = reproject(wkb)
            number += 1
            yield RawRecord(number=number, fields=fields, geometry_wkb=wkb, srid=srid)
        try:
            _meta, geometries, columns = next(batches)
        except StopIteration:
            return
