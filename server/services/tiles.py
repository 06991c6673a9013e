"""Vector tiles: one layer or several in one tile, a bounded in-process cache keyed by the
layers' data versions (a write to a layer makes its old tiles unreachable and evicts them), and
TileJSON / OGC tileset metadata. No SQL, no FastAPI."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.errors import NotFoundError
from server.queries import tiles as q
from server.queries.features import ItemQuery
from server.queries.versions import LayerVersion
from server.security.release import Release

TMS = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
#: the matrices WebMercatorQuad defines (OGC 17-083r4, 2DTMS 2.0 annex D.1)
TMS_MAX_ZOOM = 24
_ORIGIN = 20037508.3427892  # metres: half the world's width in EPSG:3857
#: where each layer's data comes from (TileJSON `attribution`)
ATTRIBUTION = {
    "incidents": "Incidents: UCDP GED, ACLED and partner reports",
    "agreement_areas": "Agreement areas: Truce partners",
    "aid_deliveries": "Aid deliveries: Truce partners",
    "settlements": "Places: GeoNames",
    "admin_areas": "Boundaries: OCHA/UNCS COD-AB",
}


def tile_matrix_set(*, base: str) -> dict[str, Any]:
    """WebMercatorQuad as an OGC Two Dimensional Tile Matrix Set 2.0 JSON document, served
    locally (a client offline cannot read schemas.opengis.net)."""
    return {
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": TMS,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {"lowerLeft": [-_ORIGIN, -_ORIGIN], "upperRight": [_ORIGIN, _ORIGIN],
                        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
        "tileMatrices": [
            {"id": str(z), "scaleDenominator": 559082264.028717 / 2**z,
             "cellSize": 156543.033928041 / 2**z, "cornerOfOrigin": "topLeft",
             "pointOfOrigin": [-_ORIGIN, _ORIGIN], "tileWidth": 256, "tileHeight": 256,
             "matrixWidth": 2**z, "matrixHeight": 2**z}
            for z in range(TMS_MAX_ZOOM + 1)
        ],
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base}/tileMatrixSets/WebMercatorQuad"}],
    }


def tile_matrix_sets(*, base: str) -> dict[str, Any]:
    return {"tileMatrixSets": [{
        "id": "WebMercatorQuad", "title": "Google Maps Compatible for the World", "uri": TMS,
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base}/tileMatrixSets/WebMercatorQuad"}]}]}


def scheme_link(base: str) -> dict[str, Any]:
    return {"rel": TILING_SCHEME, "type": "application/json",
            "href": f"{base}/tileMatrixSets/WebMercatorQuad"}


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
    """404 (OGC API - Tiles) for a tile outside the matrix set or its limits (z > max_zoom)."""
    if z > max_zoom:
        raise NotFoundError(f"no tile {z}/{y}/{x}: tileMatrix is at most {max_zoom} "
                            "(see tileMatrixSetLimits)", max_zoom=max_zoom)
    if x >= 2**z or y >= 2**z:
        raise NotFoundError(f"no tile {z}/{y}/{x}: it is outside the WebMercatorQuad matrix "
                            f"{z} (rows and columns 0 to {2**z - 1})")


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


def _center(bounds: list[float], max_zoom: int) -> list[float]:
    """[lon, lat, zoom]: the middle of `bounds`, at the zoom that about fits them in a tile."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-6)
    zoom = max(0, min(max_zoom, int(math.log2(360 / span))))
    return [round((bounds[0] + bounds[2]) / 2, 7), round((bounds[1] + bounds[3]) / 2, 7), zoom]


def tilejson(collections: list[Collection], *, tiles_url: str, bounds: list[float] | None,
             max_zoom: int, name: str) -> dict[str, Any]:
    box = bounds or [-180.0, -85.0511, 180.0, 85.0511]
    return {
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "attribution": " · ".join(ATTRIBUTION.get(c.id, c.title) for c in collections),
        "minzoom": 0,
        "maxzoom": max_zoom,
        "bounds": box,
        "center": _center(box, max_zoom),
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
            scheme_link(base),
            {"rel": "alternate", "type": "application/json",
             "title": "TileJSON", "href": f"{base}/collections/{c.id}/tiles.json"},
        ],
    }
