"""Vector tiles (OGC API - Tiles, WebMercatorQuad) built by ST_AsMVT: per collection, all
layers in one tile for the viewer, TileJSON and tileset metadata."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS, Collection
from server.deps import SessionDep, SettingsDep
from server.errors import InvalidQueryError, NotFoundError
from server.params import DATETIME, parse_datetime
from server.queries.features import ItemQuery
from server.queries.versions import LayerVersion
from server.routes import caching
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
from server.security.release import cache_key, policy_from, release_for
from server.services import cql2, features
from server.services import tiles as service
from server.settings import Settings

router = APIRouter(tags=["tiles"])
MVT = service.MVT
TILE_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
_TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}}, 204: {"description": "empty tile"},
    304: {"description": "not modified (If-None-Match)"}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _cache(request: Request, settings: Settings) -> service.TileCache:
    cache = getattr(request.app.state, "tile_cache", None)
    if cache is None:
        cache = service.TileCache(settings.api.tile_cache_mb * 1024 * 1024)
        request.app.state.tile_cache = cache
    return cache  # type: ignore[no-any-return]


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
async def get_tile(
    collection_id: str,
    request: Request,
    z: Annotated[int, Path(ge=0, description="tileMatrix (zoom); 404 beyond the limits")],
    y: Annotated[int, Path(ge=0, description="tileRow")],
    x: Annotated[int, Path(ge=0, description="tileCol")],
    datetime: Annotated[str | None, Query(description="instant or interval",
                                          json_schema_extra=DATETIME)] = None,
    filter: Annotated[str | None, Query(description="a CQL2 filter")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang")] = None,
) -> Response:
    """ONE worker-thread hop (no per-dependency hops) on the autocommit read pool: the key and
    the layer version in one statement, then the tile (or the tile cache)."""
    return await run_in_threadpool(_tile_reply, request, collection_id, z, y, x, datetime,
                                   filter, filter_lang, presented_key(request))


def _tile_reply(request: Request, collection_id: str, z: int, y: int, x: int,
                datetime: str | None, filter: str | None, filter_lang: str | None,
                raw_key: str | None) -> Response:
    started = time.perf_counter()
    settings: Settings = request.app.state.settings
    with request.app.state.read_sessionmaker() as session:
        c = features.collection(collection_id)
        principal, ver = principal_and_version(raw_key, c, session=session)  # 401 first
        remembered(request, raw_key, principal)
        service.check_tile(z, x, y, settings.api.tile_max_zoom)
        start, end = parse_datetime(datetime)
        params = {k: v for k, v in request.query_params.items() if k not in ("f",)}
        ast = cql2.parse(filter, filter_lang) if filter else None
        query = ItemQuery(start=start, end=end, equals=features.property_filters(c, params),
                          filter=ast)
        tag, headers = _tile_headers(request, [ver], principal)
        if (cached := caching.not_modified(request, tag, headers)) is not None:
            return cached
        key = "&".join(sorted(f"{k}={v}" for k, v in params.items()))
        rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
        data = service.layer_tile(c, ver, z, x, y, query, key, rel, cache_key(principal),
                                  cap=_cap(c, settings), cache=_cache(request, settings),
                                  session=session)
    return _tile_response(request, data, [ver], principal, started)


def _layers(raw: str | None) -> list[Collection]:
    if not raw:
        return list(COLLECTIONS.values())
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in COLLECTIONS]
    if unknown:
        raise InvalidQueryError(f"unknown collection(s) {', '.join(unknown)}",
                                allowed=sorted(COLLECTIONS))
    return [COLLECTIONS[n] for n in names]


def _layer_queries(layers: list[Collection], params: dict[str, str], start: Any, end: Any,
                   datetime: str | None) -> list[tuple[ItemQuery, str]]:
    """Each layer's query and tile-cache key from the `{collection}.{name}` parameters; the
    key is the one the collection's own tile endpoint would use for the same filters."""
    chosen = {c.id for c in layers}
    own: dict[str, dict[str, str]] = {c.id: {} for c in layers}
    for name, value in params.items():
        if name in ("collections", "datetime", "f"):
            continue
        layer, _, prop = name.partition(".")
        if layer not in chosen or not prop:
            raise InvalidQueryError(
                f"unknown parameter {name!r}: per-layer filters are `{{collection}}.{{name}}` "
                "for a collection in `collections`",
                allowed=["collections", "datetime", *(f"{c}.{{name}}" for c in sorted(chosen))])
        own[layer][prop] = value
    out = []
    for c in layers:
        mine = own[c.id]
        props = {k: v for k, v in mine.items() if k not in ("filter", "filter-lang")}
        if set(props) & features.RESERVED:
            raise InvalidQueryError(f"{c.id}: only properties, filter and filter-lang can be "
                                    "given per layer", allowed=sorted(c.properties))
        raw = mine.get("filter")
        if "filter-lang" in mine and not raw:
            raise InvalidQueryError(f"{c.id}.filter-lang needs {c.id}.filter")
        ast = cql2.parse(raw, mine.get("filter-lang")) if raw else None
        timed = bool(c.time_column and datetime)
        query = ItemQuery(start=start if timed else None, end=end if timed else None,
                          equals=features.property_filters(c, props), filter=ast)
        key_params = dict(mine) | ({"datetime": datetime} if timed and datetime else {})
        out.append((query, "&".join(sorted(f"{k}={v}" for k, v in key_params.items()))))
    return out


@router.get("/tiles/WebMercatorQuad/{z}/{y}/{x}", response_class=Response,
            responses=_TILE_RESPONSES, openapi_extra=KEY_SECURITY,
            summary="All (or the chosen) collections in one vector tile, one layer each, with "
                    "per-layer filters")
async def get_multi_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, description="tileMatrix (zoom); 404 beyond the limits")],
    y: Annotated[int, Path(ge=0)],
    x: Annotated[int, Path(ge=0)],
    collections: Annotated[str | None, Query(description="comma-separated collection ids")]
    = None,
    datetime: Annotated[str | None, Query(description="applies to layers with a time",
                                          json_schema_extra=DATETIME)] = None,
) -> Response:
    """One request for every layer of a map view (fewer round trips than a source per layer).
    Per-layer filters are `{collection}.{name}` parameters: a property (e.g.
    `incidents.event_type=shelling`, `admin_areas.admin_level=1`) or `{collection}.filter` and
    `{collection}.filter-lang` (CQL2). Each layer is built, released and cached exactly as on
    `/collections/{id}/tiles` with the same filters. ONE worker-thread hop on the autocommit
    read pool: the key, then every layer's version in one statement, then the layers' tiles."""
    return await run_in_threadpool(_multi_tile_reply, request, z, y, x, collections, datetime,
                                   presented_key(request))


def _multi_tile_reply(request: Request, z: int, y: int, x: int, collections: str | None,
                      datetime: str | None, raw_key: str | None) -> Response:
    started = time.perf_counter()
    settings: Settings = request.app.state.settings
    with request.app.state.read_sessionmaker() as session:
        principal = remembered(request, raw_key,
                               principal_for(raw_key, session=session))  # 401 first
        service.check_tile(z, x, y, settings.api.tile_max_zoom)
        layers = _layers(collections)
        start, end = parse_datetime(datetime)
        queries = _layer_queries(layers, dict(request.query_params), start, end, datetime)
        vers = features.versions_of(layers, session=session)
        tag, headers = _tile_headers(request, vers, principal)
        if (cached := caching.not_modified(request, tag, headers)) is not None:
            return cached
        cache = _cache(request, settings)
        policy = policy_from(settings.security)
        parts = []
        for c, ver, (query, key) in zip(layers, vers, queries, strict=True):
            parts.append(service.layer_tile(c, ver, z, x, y, query, key,
                                            release_for(principal, c.id, policy, alias="t"),
                                            cache_key(principal), cap=_cap(c, settings),
                                            cache=cache, session=session))
    return _tile_response(request, b"".join(parts), vers, principal, started)


@router.get("/collections/{collection_id}/tiles", summary="The collection's tilesets")
def get_tilesets(collection_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    c = features.collection(collection_id)
    ts = service.tileset(c, base=_base(request), max_zoom=settings.api.tile_max_zoom)
    return {"tilesets": [{"title": ts["title"], "dataType": "vector", "crs": ts["crs"],
                          "tileMatrixSetURI": service.TMS,
                          "links": [{"rel": "self", "type": "application/json",
                                     "href": ts["links"][0]["href"]}, *ts["links"][1:]]}],
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{_base(request)}/collections/{c.id}/tiles"}]}


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad",
            summary="Tileset metadata (OGC API - Tiles)")
def get_tileset(collection_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    return service.tileset(features.collection(collection_id), base=_base(request),
                           max_zoom=settings.api.tile_max_zoom)


def _bounds(layers: list[Collection], session: Session, settings: Settings,
            principal: Principal) -> list[float] | None:
    """The bounds of what the caller's key may see of `layers` (None: nothing to see)."""
    policy = policy_from(settings.security)
    boxes = []
    for c in layers:
        rel = release_for(principal, c.id, policy, alias="t")
        box = features.extent(c, rel, cache_key(principal), session=session)["bbox"]
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
    base = _base(request)
    response.headers.update(vary_by_key(principal, {}))
    return service.tilejson([c], name=c.id,
                            bounds=_bounds([c], session, settings, principal),
                            max_zoom=settings.api.tile_max_zoom,
                            tiles_url=f"{base}/collections/{c.id}/tiles/WebMercatorQuad/"
                                      "{z}/{y}/{x}")


@router.get("/tiles.json", summary="TileJSON 3.0 for the multi-layer tiles (bounds of what the "
                                   "caller's key may see)")
def get_multi_tilejson(request: Request, response: Response, session: SessionDep,
                       settings: SettingsDep, principal: PrincipalDep,
                       collections: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    layers = _layers(collections)
    suffix = f"?collections={','.join(c.id for c in layers)}" if collections else ""
    response.headers.update(vary_by_key(principal, {}))
    return service.tilejson(layers, name="truce",
                            bounds=_bounds(layers, session, settings, principal),
                            max_zoom=settings.api.tile_max_zoom,
                            tiles_url=f"{_base(request)}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
                                      + suffix)


@router.get("/tiles", summary="Tilesets of the whole dataset (all layers in one tile)")
def get_dataset_tilesets(request: Request) -> dict[str, Any]:
    base = _base(request)
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
    return service.tile_matrix_sets(base=_base(request))


@router.get("/tileMatrixSets/{tile_matrix_set_id}",
            summary="A tiling scheme (OGC Two Dimensional Tile Matrix Set 2.0, JSON)")
def get_tile_matrix_set(tile_matrix_set_id: str, request: Request) -> dict[str, Any]:
    if tile_matrix_set_id != "WebMercatorQuad":
        raise NotFoundError(f"no tile matrix set {tile_matrix_set_id!r}; see /tileMatrixSets",
                            tileMatrixSets=["WebMercatorQuad"])
    return service.tile_matrix_set(base=_base(request))
