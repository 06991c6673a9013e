"""OGC API - Features (Parts 1, 2, 3): landing, conformance, collections, queryables, items."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from server.compression import chosen_encoding, compress
from server.db.collections import COLLECTIONS, Collection
from server.deps import SessionDep, SettingsDep
from server.errors import InvalidQueryError
from server.pages import html as pages
from server.params import BBOX, DATETIME, SUPPORTED_CRS, parse_crs
from server.queries.features import ItemQuery
from server.queries.versions import LayerVersion
from server.routes import caching
from server.security.dependencies import (
    KEY_SECURITY,
    PrincipalDep,
    acted_as,
    presented_key,
    principal_and_version,
    principal_for,
    remembered,
    vary_by_key,
)
from server.security.headers import file_policy
from server.security.limits import charge_rows
from server.security.principal import PUBLIC, Principal
from server.security.release import cache_key, policy_from, release_for
from server.services import export, features
from server.services import incident_writes as writes
from server.services import keys as key_service
from server.settings import ApiSettings, Settings
from server.static_files import OWN_CACHE, MemoryFiles

router = APIRouter(tags=["features"])
_PAGES = MemoryFiles()  # the viewer's page, answered at /
GEOJSON = "application/geo+json"
#: brotli compresses a page this large in a worker thread, not on the event loop: on the loop it
#: would hold every other request back for as long; ISA-L's gzip is cheap enough to stay there
_BROTLI_ON_THE_LOOP_BYTES = 64 * 1024
_DEFAULT_LIMIT = ApiSettings.model_fields["default_limit"].default
_MAX_LIMIT = ApiSettings.model_fields["max_limit"].default
OGC = "http://www.opengis.net/spec"
CONFORMANCE = [
    f"{OGC}/ogcapi-features-1/1.0/conf/core",
    f"{OGC}/ogcapi-features-1/1.0/conf/geojson",
    f"{OGC}/ogcapi-features-1/1.0/conf/oas30",
    f"{OGC}/ogcapi-features-2/1.0/conf/crs",
    f"{OGC}/ogcapi-features-3/1.0/conf/filter",
    f"{OGC}/ogcapi-features-3/1.0/conf/features-filter",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    f"{OGC}/cql2/1.0/conf/cql2-text",
    f"{OGC}/cql2/1.0/conf/cql2-json",
    f"{OGC}/cql2/1.0/conf/basic-cql2",
    f"{OGC}/cql2/1.0/conf/advanced-comparison-operators",
    f"{OGC}/cql2/1.0/conf/case-insensitive-comparison",
    f"{OGC}/cql2/1.0/conf/basic-spatial-functions",
    f"{OGC}/cql2/1.0/conf/basic-spatial-functions-plus",
    f"{OGC}/cql2/1.0/conf/spatial-functions",
    f"{OGC}/cql2/1.0/conf/temporal-functions",
    f"{OGC}/cql2/1.0/conf/arithmetic",
    f"{OGC}/ogcapi-features-4/1.0/conf/sorting",
    f"{OGC}/ogcapi-features-4/1.0/conf/create-replace-delete",
    f"{OGC}/ogcapi-features-4/1.0/conf/update",
    f"{OGC}/ogcapi-features-4/1.0/conf/features",
    f"{OGC}/ogcapi-common-2/1.0/conf/collections",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/core",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/mvt",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/tileset",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/tilesets-list",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    f"{OGC}/tms/2.0/conf/tilematrixset",
    f"{OGC}/tms/2.0/conf/json-tilematrixset",
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept.split(",")[0]


def _page(request: Request) -> pages.Page:
    """The HTML page's language (`lang=`, else Accept-Language) and labels."""
    settings: Settings = request.app.state.settings
    lang = pages.choose_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    return pages.Page(lang=lang, labels=pages.catalogue(settings.api.web_dir, lang),
                      base=_base(request), url=str(request.url))


def _html_page(request: Request, text: str, principal: Principal | None = None) -> Response:
    headers = vary_by_key(principal, {}) if principal is not None else {}
    headers["Content-Language"] = _page(request).lang
    return HTMLResponse(text, headers={"Cache-Control": "no-cache", **headers})


def _landing_doc(base: str) -> dict[str, Any]:
    return {
        "title": "Truce map API",
        "description": "Agreement areas, incidents and aid deliveries for ceasefire coordination.",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/?f=json"},
            {"rel": "alternate", "type": "text/html", "href": f"{base}/?f=html"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "href": f"{base}/api"},
            {"rel": "service-doc", "type": "text/html", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/data", "type": "application/json",
             "href": f"{base}/collections"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "href": f"{base}/tiles"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": "application/json", "href": f"{base}/tileMatrixSets"},
        ],
    }


@router.get("/", summary="Landing page (JSON; `f=html`: as a page), or the map viewer for a "
                         "browser")
async def landing(request: Request, settings: SettingsDep) -> Response:
    if request.query_params.get("f") == "html":
        return _html_page(request, pages.landing(_page(request), _landing_doc(_base(request))))
    if _wants_html(request) and settings.api.web_dir:
        page = f"{settings.api.web_dir}/index.html"
        kept = await _PAGES.get(page)  # from memory, on the event loop, revalidated by ETag
        if kept is None:
            return FileResponse(page, media_type="text/html",
                                headers={"Content-Security-Policy": file_policy(page)})
        return await kept.response(request.scope, OWN_CACHE,
                                   {"Content-Security-Policy": file_policy(page),
                                    "Vary": "Accept"})
    return JSONResponse(_landing_doc(_base(request)))


@router.get("/conformance", summary="Conformance classes this API implements")
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _described(c: Collection, request: Request, session: Session, settings: Settings,
               principal: Principal) -> dict[str, Any]:
    rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
    return features.describe(c, rel, cache_key(principal), base_url=_base(request),
                             session=session)


@router.get("/collections", summary="The published collections (extents cover what the "
                                    "caller's key may see)", response_model=None,
            responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def list_collections(request: Request, response: Response, session: SessionDep,
                     settings: SettingsDep,
                     principal: PrincipalDep) -> dict[str, Any] | Response:
    base = _base(request)
    response.headers.update(vary_by_key(principal, {}))
    doc = {
        "collections": [_described(c, request, session, settings, principal)
                        for c in COLLECTIONS.values()],
        "crs": list(SUPPORTED_CRS),
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/collections"},
                  {"rel": "alternate", "type": "text/html",
                   "href": f"{base}/collections?f=html"}],
    }
    if _wants_html(request):
        return _html_page(request, pages.collections(_page(request), doc), principal)
    return doc


@router.get("/collections/{collection_id}", summary="One collection's metadata (extents cover "
                                                    "what the caller's key may see)",
            response_model=None,
            responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def get_collection(collection_id: str, request: Request, response: Response,
                   session: SessionDep, settings: SettingsDep,
                   principal: PrincipalDep) -> dict[str, Any] | Response:
    c = features.collection(collection_id)
    response.headers.update(vary_by_key(principal, {}))
    doc = _described(c, request, session, settings, principal)
    if _wants_html(request):
        return _html_page(request, pages.collection(_page(request), doc), principal)
    return doc


@router.get("/collections/{collection_id}/queryables", response_class=JSONResponse,
            summary="The properties a filter may use (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {}}}})
def get_queryables(collection_id: str, request: Request) -> Response:
    c = features.collection(collection_id)
    return JSONResponse(features.queryables(c, base_url=_base(request)),
                        media_type="application/schema+json")


@router.get("/collections/{collection_id}/schema", response_class=JSONResponse,
            summary="The JSON Schema of the features (OGC API - Features Part 5; "
                    "profile=geojson: their GeoJSON encoding), as the caller's key sees them",
            responses={200: {"content": {"application/schema+json": {}}}})
def get_schema(collection_id: str, request: Request, settings: SettingsDep,
               principal: PrincipalDep,
               profile: Annotated[str | None, Query(description="part5 (default) or geojson")]
               = None) -> Response:
    c = features.collection(collection_id)
    rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
    return JSONResponse(features.schema(c, rel, base_url=_base(request), profile=profile),
                        media_type="application/schema+json",
                        headers=vary_by_key(principal, {}))


@router.get("/collections/{collection_id}/items", response_class=Response,
            summary="Features as GeoJSON (or CSV, HXL, GeoPackage, FlatGeobuf), filtered by "
                    "bbox, datetime, properties and CQL2",
            responses={200: {"content": {GEOJSON: {}, "text/csv": {},
                                         "application/geopackage+sqlite3": {},
                                         "application/flatgeobuf": {}, "text/html": {}}},
                       304: {"description": "not modified (If-None-Match)"}},
            openapi_extra=KEY_SECURITY)
async def get_items(
    collection_id: str,
    request: Request,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (in bbox-crs; default "
                                                  "CRS84 lon/lat)", json_schema_extra=BBOX)] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox")] = None,
    datetime: Annotated[str | None, Query(description="RFC 3339 instant, or interval a/b with "
                                                      "'..' for an open end",
                                          json_schema_extra=DATETIME)] = None,
    limit: Annotated[int, Query(ge=1, le=_MAX_LIMIT, description=(
        f"page size: default {_DEFAULT_LIMIT}, maximum {_MAX_LIMIT}"))] = _DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="features to skip (older clients; the next "
                                                   "and prev links carry a cursor)")] = 0,
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
) -> Response:
    """Like feature by id: an unfiltered GeoJSON page (no If-None-Match) from a known key or
    none is ONE statement on the event loop (`_page_at_once`); anything else is ONE
    worker-thread hop (no per-dependency hops) on the autocommit read pool (no BEGIN/ROLLBACK,
    no ping per request; downloads on the transactional pool), the key look-up and the layer
    version in one prepared statement, then the page."""
    raw_key = presented_key(request)
    if _wants_html(request):
        return await run_in_threadpool(_items_html, request, collection_id, raw_key)
    fmt = export.negotiate(f, request.headers.get("accept"))
    if fmt == "json" and "if-none-match" not in request.headers and result_type is None:
        at_once = await _page_at_once(request, features.collection(collection_id), raw_key)
        if at_once is not None:
            return at_once
    return await run_in_threadpool(_items_reply, request, collection_id, fmt, raw_key)


def _items_html(request: Request, collection_id: str, raw_key: str | None) -> Response:
    """A page of features as HTML: the GeoJSON page of the same query (its filters, paging
    and release rules), as a table and a small map."""
    settings: Settings = request.app.state.settings
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    with request.app.state.read_sessionmaker() as session:
        c = features.collection(collection_id)
        principal, ver = principal_and_version(raw_key, c, session=session)
        remembered(request, raw_key, principal)
        query = features.item_query(c, params, default_limit=settings.api.default_limit,
                                    max_limit=settings.api.max_limit)
        rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
        query = features.planned(c, query, rel, ver, session=session)
        parts = features.items_page(c, query, rel,
                                    base_url=f"{_base(request)}/collections/{c.id}/items",
                                    params=params, ver=ver, session=session)
    doc = orjson.loads(b"".join(parts))
    names = [n for n in (query.properties or c.properties) if n in c.properties]
    if doc["features"]:
        names = [n for n in names if n in doc["features"][0]["properties"]]
    return _html_page(request, pages.items(_page(request), {"id": c.id, "title": c.title},
                                           doc, names), principal)


SEARCH_TYPES = ("application/json", "application/query-cql-json", "application/cql2+json")


def is_search(request: Request, raw: bytes) -> bool:
    """Whether a POST to /items is a search: a JSON body that is a CQL2-JSON expression (an
    object with `op`, never a GeoJSON Feature, which has `type`), not a Part 4 create."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in SEARCH_TYPES:
        return False
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and "op" in body and "type" not in body


def search(request: Request, collection_id: str, raw: bytes, principal: Principal,
           session: Session) -> Response:
    """The page GET /items would answer with this body as `filter` (`filter-lang=cql2-json`)
    and the query string's other parameters; its links carry the filter, so they are GETs."""
    settings: Settings = request.app.state.settings
    c = features.collection(collection_id)
    params = dict(request.query_params)
    if "filter" in params:
        raise InvalidQueryError("a filter in the body and one in the query: send one")
    params.update({"filter": raw.decode(), "filter-lang": "cql2-json"})
    fmt = export.negotiate(params.get("f"), None)
    ver = features.version(c, session=session)
    return _items(request, c, fmt, principal, ver, settings, session, params=params)


def _confirm(request: Request, raw_key: str | None, row: dict[str, Any] | None) -> Principal:
    """Who presents `raw_key`, judged on its row exactly as `principal_for` judges it (401 when
    unknown, revoked or expired)."""
    if not raw_key:
        return PUBLIC
    return remembered(request, raw_key, key_service.check(raw_key.strip(), row))


def _items_reply(request: Request, collection_id: str, fmt: str,
                 raw_key: str | None) -> Response:
    settings: Settings = request.app.state.settings
    download = fmt in ("gpkg", "fgb", "csv", "hxl")
    # downloads keep the transactional pool (one snapshot for an export's statements)
    maker = request.app.state.sessionmaker if download else request.app.state.read_sessionmaker
    with maker() as session:
        c = features.collection(collection_id)
        principal, ver = principal_and_version(raw_key, c, session=session)
        remembered(request, raw_key, principal)
        return _items(request, c, fmt, principal, ver, settings, session)


async def _page_at_once(request: Request, c: Collection, raw_key: str | None) -> Response | None:
    """An unfiltered GeoJSON page in ONE statement on the event loop, with the key check and
    the layer version (`features.items_page_with_key_async`); None for any other request, or
    when the key now acts as another principal than it did (the caller then takes the usual
    path)."""
    settings: Settings = request.app.state.settings
    key_id, guess = acted_as(request).guess(raw_key)
    if guess is None:
        return None
    try:
        query = features.item_query(c, dict(request.query_params),
                                    default_limit=settings.api.default_limit,
                                    max_limit=settings.api.max_limit)
    except InvalidQueryError:
        return None  # the usual path says so, after the key's own check (401 first)
    if query.filtered:
        return None  # planned for its values, after the version (see features.planned)
    policy = policy_from(settings.security)
    ver, row, found = await features.items_page_with_key_async(
        c, query, release_for(guess, c.id, policy, alias="t"), key_id if raw_key else None,
        reads=request.app.state.async_reads)
    principal = _confirm(request, raw_key, row)
    if principal != guess:
        return None  # the key changed role or organisation: nothing of this page is used
    rel = release_for(principal, c.id, policy, alias="t")
    headers = _headers(request, principal, ver, "json")
    base_url = f"{_base(request)}/collections/{c.id}/items"
    parts = features.page_parts(c, query, rel, found, base_url=base_url,
                                params=dict(request.query_params), ver=ver)
    charge_rows(request.scope, found.returned)
    slow = chosen_encoding(request.headers.get("accept-encoding")) == "br"
    if slow and sum(len(part) for part in parts) >= _BROTLI_ON_THE_LOOP_BYTES:
        return await run_in_threadpool(_geojson, request, parts, headers, settings)
    return _geojson(request, parts, headers, settings)


def _headers(request: Request, principal: Principal, ver: LayerVersion,
             fmt: str) -> dict[str, str]:
    tag = caching.etag(request, [ver], fmt, cache_key(principal))
    headers = vary_by_key(principal, caching.headers_for(
        [ver], tag, "public, max-age=0, must-revalidate"))
    headers["Content-Crs"] = f"<{parse_crs(request.query_params.get('crs'))}>"
    return headers


def _geojson(request: Request, parts: tuple[bytes, bytes, bytes], headers: dict[str, str],
             settings: Settings) -> Response:
    headers["Link"] = features.link_header(parts[2])
    encoding = chosen_encoding(request.headers.get("accept-encoding"))
    size = sum(len(part) for part in parts)
    if encoding and size >= settings.api.compress_min_bytes:  # here, not in one more hop
        headers["Content-Encoding"] = encoding
        return Response(compress(parts, encoding, gzip_level=settings.api.gzip_level,
                                 brotli_quality=settings.api.brotli_quality),
                        media_type=GEOJSON, headers=headers)
    return Response(b"".join(parts), media_type=GEOJSON, headers=headers)


def _items(request: Request, c: Collection, fmt: str, principal: Principal, ver: LayerVersion,
           settings: Settings, session: Session,
           params: dict[str, str] | None = None) -> Response:
    params = dict(request.query_params) if params is None else params
    shown = dict(params)  # what the links repeat
    download = fmt in ("gpkg", "fgb", "csv", "hxl")
    explicit_limit = "limit" in params
    if download and not explicit_limit:
        params["limit"] = str(settings.api.export_max_features)  # everything, up to the cap
    query = features.item_query(c, params, default_limit=settings.api.default_limit,
                                max_limit=(settings.api.export_max_features if download
                                           else settings.api.max_limit))
    rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
    headers = _headers(request, principal, ver, fmt)
    tag = headers["ETag"]
    if (cached := caching.not_modified(request, tag, headers)) is not None:
        return cached
    query = features.planned(c, query, rel, ver, session=session)
    if download:
        features.check_export(c, query, rel, explicit_limit=explicit_limit, api=settings.api,
                              session=session)
    if fmt == "json":
        page = features.hits if features.wants_hits(params) else features.counted_page
        parts, returned = page(
            c, query, rel, base_url=f"{_base(request)}/collections/{c.id}/items",
            params=shown, ver=ver, session=session)
        charge_rows(request.scope, returned)
        return _geojson(request, parts, headers, settings)
    if fmt in ("csv", "hxl"):
        body = export.table(c, query, rel, hxl=fmt == "hxl", session=session)
        name = f"{c.id}{'-hxl' if fmt == 'hxl' else ''}.csv"
    else:
        body = export.ogr(c, query, rel, fmt, session=session)
        name = f"{c.id}.{fmt}"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=export.FORMATS[fmt], headers=headers)


def _check(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidQueryError(f"unknown parameter(s) {', '.join(unknown)}",
                                allowed=sorted(allowed))


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response,
            summary="One feature", responses={200: {"content": {GEOJSON: {}, "text/html": {}}}},
            openapi_extra=KEY_SECURITY)
async def get_item(
    collection_id: str, feature_id: str, request: Request,
    crs: Annotated[str | None, Query(description="output CRS")] = None,
    f: Annotated[str | None, Query(description="json")] = None,
) -> Response:
    """The lean path, the most frequent request of a map client: for a key seen before (or
    none), ONE prepared statement on the event loop (`server.db.async_reads`: no worker
    thread) reads the key's row, the layer version and the feature together. A key not seen
    yet is checked on its own first, in ONE worker-thread hop. Collection metadata is static
    (no query)."""
    c = features.collection(collection_id)
    _check(dict(request.query_params), {"crs", "f", "properties", "lang"})
    if _wants_html(request):
        return await run_in_threadpool(_item_html, request, c, feature_id,
                                       presented_key(request))
    if f not in (None, "json", "geojson"):
        export.negotiate(f, None)
    crs_uri = parse_crs(crs)
    srid, flip, decimals = SUPPORTED_CRS[crs_uri]
    query = ItemQuery(srid=srid, flip=flip, decimals=decimals)
    raw_key = presented_key(request)
    key_id, guess = acted_as(request).guess(raw_key)
    if guess is None or not feature_id.isdecimal() or len(feature_id) > 18:
        return await run_in_threadpool(_item_reply, request, c, feature_id, query, crs_uri,
                                       raw_key)
    # ONE statement on the event loop: the key's row, the layer version and the feature as
    # the key's last principal sees it; the row is checked before anything is output
    fid = int(feature_id)
    policy = policy_from(request.app.state.settings.security)
    reads = request.app.state.async_reads
    ver, row, found = await features.item_with_key_async(
        c, fid, query, release_for(guess, c.id, policy, alias="t"), key_id=key_id, reads=reads)
    principal = _confirm(request, raw_key, row)
    if principal != guess:  # the key changed role or organisation: read it again
        ver, _, found = await features.item_with_key_async(
            c, fid, query, release_for(principal, c.id, policy, alias="t"), reads=reads)
    return _item_response(request, c, fid, found, ver, principal, crs_uri)


def _item_reply(request: Request, c: Collection, feature_id: str, query: ItemQuery,
                crs_uri: str, raw_key: str | None) -> Response:
    """A feature by id for a key not seen yet or an id that is not a number: the key is
    checked on its own first (401 before 404)."""
    settings: Settings = request.app.state.settings
    with request.app.state.read_sessionmaker() as session:  # autocommit connections
        principal = remembered(request, raw_key, principal_for(raw_key, session=session))
        fid = features.feature_id_of(c, feature_id)  # 404 after the key's 401
        rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
        ver, _, found = features.item_with_key(c, fid, query, rel, session=session)
    return _item_response(request, c, fid, found, ver, principal, crs_uri)


def _item_html(request: Request, c: Collection, feature_id: str,
               raw_key: str | None) -> Response:
    settings: Settings = request.app.state.settings
    with request.app.state.read_sessionmaker() as session:
        principal = remembered(request, raw_key, principal_for(raw_key, session=session))
        fid = features.feature_id_of(c, feature_id)
        rel = release_for(principal, c.id, policy_from(settings.security), alias="t")
        _, _, found = features.item_with_key(c, fid, ItemQuery(), rel, session=session)
    feature = orjson.loads(features.item_body(c, fid, found, base_url=_base(request)))
    return _html_page(request, pages.item(_page(request), {"id": c.id, "title": c.title},
                                          feature), principal)


def _item_response(request: Request, c: Collection, fid: int, found: str | None,
                   ver: LayerVersion, principal: Principal, crs_uri: str) -> Response:
    body = features.item_body(c, fid, found, base_url=_base(request))
    tag = caching.etag(request, [ver], cache_key(principal))
    if principal.is_analyst and not request.query_params and c.id in writes.WRITABLE:
        tag = writes.etag(body)  # the feature's own tag: what a Part 4 If-Match compares with
    headers = vary_by_key(principal, caching.headers_for(
        [ver], tag, "public, max-age=0, must-revalidate"))
    headers["Content-Crs"] = f"<{crs_uri}>"
    href = f"{_base(request)}/collections/{c.id}"
    headers["Link"] = (f'<{href}/items/{fid}>; rel="self"; type="{GEOJSON}", '
                       f'<{href}/items/{fid}?f=html>; rel="alternate"; type="text/html", '
                       f'<{href}>; rel="collection"; type="application/json"')
    if (cached := caching.not_modified(request, tag, headers)) is not None:
        return cached
    return Response(body, media_type=GEOJSON, headers=headers)
