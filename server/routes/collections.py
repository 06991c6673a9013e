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
from server.deps import SessionDep, SettingsDep, base_url, extents_of, policy_of, settings_of
from server.errors import InvalidQueryError
from server.pages import html as pages
from server.params import SUPPORTED_CRS, parse_crs
from server.queries.features import ItemQuery
from server.queries.versions import LayerVersion
from server.routes import caching
from server.routes.query_params import (
    ItemDep,
    ItemParams,
    ItemsDep,
    ItemsParams,
    items_params,
    wants_html,
)
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
from server.security.release import cache_key, release_for
from server.services import export, features
from server.services import incident_writes as writes
from server.services import keys as key_service
from server.settings import Settings
from server.static_files import OWN_CACHE, MemoryFiles

router = APIRouter(tags=["features"])
_PAGES = MemoryFiles()  # the viewer's page, answered at /
GEOJSON = "application/geo+json"
#: brotli compresses a page this large in a worker thread, not on the event loop: on the loop it
#: would hold every other request back for as long; ISA-L's gzip is cheap enough to stay there
_BROTLI_ON_THE_LOOP_BYTES = 64 * 1024
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


def _page(request: Request) -> pages.Page:
    """The HTML page's language (`lang=`, else Accept-Language) and labels."""
    settings = settings_of(request)
    lang = pages.choose_language(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
    return pages.Page(lang=lang, labels=pages.catalogue(settings.api.web_dir, lang),
                      base=base_url(request), url=str(request.url))


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
        return _html_page(request, pages.landing(_page(request), _landing_doc(base_url(request))))
    if wants_html(request) and settings.api.web_dir:
        page = f"{settings.api.web_dir}/index.html"
        kept = await _PAGES.get(page)  # from memory, on the event loop, revalidated by ETag
        if kept is None:
            return FileResponse(page, media_type="text/html",
                                headers={"Content-Security-Policy": file_policy(page)})
        return await kept.response(request.scope, OWN_CACHE,
                                   {"Content-Security-Policy": file_policy(page),
                                    "Vary": "Accept"})
    return JSONResponse(_landing_doc(base_url(request)))


@router.get("/conformance", summary="Conformance classes this API implements")
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _described(c: Collection, request: Request, session: Session,
               principal: Principal) -> dict[str, Any]:
    rel = release_for(principal, c.id, policy_of(request), alias="t")
    return features.describe(c, rel, cache_key(principal), base_url=base_url(request),
                             extents=extents_of(request), session=session)


@router.get("/collections", summary="The published collections (extents cover what the "
                                    "caller's key may see)", response_model=None,
            responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def list_collections(request: Request, response: Response, session: SessionDep,
                     principal: PrincipalDep) -> dict[str, Any] | Response:
    base = base_url(request)
    response.headers.update(vary_by_key(principal, {}))
    doc = {
        "collections": [_described(c, request, session, principal)
                        for c in COLLECTIONS.values()],
        "crs": list(SUPPORTED_CRS),
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/collections"},
                  {"rel": "alternate", "type": "text/html",
                   "href": f"{base}/collections?f=html"}],
    }
    if wants_html(request):
        return _html_page(request, pages.collections(_page(request), doc), principal)
    return doc


@router.get("/collections/{collection_id}", summary="One collection's metadata (extents cover "
                                                    "what the caller's key may see)",
            response_model=None,
            responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def get_collection(collection_id: str, request: Request, response: Response,
                   session: SessionDep,
                   principal: PrincipalDep) -> dict[str, Any] | Response:
    c = features.collection(collection_id)
    response.headers.update(vary_by_key(principal, {}))
    doc = _described(c, request, session, principal)
    if wants_html(request):
        return _html_page(request, pages.collection(_page(request), doc), principal)
    return doc


@router.get("/collections/{collection_id}/queryables", response_class=JSONResponse,
            summary="The properties a filter may use (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {}}}})
def get_queryables(collection_id: str, request: Request) -> Response:
    c = features.collection(collection_id)
    return JSONResponse(features.queryables(c, base_url=base_url(request)),
                        media_type="application/schema+json")


@router.get("/collections/{collection_id}/schema", response_class=JSONResponse,
            summary="The JSON Schema of the features (OGC API - Features Part 5; "
                    "profile=geojson: their GeoJSON encoding), as the caller's key sees them",
            responses={200: {"content": {"application/schema+json": {}}}})
def get_schema(collection_id: str, request: Request, principal: PrincipalDep,
               profile: Annotated[str | None, Query(description="part5 (default) or geojson")]
               = None) -> Response:
    c = features.collection(collection_id)
    rel = release_for(principal, c.id, policy_of(request), alias="t")
    return JSONResponse(features.schema(c, rel, base_url=base_url(request), profile=profile),
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
async def get_items(request: Request, items: ItemsDep) -> Response:
    """Like feature by id: an unfiltered GeoJSON page (no If-None-Match) from a known key or
    none is ONE statement on the event loop (`_page_at_once`); anything else is ONE
    worker-thread hop (no per-dependency hops) on the autocommit read pool (no BEGIN/ROLLBACK,
    no ping per request; downloads on the transactional pool), the key look-up and the layer
    version in one prepared statement, then the page. The parameters are parsed once
    (`ItemsDep`); a bad one is a 400 after the key's check."""
    raw_key = presented_key(request)
    if items.html:
        return await run_in_threadpool(_items_html, request, items, raw_key)
    if (items.fmt == "json" and items.error is None and not items.asks_result_type
            and not items.query.filtered and "if-none-match" not in request.headers):
        at_once = await _page_at_once(request, items, raw_key)
        if at_once is not None:
            return at_once
    return await run_in_threadpool(_items_reply, request, items, raw_key)


def _items_html(request: Request, items: ItemsParams, raw_key: str | None) -> Response:
    """A page of features as HTML: the GeoJSON page of the same query (its filters, paging
    and release rules), as a table and a small map."""
    c = items.collection
    with request.app.state.read_sessionmaker() as session:
        principal, ver = principal_and_version(raw_key, c, session=session)
        remembered(request, raw_key, principal)
        items.checked()
        rel = release_for(principal, c.id, policy_of(request), alias="t")
        query = features.planned(c, items.query, rel, ver, session=session)
        parts = features.items_page(c, query, rel,
                                    base_url=f"{base_url(request)}/collections/{c.id}/items",
                                    params=items.params, ver=ver, session=session)
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
    c = features.collection(collection_id)
    params = dict(request.query_params)
    if "filter" in params:
        raise InvalidQueryError("a filter in the body and one in the query: send one")
    params.update({"filter": raw.decode(), "filter-lang": "cql2-json"})
    items = items_params(c, params, settings_of(request).api)
    ver = features.version(c, session=session)
    return _items(request, items, principal, ver, session)


def _confirm(request: Request, raw_key: str | None, row: dict[str, Any] | None) -> Principal:
    """Who presents `raw_key`, judged on its row exactly as `principal_for` judges it (401 when
    unknown, revoked or expired)."""
    if not raw_key:
        return PUBLIC
    return remembered(request, raw_key, key_service.check(raw_key.strip(), row))


def _items_reply(request: Request, items: ItemsParams, raw_key: str | None) -> Response:
    # downloads keep the transactional pool (one snapshot for an export's statements)
    state = request.app.state
    maker = state.sessionmaker if items.download else state.read_sessionmaker
    with maker() as session:
        principal, ver = principal_and_version(raw_key, items.collection, session=session)
        remembered(request, raw_key, principal)
        return _items(request, items, principal, ver, session)


async def _page_at_once(request: Request, items: ItemsParams,
                        raw_key: str | None) -> Response | None:
    """An unfiltered GeoJSON page in ONE statement on the event loop, with the key check and
    the layer version (`features.items_page_with_key_async`); None for any other request, or
    when the key now acts as another principal than it did (the caller then takes the usual
    path)."""
    settings = settings_of(request)
    key_id, guess = acted_as(request).guess(raw_key)
    if guess is None:
        return None
    c, query, policy = items.collection, items.query, policy_of(request)
    ver, row, found = await features.items_page_with_key_async(
        c, query, release_for(guess, c.id, policy, alias="t"), key_id if raw_key else None,
        reads=request.app.state.async_reads)
    principal = _confirm(request, raw_key, row)
    if principal != guess:
        return None  # the key changed role or organisation: nothing of this page is used
    rel = release_for(principal, c.id, policy, alias="t")
    headers = _headers(request, principal, ver, "json")
    parts = features.page_parts(c, query, rel, found,
                                base_url=f"{base_url(request)}/collections/{c.id}/items",
                                params=items.params, ver=ver)
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


def _items(request: Request, items: ItemsParams, principal: Principal, ver: LayerVersion,
           session: Session) -> Response:
    """The page or the download of `items` for `principal` (whose key is checked)."""
    items.checked()
    settings, c = settings_of(request), items.collection
    rel = release_for(principal, c.id, policy_of(request), alias="t")
    headers = _headers(request, principal, ver, items.fmt)
    tag = headers["ETag"]
    if (cached := caching.not_modified(request, tag, headers)) is not None:
        return cached
    query = features.planned(c, items.query, rel, ver, session=session)
    if items.download:
        features.check_export(c, query, rel, explicit_limit=items.explicit_limit,
                              api=settings.api, session=session)
    if items.fmt == "json":
        page = features.hits if items.hits else features.counted_page
        parts, returned = page(
            c, query, rel, base_url=f"{base_url(request)}/collections/{c.id}/items",
            params=items.params, ver=ver, session=session)
        charge_rows(request.scope, returned)
        return _geojson(request, parts, headers, settings)
    if items.fmt in ("csv", "hxl"):
        body = export.table(c, query, rel, hxl=items.fmt == "hxl", session=session)
        name = f"{c.id}{'-hxl' if items.fmt == 'hxl' else ''}.csv"
    else:
        body = export.ogr(c, query, rel, items.fmt, session=session)
        name = f"{c.id}.{items.fmt}"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=export.FORMATS[items.fmt], headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response,
            summary="One feature", responses={200: {"content": {GEOJSON: {}, "text/html": {}}}},
            openapi_extra=KEY_SECURITY)
async def get_item(collection_id: str, feature_id: str, request: Request,
                   item: ItemDep) -> Response:
    """The lean path, the most frequent request of a map client: for a key seen before (or
    none), ONE prepared statement on the event loop (`server.db.async_reads`: no worker
    thread) reads the key's row, the layer version and the feature together. A key not seen
    yet, or a bad parameter, is checked on its own first, in ONE worker-thread hop (401
    before 400 and 404). Collection metadata is static (no query)."""
    raw_key = presented_key(request)
    if item.html:
        return await run_in_threadpool(_item_html, request, item, feature_id, raw_key)
    c = item.collection
    key_id, guess = acted_as(request).guess(raw_key)
    if (guess is None or item.error is not None or not feature_id.isdecimal()
            or len(feature_id) > 18):
        return await run_in_threadpool(_item_reply, request, item, feature_id, raw_key)
    # ONE statement on the event loop: the key's row, the layer version and the feature as
    # the key's last principal sees it; the row is checked before anything is output
    fid = int(feature_id)
    policy = policy_of(request)
    reads = request.app.state.async_reads
    ver, row, found = await features.item_with_key_async(
        c, fid, item.query, release_for(guess, c.id, policy, alias="t"), key_id=key_id,
        reads=reads)
    principal = _confirm(request, raw_key, row)
    if principal != guess:  # the key changed role or organisation: read it again
        ver, _, found = await features.item_with_key_async(
            c, fid, item.query, release_for(principal, c.id, policy, alias="t"), reads=reads)
    return _item_response(request, c, fid, found, ver, principal, item.crs)


def _item_reply(request: Request, item: ItemParams, feature_id: str,
                raw_key: str | None) -> Response:
    """A feature by id for a key not seen yet, an id that is not a number or a bad parameter:
    the key is checked on its own first (401 before 400 and 404)."""
    c = item.collection
    with request.app.state.read_sessionmaker() as session:  # autocommit connections
        principal = remembered(request, raw_key, principal_for(raw_key, session=session))
        item.checked()
        fid = features.feature_id_of(c, feature_id)  # 404 after the key's 401
        rel = release_for(principal, c.id, policy_of(request), alias="t")
        ver, _, found = features.item_with_key(c, fid, item.query, rel, session=session)
    return _item_response(request, c, fid, found, ver, principal, item.crs)


def _item_html(request: Request, item: ItemParams, feature_id: str,
               raw_key: str | None) -> Response:
    c = item.collection
    with request.app.state.read_sessionmaker() as session:
        principal = remembered(request, raw_key, principal_for(raw_key, session=session))
        item.checked()
        fid = features.feature_id_of(c, feature_id)
        rel = release_for(principal, c.id, policy_of(request), alias="t")
        _, _, found = features.item_with_key(c, fid, ItemQuery(), rel, session=session)
    feature = orjson.loads(features.item_body(c, fid, found, base_url=base_url(request)))
    return _html_page(request, pages.item(_page(request), {"id": c.id, "title": c.title},
                                          feature), principal)


def _item_response(request: Request, c: Collection, fid: int, found: str | None,
                   ver: LayerVersion, principal: Principal, crs_uri: str) -> Response:
    body = features.item_body(c, fid, found, base_url=base_url(request))
    tag = caching.etag(request, [ver], cache_key(principal))
    if principal.is_analyst and not request.query_params and c.id in writes.WRITABLE:
        tag = writes.etag(body)  # the feature's own tag: what a Part 4 If-Match compares with
    headers = vary_by_key(principal, caching.headers_for(
        [ver], tag, "public, max-age=0, must-revalidate"))
    headers["Content-Crs"] = f"<{crs_uri}>"
    href = f"{base_url(request)}/collections/{c.id}"
    headers["Link"] = (f'<{href}/items/{fid}>; rel="self"; type="{GEOJSON}", '
                       f'<{href}/items/{fid}?f=html>; rel="alternate"; type="text/html", '
                       f'<{href}>; rel="collection"; type="application/json"')
    if (cached := caching.not_modified(request, tag, headers)) is not None:
        return cached
    return Response(body, media_type=GEOJSON, headers=headers)
