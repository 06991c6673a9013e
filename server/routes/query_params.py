"""The hot read routes' parameters, parsed once, typed, against the app's settings (titiler's
dataclass dependencies): `ItemsDep`, `ItemDep`, `TileDep`, `MultiTileDep`.

The dependencies are `async` (parsing costs no worker-thread hop) and declare every parameter
for the OpenAPI document, as text: FastAPI checks none of them, so no bound fixed when this
module is imported overrides the app's settings (`limit` up to TRUCE_API_MAX_LIMIT, downloads
up to TRUCE_API_EXPORT_MAX_FEATURES; `server.openapi.declare_limits` writes the app's bounds
into its document). A parse error is kept, not raised: the route raises it (`checked()`) after
the presented key's check, so an unknown key is a 401 whatever else is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime as Instant
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import WithJsonSchema

from server.db.collections import COLLECTIONS, Collection
from server.deps import settings_of
from server.errors import InvalidQueryError, TruceError
from server.params import BBOX, DATETIME, SUPPORTED_CRS, parse_crs, parse_datetime
from server.queries.features import ItemQuery
from server.services import cql2, export, features
from server.services import tiles as tile_service
from server.settings import ApiSettings

#: the formats that are downloads (one snapshot, capped, not paged)
DOWNLOADS = ("gpkg", "fgb", "csv", "hxl")
_SKIP = "features to skip (older clients; the next and prev links carry a cursor)"
_ZOOM = "tileMatrix (zoom); 404 beyond the limits"
#: what the document says of `limit`; its maximum and default are the app's (declare_limits)
LIMIT = Annotated[str | None, WithJsonSchema({"type": "integer", "minimum": 1})]
OFFSET = Annotated[str | None, WithJsonSchema({"type": "integer", "minimum": 0, "default": 0,
                                               "description": _SKIP})]


def _tile_index_schema(description: str | None = None) -> WithJsonSchema:
    return WithJsonSchema({"type": "integer", "minimum": 0,
                           **({"description": description} if description else {})})


TILE_INDEX = Annotated[str, _tile_index_schema()]
ZOOM = Annotated[str, _tile_index_schema(_ZOOM)]


def wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept.split(",")[0]


class Parsed:
    """A parse that may have failed: `error` is raised by `checked()`, after the key check."""

    error: TruceError | None

    def checked(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class ItemsParams(Parsed):
    """`/collections/{id}/items`: the collection, the query string as given (what the links
    repeat), the output (`html`, else `fmt`) and the page's query."""

    collection: Collection
    params: dict[str, str]
    html: bool
    fmt: str
    query: ItemQuery
    explicit_limit: bool
    error: TruceError | None = None

    @property
    def download(self) -> bool:
        return self.fmt in DOWNLOADS

    @property
    def hits(self) -> bool:
        return features.wants_hits(self.params)

    @property
    def asks_result_type(self) -> bool:
        """Whether `resultType` was given (the one-statement page never answers it)."""
        return "resultType" in self.params


def items_params(c: Collection, params: dict[str, str], api: ApiSettings, *,
                 accept: str | None = None, html: bool = False) -> ItemsParams:
    """The parse of an /items query string; a download without `limit` asks for everything up
    to the export cap."""
    fmt, explicit = "json", "limit" in params
    try:
        if html:
            shown = {k: v for k, v in params.items() if k != "lang"}
            return ItemsParams(c, shown, True, fmt, _item_query(c, shown, api, download=False),
                               explicit)
        fmt = export.negotiate(params.get("f"), accept)
        parsed = dict(params)
        if fmt in DOWNLOADS and not explicit:
            parsed["limit"] = str(api.export_max_features)  # everything, up to the cap
        query = _item_query(c, parsed, api, download=fmt in DOWNLOADS)
    except TruceError as exc:
        return ItemsParams(c, params, html, fmt, ItemQuery(), explicit, exc)
    return ItemsParams(c, params, html, fmt, query, explicit)


def _item_query(c: Collection, params: dict[str, str], api: ApiSettings, *,
                download: bool) -> ItemQuery:
    return features.item_query(c, params, default_limit=api.default_limit,
                               max_limit=api.export_max_features if download else api.max_limit)


async def _items(
    collection_id: str,
    request: Request,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (in bbox-crs; default "
                                                  "CRS84 lon/lat)", json_schema_extra=BBOX)] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox")] = None,
    datetime: Annotated[str | None, Query(description="RFC 3339 instant, or interval a/b with "
                                                      "'..' for an open end",
                                          json_schema_extra=DATETIME)] = None,
    limit: Annotated[LIMIT, Query(title="Limit")] = None,
    offset: Annotated[OFFSET, Query(title="Offset", description=_SKIP)] = None,
    cursor: Annotated[str | None, Query(description="opaque keyset cursor from a next or prev "
                                                    "link: every page costs what the first "
                                                    "does")] = None,
    crs: Annotated[str | None, Query(description="output CRS: CRS84 (default), EPSG:4326 "
                                                 "(lat/lon), 3857, 32636, 32637, 32638")] = None,
    sortby: Annotated[str | None, Query(description="e.g. -occurred_at,fatalities")] = None,
    properties: Annotated[str | None, Query(description="comma-separated properties to return")]
    = None,
    filter: Annotated[str | None, Query(description="a CQL2 filter")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang",
                                             description="cql2-text (default) or cql2-json")]
    = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs")] = None,
    f: Annotated[str | None, Query(description="json, csv, hxl, gpkg or fgb")] = None,
    result_type: Annotated[str | None, Query(
        alias="resultType", description="results (default): the features; hits: only "
        "numberMatched (what GDAL asks to count a filtered layer)",
        json_schema_extra={"enum": ["results", "hits"]})] = None,
) -> ItemsParams:
    """The parameters above are declared for the document; the parse reads the query string
    whole (a collection's properties are parameters too)."""
    c = features.collection(collection_id)  # 404 first, as before any key
    return items_params(c, dict(request.query_params), settings_of(request).api,
                        accept=request.headers.get("accept"), html=wants_html(request))


@dataclass(frozen=True)
class ItemParams(Parsed):
    """`/collections/{id}/items/{feature_id}`: the output CRS and its query."""

    collection: Collection
    html: bool
    crs: str
    query: ItemQuery
    error: TruceError | None = None


#: the parameters a feature by id takes
_ITEM_PARAMS = {"crs", "f", "properties", "lang"}


async def _item(
    collection_id: str, request: Request,
    crs: Annotated[str | None, Query(description="output CRS")] = None,
    f: Annotated[str | None, Query(description="json")] = None,
) -> ItemParams:
    c = features.collection(collection_id)
    html = wants_html(request)
    try:
        unknown = sorted(set(request.query_params) - _ITEM_PARAMS)
        if unknown:
            raise InvalidQueryError(f"unknown parameter(s) {', '.join(unknown)}",
                                    allowed=sorted(_ITEM_PARAMS))
        if html:
            return ItemParams(c, True, parse_crs(None), ItemQuery())
        if f not in (None, "json", "geojson"):
            export.negotiate(f, None)
        crs_uri = parse_crs(crs)
    except TruceError as exc:
        return ItemParams(c, html, parse_crs(None), ItemQuery(), exc)
    srid, flip, decimals = SUPPORTED_CRS[crs_uri]
    return ItemParams(c, False, crs_uri, ItemQuery(srid=srid, flip=flip, decimals=decimals))


@dataclass(frozen=True)
class TileParams(Parsed):
    """`/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`: the tile, its query and the
    tile cache's key of its filters."""

    collection: Collection
    z: int
    y: int
    x: int
    query: ItemQuery
    filter_key: str
    error: TruceError | None = None


def _tile_index(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.removeprefix("+").isdecimal()):
        raise InvalidQueryError(f"{name} must be an integer, 0 or more")
    return int(raw)


def _tile(raw: tuple[str, str, str], api: ApiSettings) -> tuple[int, int, int]:
    z, y, x = (_tile_index(name, value) for name, value in zip("zyx", raw, strict=True))
    tile_service.check_tile(z, x, y, api.tile_max_zoom)
    return z, y, x


def _key(params: dict[str, str]) -> str:
    return "&".join(sorted(f"{k}={v}" for k, v in params.items()))


async def _collection_tile(
    collection_id: str,
    request: Request,
    z: Annotated[ZOOM, Path(title="Z", description=_ZOOM)],
    y: Annotated[str, _tile_index_schema("tileRow"), Path(title="Y", description="tileRow")],
    x: Annotated[str, _tile_index_schema("tileCol"), Path(title="X", description="tileCol")],
    datetime: Annotated[str | None, Query(description="instant or interval",
                                          json_schema_extra=DATETIME)] = None,
    filter: Annotated[str | None, Query(description="a CQL2 filter")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang")] = None,
) -> TileParams:
    c = features.collection(collection_id)
    params = {k: v for k, v in request.query_params.items() if k != "f"}
    try:
        tile = _tile((z, y, x), settings_of(request).api)
        start, end = parse_datetime(datetime)
        query = ItemQuery(start=start, end=end, equals=features.property_filters(c, params),
                          filter=cql2.parse(filter, filter_lang) if filter else None)
    except TruceError as exc:
        return TileParams(c, 0, 0, 0, ItemQuery(), "", exc)
    return TileParams(c, *tile, query, _key(params))


@dataclass(frozen=True)
class MultiTileParams(Parsed):
    """`/tiles/WebMercatorQuad/{z}/{y}/{x}`: the tile, its layers, and each layer's query and
    tile-cache key (the key the collection's own tile endpoint uses for the same filters)."""

    z: int
    y: int
    x: int
    layers: list[Collection]
    queries: list[tuple[ItemQuery, str]]
    error: TruceError | None = None


def layers_of(raw: str | None) -> list[Collection]:
    if not raw:
        return list(COLLECTIONS.values())
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in COLLECTIONS]
    if unknown:
        raise InvalidQueryError(f"unknown collection(s) {', '.join(unknown)}",
                                allowed=sorted(COLLECTIONS))
    return [COLLECTIONS[n] for n in names]


def _layer_queries(layers: list[Collection], params: dict[str, str], start: Instant | None,
                   end: Instant | None, datetime: str | None) -> list[tuple[ItemQuery, str]]:
    """Each layer's query and tile-cache key from the `{collection}.{name}` parameters."""
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
        out.append((query, _key(key_params)))
    return out


async def _multi_tile(
    request: Request,
    z: Annotated[ZOOM, Path(title="Z", description=_ZOOM)],
    y: Annotated[TILE_INDEX, Path(title="Y")],
    x: Annotated[TILE_INDEX, Path(title="X")],
    collections: Annotated[str | None, Query(description="comma-separated collection ids")]
    = None,
    datetime: Annotated[str | None, Query(description="applies to layers with a time",
                                          json_schema_extra=DATETIME)] = None,
) -> MultiTileParams:
    try:
        tile = _tile((z, y, x), settings_of(request).api)
        layers = layers_of(collections)
        start, end = parse_datetime(datetime)
        queries = _layer_queries(layers, dict(request.query_params), start, end, datetime)
    except TruceError as exc:
        return MultiTileParams(0, 0, 0, [], [], exc)
    return MultiTileParams(*tile, layers, queries)


ItemsDep = Annotated[ItemsParams, Depends(_items)]
ItemDep = Annotated[ItemParams, Depends(_item)]
TileDep = Annotated[TileParams, Depends(_collection_tile)]
MultiTileDep = Annotated[MultiTileParams, Depends(_multi_tile)]
