"""Vector tiles: one layer or several in one tile, a bounded in-process cache keyed by the
layers' data versions (a write to a layer makes its old tiles unreachable and evicts them), and
TileJSON / OGC tileset metadata. No SQL, no FastAPI."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.errors import InvalidQueryError
from server.queries import tiles as q
from server.queries.features import ItemQuery
from server.queries.versions import LayerVersion
from server.security.release import Release

TMS = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"


class TileCache:
    """LRU of tile bytes bounded by total size; keys carry the layer version."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        if self.max_bytes <= 0 or len(value) > self.max_bytes // 8:
            return
        layer, version = key[0], key[1]
        with self._lock:
            if self._versions.get(layer, version) != version:  # the layer changed: evict
                for old in [k for k in self._data if k[0] == layer and k[1] != version]:
                    self._size -= len(self._data.pop(old))
            self._versions[layer] = version
            if key in self._data:
                return
            self._data[key] = value
            self._size += len(value)
            while self._size > self.max_bytes and self._data:
                _, dropped = self._data.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0


def check_tile(z: int, x: int, y: int, max_zoom: int) -> None:
    if z > max_zoom:
        raise InvalidQueryError(f"zoom must be at most {max_zoom}")
    if x >= 2**z or y >= 2**z:
        raise InvalidQueryError(f"tile {z}/{y}/{x} is outside the WebMercatorQuad matrix")


def layer_tile(c: Collection, ver: LayerVersion, z: int, x: int, y: int, query: ItemQuery,
               filter_key: str, rel: Release, release_key: str, *, cap: int,
               cache: TileCache | None, session: Session) -> bytes:
    """One layer's tile as `rel` releases it; cached under the caller's `release_key` (see
    server.security.release.cache_key), so no principal is served another's tile."""
    key = (c.id, ver.version, z, x, y, filter_key, cap,
           "all" if rel.unrestricted else release_key)
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    data = q.mvt_tile(c, z, x, y, query, rel, cap=cap, session=session)
    if cache is not None:
        cache.put(key, data)
    return data


def tilejson(collections: list[Collection], *, tiles_url: str, bounds: list[float] | None,
             max_zoom: int, name: str) -> dict[str, Any]:
    return {
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": max_zoom,
        "bounds": bounds or [-180.0, -85.0511, 180.0, 85.0511],
        "vector_layers": [
            {"id": c.id, "description": c.description, "minzoom": 0, "maxzoom": max_zoom,
             "fields": {p: kind for p, kind in c.properties.items()
                        if kind != "array" and p not in q.SKIP_PROPERTIES}
             | ({"point_count": "integer"} if c.is_point else {})}
            for c in collections
        ],
    }


def tileset(c: Collection, *, base: str, max_zoom: int) -> dict[str, Any]:
    href = f"{base}/collections/{c.id}/tiles/WebMercatorQuad"
    return {
        "title": f"{c.title} (vector tiles)",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS,
        "tileMatrixSetLimits": [{"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": 2**z - 1,
                                 "minTileCol": 0, "maxTileCol": 2**z - 1}
                                for z in range(0, max_zoom + 1)],
        "layers": [{"id": c.id, "dataType": "vector", "geometryType":
                    "points" if c.is_point else "polygons"}],
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "item", "type": MVT, "templated": True,
             "href": f"{href}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json",
             "href": "https://schemas.opengis.net/tms/2.0/json/examples/tilematrixset/"
                     "WebMercatorQuad.json"},
            {"rel": "alternate", "type": "application/json",
             "title": "TileJSON", "href": f"{base}/collections/{c.id}/tiles.json"},
        ],
    }
