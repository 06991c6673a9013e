"""Vector files through GDAL (pyogrio): GeoJSON, GeoPackage, Shapefile (zipped or not), KML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyogrio

from etl.records import RawRecord

from .tabular import SourceError


def _srid(crs: str | None) -> int:
    if not crs:
        return 4326  # GeoJSON's default (CRS84); a Shapefile without .prj is assumed lon/lat
    if crs.upper().startswith("EPSG:"):
        return int(crs.split(":")[1])
    if "CRS84" in crs.upper():
        return 4326
    raise SourceError(f"unsupported CRS {crs[:80]!r}: reproject the file to an EPSG CRS")


def read_vector(path: Path, layer: str | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per feature, with WKB geometry and the file's SRID."""
    target = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        meta, _fids, geometries, columns = pyogrio.raw.read(target, layer=layer)
    except Exception as exc:  # GDAL's errors are many; all mean the same here
        raise SourceError(f"{path.name} cannot be read as a vector file: {exc}") from exc
    srid = _srid(meta.get("crs"))
    names = [str(n) for n in meta["fields"]]
    count = len(geometries) if geometries is not None else (len(columns[0]) if columns else 0)
    for i in range(count):
        fields = {}
        for name, values in zip(names, columns, strict=True):
            value = values[i]
            if hasattr(value, "tolist"):  # numpy scalars and list fields (GeoJSON arrays)
                value = value.tolist()
            fields[name] = value
        wkb = geometries[i] if geometries is not None else None
        yield RawRecord(number=i + 1, fields=fields, geometry_wkb=wkb, srid=srid)
