"""Vector basemaps from PMTiles files: the one shipped with the viewer and those an operator adds
with `truce basemap add` (copied into settings.basemap.directory). Pure file reading, no database.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader  # type: ignore[import-untyped]
from pmtiles.tile import Compression, TileType  # type: ignore[import-untyped]

#: The basemap built from the project's own data (tools/basemap/build.py), under the web dir.
SHIPPED = "region"
SHIPPED_FILE = Path("basemap") / "truce-region.pmtiles"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAGIC = b"PMTiles"


class BasemapFileError(ValueError):
    """The file is not a usable PMTiles basemap; the message says why."""


@dataclass(frozen=True)
class Basemap:
    name: str
    path: Path
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    attribution: str
    vector_layers: tuple[str, ...]
    shipped: bool


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            head = f.read(127)
            if len(head) < 127 or not head.startswith(MAGIC):
                raise BasemapFileError(f"{path.name} is not a PMTiles file (no PMTiles header)")
            if head[7] != 3:
                raise BasemapFileError(f"{path.name} is PMTiles version {head[7]}; version 3 is needed")
            reader = Reader(MmapSource(f))
            header: dict[str, Any] = reader.header()
            metadata: dict[str, Any] = reader.metadata()
    except OSError as exc:
        raise BasemapFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (ValueError, KeyError, IndexError, EOFError, gzip.BadGzipFile) as exc:
        if isinstance(exc, BasemapFileError):
            raise
        raise BasemapFileError(f"{path.name} is a damaged PMTiles file ({exc})") from exc
    if header["tile_type"] != TileType.MVT:
        kind = getattr(header["tile_type"], "name", str(header["tile_type"])).lower()
        raise BasemapFileError(f"{path.name} holds {kind} tiles; a basemap must hold vector tiles (MVT)")
    return {"header": header, "metadata": metadata}


def describe(name: str, path: Path, *, shipped: bool = False) -> Basemap:
    """Check a PMTiles file and say what it holds (BasemapFileError when it is not usable)."""
    info = _read_header(path)
    h, meta = info["header"], info["metadata"]
    layers = meta.get("vector_layers")
    if layers is None and isinstance(meta.get("json"), str):  # MBTiles-style metadata
        try:
            layers = json.loads(meta["json"]).get("vector_layers")
        except ValueError:
            layers = None
    ids = tuple(str(layer.get("id")) for layer in layers or () if isinstance(layer, dict))
    return Basemap(
        name=name, path=path, min_zoom=int(h["min_zoom"]), max_zoom=int(h["max_zoom"]),
        bounds=(h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7),
        center=(h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, int(h["center_zoom"])),
        attribution=str(meta.get("attribution") or meta.get("description") or ""),
        vector_layers=ids, shipped=shipped)


def shipped(web_dir: str | None) -> Basemap | None:
    """The basemap shipped with the viewer, when the web dir has a usable one."""
    path = Path(web_dir or "") / SHIPPED_FILE
    if not web_dir or not path.is_file():
        return None
    try:
        return describe(SHIPPED, path, shipped=True)
    except BasemapFileError:
        return None


def catalogue(web_dir: str | None, directory: str) -> dict[str, Basemap]:
    """The shipped basemap (when the web dir has it) and every valid file in `directory`."""
    out: dict[str, Basemap] = {}
    if web_dir and (Path(web_dir) / SHIPPED_FILE).is_file():
        out[SHIPPED] = describe(SHIPPED, Path(web_dir) / SHIPPED_FILE, shipped=True)
    folder = Path(directory)
    if folder.is_dir():
        for path in sorted(folder.glob("*.pmtiles")):
            if NAME.match(path.stem) and path.stem != SHIPPED:
                try:
                    out[path.stem] = describe(path.stem, path)
                except BasemapFileError:
                    continue
    return out


_readers: dict[tuple[str, float], tuple[Any, Reader]] = {}
_lock = threading.Lock()


def tile(basemap: Basemap, z: int, x: int, y: int) -> bytes | None:
    """The tile's MVT bytes, uncompressed (None when the file has no such tile)."""
    key = (str(basemap.path), basemap.path.stat().st_mtime)
    with _lock:
        entry = _readers.get(key)
        if entry is None:
            f = basemap.path.open("rb")
            entry = (f, Reader(MmapSource(f)))
            _readers[key] = entry
        data: bytes | None = entry[1].get(z, x, y)
        compression = entry[1].header()["tile_compression"]
    if data is None:
        return None
    if compression == Compression.GZIP or data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return data


#: the layers of the shipped basemap a document (the situation-report map) draws, bottom to top
DOCUMENT_LAYERS = ("countries", "water", "rivers", "governorates", "borders", "places")


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """The x and y tile numbers (first x, first y, last x, last y) covering `bounds` at zoom z."""
    n = 2**z

    def tx(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def ty(lat: float) -> int:
        lat = max(-85.05, min(85.05, lat))
        y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
        return min(n - 1, max(0, int(y)))

    minx, miny, maxx, maxy = bounds
    return tx(minx), ty(maxy), tx(maxx), ty(miny)


def features_in(basemap: Basemap, bounds: tuple[float, float, float, float], *,
                layers: tuple[str, ...] = DOCUMENT_LAYERS, max_tiles: int = 9
                ) -> dict[str, list[dict[str, Any]]]:
    """The basemap's features around `bounds` (minx, miny, maxx, maxy in lon/lat) as GeoJSON
    features per layer, from the deepest zoom whose tiles over the bounds number at most
    `max_tiles`. Lines and polygons come cut at tile edges (drawn without outlines they join);
    a point in two tiles' buffers is kept once."""
    import mapbox_vector_tile  # type: ignore[import-untyped]

    z = basemap.max_zoom
    while z > basemap.min_zoom:
        x0, y0, x1, y1 = _tile_range(bounds, z)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles:
            break
        z -= 1
    x0, y0, x1, y1 = _tile_range(bounds, z)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in layers}
    seen: set[tuple[str, str]] = set()
    n = 2**z
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            data = tile(basemap, z, x, y)
            if not data:
                continue

            def lonlat(px: float, py: float, x: int = x, y: int = y, extent: int = 4096
                       ) -> tuple[float, float]:
                lon = (x + px / extent) / n * 360.0 - 180.0
                lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / extent) / n))))
                return round(lon, 5), round(lat, 5)

            decoded = mapbox_vector_tile.decode(
                data, default_options={"y_coord_down": True, "transformer": lonlat})
            for name in layers:
                for feature in decoded.get(name, {}).get("features", []):
                    geometry, props = feature["geometry"], feature.get("properties") or {}
                    if geometry["type"] == "Point":
                        key = (name, f"{props.get('name_en')}@{geometry['coordinates']}")
                        if key in seen:
                            continue
                        seen.add(key)
                    out[name].append({"type": "Feature", "geometry": geometry,
                                      "properties": props})
    return out
