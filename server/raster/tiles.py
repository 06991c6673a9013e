"""Raster tiles with rio-tiler: COG/GeoTIFF in, PNG/WebP bytes out. Knows nothing of DB or HTTP."""

from __future__ import annotations

from pathlib import Path

import rasterio
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader


class OutsideBoundsError(ValueError):
    pass


def tile(path: Path, z: int, x: int, y: int, *, fmt: str = "PNG", size: int = 256) -> bytes:
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), Reader(str(path)) as src:
        try:
            image = src.tile(x, y, z, tilesize=size)
        except TileOutsideBounds as exc:
            raise OutsideBoundsError(str(exc)) from exc
        return bytes(image.render(img_format=fmt))


def bounds(path: Path) -> tuple[float, float, float, float]:
    with Reader(str(path)) as src:
        b = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        return (b[0], b[1], b[2], b[3])
