"""Raster files: validate with rasterio, describe (bounds, CRS, resolution, band stats), and write a
Cloud-Optimised GeoTIFF with rio-cogeo. No DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds

from .tabular import SourceError

STATS_MAX_PIXELS = 4_000_000  # band stats on a decimated read above this size


def describe(path: Path) -> dict[str, Any]:
    """What the catalog records of a raster; SourceError if it is not a usable georeferenced one."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise SourceError(f"{path.name} has no CRS: georeference it (gdal_edit.py -a_srs)")
            if src.transform.is_identity:
                raise SourceError(f"{path.name} has no geotransform: it is not georeferenced")
            scale = max(1.0, (src.width * src.height / STATS_MAX_PIXELS) ** 0.5)
            shape = (max(1, int(src.height / scale)), max(1, int(src.width / scale)))
            stats: list[dict[str, float | int | None]] = []
            for band in range(1, src.count + 1):
                data = src.read(band, out_shape=shape, masked=True)
                valid = data.compressed()
                if valid.size:
                    stats.append({"band": band, "min": float(valid.min()),
                                  "max": float(valid.max()), "mean": float(valid.mean()),
                                  "std": float(np.std(valid)), "valid_fraction":
                                  float(valid.size / data.size)})
                else:
                    stats.append({"band": band, "min": None, "max": None, "mean": None,
                                  "std": None, "valid_fraction": 0.0})
            epsg = src.crs.to_epsg()
            minx, miny, maxx, maxy = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            return {
                "crs": f"EPSG:{epsg}" if epsg else src.crs.to_wkt(),
                "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy, "srid": 4326,
                "width": src.width, "height": src.height, "band_count": src.count,
                "dtype": src.dtypes[0], "resx": abs(src.res[0]), "resy": abs(src.res[1]),
                "nodata": float(src.nodata) if src.nodata is not None else None,
                "band_stats": stats,
            }
    except RasterioIOError as exc:
        raise SourceError(f"{path.name} cannot be read as a raster: {exc}") from exc


def to_cog(path: Path, target: Path) -> Path:
    """Write `path` as a COG (deflate, internal overviews) to `target`, via a temporary file."""
    from rio_cogeo.cogeo import cog_translate, cog_validate
    from rio_cogeo.profiles import cog_profiles

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.tif")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        cog_translate(str(path), str(partial), cog_profiles.get("deflate"), quiet=True,
                      in_memory=False)
    valid, errors, _warnings = cog_validate(str(partial))
    if not valid:
        partial.unlink(missing_ok=True)
        raise SourceError(f"{path.name}: the COG written is not valid: {errors}")
    partial.replace(target)
    return target
