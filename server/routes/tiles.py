"""Vector tiles (OGC API - Tiles, WebMercatorQuad) built by ST_AsMVT: per collection, all
layers in one tile for the viewer, TileJSON and tileset metadata."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.deps import (
    SessionDep,
    SettingsDep,
    base_url,
    extents_of,
    policy_of,
    settings_of,
    tile_cache_of,
)
from server.errors import NotFoundError
from server.queries.versions import LayerVersion
from server.routes import caching
from server.routes.query_params import (
    MultiTileDep,
    MultiTileParams,
    TileDep,
    TileParams,
    layers_of,
)
from server.security.dependencies import (
    KEY_SECURITY,
    PrincipalDep,
    presented_key,
    principal_and_version,
    principal_for,
    remembered,
    vary_by_key,
)
from server.security.principal import Principal
from server.security.release import cache_key, release_for
from server.services import features
from server.services import tiles as service
from server.settings import Settings

router = APIRouter(tags=["tiles"])
MVT = service.MVT
TILE_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
_TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}}, 204: {"description": "empty tile"},
    304: {"description": "not modified (If-None-Match)"}}


def _cap(c: Collection, settings: Settings) -> int:
    return settings.api.tile_point_cap if c.is_point else settings.api.tile_feature_cap


def _tile_headers(request: Request, vers: list[LayerVersion],
                  principal: Principal) -> tuple[str, dict[str, str]]:
    tag = caching.etag(request, vers, cache_key(principal))
    return tag, vary_by_key(principal, caching.headers_for(vers, tag, TILE_CACHE_CONTROL))


def _tile_response(request: Request, data: bytes, vers: list[LayerVersion],
                   principal: Principal, started: float) -> Response:
    """The tile (204 when empty) with its validators and `Server-Timing: tile;dur=` (ms spent
    building it here, from the tile cache or the database), which browsers show next to the
    network time."""
    _, headers = _tile_headers(request, vers, principal)
    headers["Server-Timing"] = f"tile;dur={(time.perf_counter() - started) * 1000:.1f}"
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            response_class=Response, responses=_TILE_RESPONSES, openapi_extra=KEY_SECURITY,
            summary="A vector tile (tileMatrix/tileRow/tileCol); 204 when empty")
async def get_tile(request: Request, tile: TileDep) -> Response:
    """ONE worker-thread hop (no per-dependency hops) on the autocommit read pool: the key and
    the layer version in one statement, then the tile (or the tile cache)."""
    return await run_in_threadpool(_tile_reply, request, tile, presented_key(request))


def _tile_reply(request: Request, tile: TileParams, raw_key: str | None) -> Response:
    started = time.perf_counter()
    settings, c = settings_of(request), tile.collection
    with request.app.state.read_sessionmaker() as session:
        principal, ver = principal_and_version(raw_key, c, session=session)  # 401 first
        remembered(request, raw_key, principal)
        tile.checked()
        tag, headers = _tile_headers(request, [ver], principal)
        if (cached := caching.not_modified(request, tag, headers)) is not None:
            return cached
        rel = release_for(principal, c.id, policy_of(request), alias="t")
        data = service.layer_tile(c, ver, tile.z, tile.x, tile.y, tile.query, tile.filter_key,
                                  rel, cache_key(principal), cap=_cap(c, settings),
                                  cache=tile_cache_of(request), session=session)
    return _tile_response(request, data, [ver], principal, started)


@router.get("/tiles/WebMercatorQuad/{z}/{y}/{x}", response_class=Response,
            responses=_TILE_RESPONSES, openapi_extra=KEY_SECURITY,
            summary="All (or the chosen) collections in one vector tile, one layer each, with "
                    "per-layer filters")
async def get_multi_tile(request: Request, tile: MultiTileDep) -> Response:
    """One request for every layer of a map view (fewer round trips than a source per layer).
    Per-layer filters are `{collection}.{name}` parameters: a property (e.g.
    `incidents.event_type=shelling`, `admin_areas.admin_level=1`) or `{collection}.filter` and
    `{collection}.filter-lang` (CQL2). Each layer is built, released and cached exactly as on
    `/collections/{id}/tiles` with the same filters. ONE worker-thread hop on the autocommit
    read pool: the key, then every layer's version in one statement, then the layers' tiles."""
    return await run_in_threadpool(_multi_tile_reply, request, tile, presented_key(request))


def _multi_tile_reply(request: Request, tile: MultiTileParams, raw_key: str | None) -> Response:
    started = time.perf_counter()
    settings = settings_of(request)
    with request.app.state.read_sessionmaker() as session:
        principal = remembered(request, raw_key,
                               principal_for(raw_key, session=session))  # 401 first
        tile.checked()
        vers = features.versions_of(tile.layers, session=session)
        tag, headers = _tile_headers(request, vers, principal)
        if (cached := caching.not_modified(request, tag, headers)) is not None:
            return cached
        cache, policy = tile_cache_of(request), policy_of(request)
        parts = []
        for c, ver, (query, key) in zip(tile.layers, vers, tile.queries, strict=True):
            parts.append(service.layer_tile(c, ver, tile.z, tile.x, tile.y, query, key,
                                            release_for(principal, c.id, policy, alias="t"),
                                            cache_key(principal), cap=_cap(c, settings),
                                            cache=cache, session=session))
    return _tile_response(request, b"".join(parts), vers, principal, started)


@router.get("/collections/{collection_id}/tiles", summary="The collection's tilesets")
def get_tilesets(collection_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    c = features.collection(collection_id)
    ts = service.tileset(c, base=base_url(request), max_zoom=settings.api.tile_max_zoom)
    return {"tilesets": [{"title": ts["title"], "dataType": "vector", "crs": ts["crs"],
                          "tileMatrixSetURI": service.TMS,
                          "links": [{"rel": "self", "type": "application/json",
                                     "href": ts["links"][0]["href"]}, *ts["links"][1:]]}],
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{base_url(request)}/collections/{c.id}/tiles"}]}


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad",
            summary="Tileset metadata (OGC API - Tiles)")
def get_tileset(collection_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    return service.tileset(features.collection(collection_id), base=base_url(request),
                           max_zoom=settings.api.tile_max_zoom)


def _bounds(layers: list[Collection], request: Request, session: Session,
            principal: Principal) -> list[float] | None:
    """The bounds of what the caller's key may see of `layers` (None: nothing to see)."""
    policy, extents = policy_of(request), extents_of(request)
    boxes = []
    for c in layers:
        rel = release_for(principal, c.id, policy, alias="t")
        box = extents.get(c, rel, cache_key(principal), session=session)["bbox"]
        if box:
            boxes.append(box)
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]


@router.get("/collections/{collection_id}/tiles.json",
            summary="TileJSON 3.0 for a collection (bounds of what the caller's key may see)")
def get_tilejson(collection_id: str, request: Request, response: Response, session: SessionDep,
                 settings: SettingsDep, principal: PrincipalDep) -> dict[str, Any]:
    c = features.collection(collection_id)
    base = base_url(request)
    response.headers.update(vary_by_key(principal, {}))
    return service.tilejson([c], name=c.id,
                            bounds=_bounds([c], request, session, principal),
                            max_zoom=settings.api.tile_max_zoom,
                            tiles_url=f"{base}/collections/{c.id}/tiles/WebMercatorQuad/"
                                      "{z}/{y}/{x}")


@router.get("/tiles.json", summary="TileJSON 3.0 for the multi-layer tiles (bounds of what the "
                                   "caller's key may see)")
def get_multi_tilejson(request: Request, response: Response, session: SessionDep,
                       settings: SettingsDep, principal: PrincipalDep,
                       collections: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    layers = layers_of(collections)
    suffix = f"?collections={','.join(c.id for c in layers)}" if collections else ""
    response.headers.update(vary_by_key(principal, {}))
    return service.tilejson(layers, name="truce",
                            bounds=_bounds(layers, request, session, principal),
                            max_zoom=settings.api.tile_max_zoom,
                            tiles_url=f"{base_url(request)}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
                                      + suffix)


@router.get("/tiles", summary="Tilesets of the whole dataset (all layers in one tile)")
def get_dataset_tilesets(request: Request) -> dict[str, Any]:
    base = base_url(request)
    return {"tilesets": [{
        "title": "All layers", "dataType": "vector", "tileMatrixSetURI": service.TMS,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "links": [{"rel": "item", "type": MVT, "templated": True,
                   "href": f"{base}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"},
                  service.scheme_link(base),
                  {"rel": "alternate", "type": "application/json", "title": "TileJSON",
                   "href": f"{base}/tiles.json"}]}],
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/tiles"}]}


@router.get("/tileMatrixSets", summary="The tiling schemes of the tiles (OGC API - Tiles)")
def get_tile_matrix_sets(request: Request) -> dict[str, Any]:
    return service.tile_matrix_sets(base=base_url(request))


@router.get("/tileMatrixSets/{tile_matrix_set_id}",
            summary="A tiling scheme (OGC Two Dimensional Tile Matrix Set 2.0, JSON)")
def get_tile_matrix_set(tile_matrix_set_id: str, request: Request) -> dict[str, Any]:
    if tile_matrix_set_id != "WebMercatorQuad":
        raise NotFoundError(f"no tile matrix set {tile_matrix_set_id!r}; see /tileMatrixSets",
                            tileMatrixSets=["WebMercatorQuad"])
    return service.tile_matrix_set(base=base_url(request))
