"""Raster tiles with rio-tiler: COG/GeoTIFF in, PNG/WebP bytes out, with optional rescaling and a
named colormap (rio-tiler's). Knows nothing of DB or HTTP."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import rasterio
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

ENV = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
Range = tuple[float, float]


class OutsideBoundsError(ValueError):
    pass


class BadStyleError(ValueError):
    """An unknown colormap name or an unusable rescale range."""


def colormaps() -> list[str]:
    return sorted(cmap.list())


def check_style(rescale: list[Range] | None, colormap_name: str | None) -> None:
    if colormap_name is not None and colormap_name not in cmap.list():
        raise BadStyleError(f"unknown colormap_name {colormap_name!r}")
    for low, high in rescale or []:
        if not low < high:
            raise BadStyleError(f"rescale range {low},{high} must have min < max")


@lru_cache(maxsize=64)
def _default_range(path: str, mtime: float) -> tuple[Range, ...]:
    """The 2nd-98th percentile of each band from an overview (once per file version)."""
    with rasterio.Env(**ENV), Reader(path) as src:
        stats = src.statistics(max_size=512, percentiles=[2, 98])
    out = []
    for band in stats.values():
        low, high = float(band.percentile_2), float(band.percentile_98)
        out.append((low, high if high > low else low + 1.0))
    return tuple(out)


def default_range(path: Path) -> list[Range]:
    return list(_default_range(str(path), path.stat().st_mtime))


def tile(path: Path, z: int, x: int, y: int, *, fmt: str = "PNG", size: int = 256,
         rescale: list[Range] | None = None, colormap_name: str | None = None) -> bytes:
    """An XYZ tile. Non-byte data (or a colormap) without `rescale` is stretched over the
    file's 2nd-98th percentiles, so population counts render without hand-picked ranges."""
    check_style(rescale, colormap_name)
    with rasterio.Env(**ENV), Reader(str(path)) as src:
        try:
            image = src.tile(x, y, z, tilesize=size, indexes=1 if colormap_name else None)
        except TileOutsideBounds as exc:
            raise OutsideBoundsError(str(exc)) from exc
        if rescale is None and (colormap_name or image.data.dtype.name != "uint8"):
            rescale = default_range(path)[: image.count]
        if rescale:
            image = image.rescale(in_range=rescale)
        colormap = cmap.get(colormap_name) if colormap_name else None
        return bytes(image.render(img_format=fmt, colormap=colormap))


def bounds(path: Path) -> tuple[float, float, float, float]:
    stat = path.stat()  # read once per version of the file (every TileJSON asks)
    return _bounds(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _bounds(path: str, size: int, mtime_ns: int) -> tuple[float, float, float, float]:
    with rasterio.Env(**ENV), Reader(path) as src:
        b = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        return (b[0], b[1], b[2], b[3])


def zooms(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return _zooms(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _zooms(path: str, size: int, mtime_ns: int) -> tuple[int, int]:
    with rasterio.Env(**ENV), Reader(path) as src:
        return int(src.minzoom), int(src.maxzoom)


class RenderedTiles:
    """Rendered tiles kept in memory, least recently used dropped past `max_bytes`, keyed by
    everything that shapes a tile (the file's path, size and modification time, the tile, the
    format and the style): an edited file gets new keys. `etag` is the key's digest, so a
    client's If-None-Match is answered without rendering. b"" is an empty tile (204)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._tiles: OrderedDict[str, bytes] = OrderedDict()

    @staticmethod
    def key(path: Path, z: int, x: int, y: int, fmt: str, rescale: list[Range] | None,
            colormap_name: str | None) -> str:
        stat = path.stat()
        return repr((str(path), stat.st_size, stat.st_mtime_ns, z, x, y, fmt, rescale,
                     colormap_name))

    @staticmethod
    def etag(key: str) -> str:
        return f'"{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"'

    def get(self, key: str) -> bytes | None:
        found = self._tiles.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._tiles.move_to_end(key)
        return found

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        old = self._tiles.pop(key, None)
        self.size += len(data) - (len(old) if old is not None else 0)
        self._tiles[key] = data
        while self.size > self.max_bytes:
            _, dropped = self._tiles.popitem(last=False)
            self.size -= len(dropped)
