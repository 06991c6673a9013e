"""OGC API - Features: landing, conformance, collections, items, item."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from server.db.collections import COLLECTIONS
from server.deps import SessionDep, SettingsDep
from server.errors import InvalidQueryError
from server.params import parse_bbox, parse_datetime
from server.queries.features import ItemQuery
from server.services import features

router = APIRouter(tags=["features"])
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _wants_html(request: Request) -> bool:
    if request.query_params.get("f") == "json":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept.split(",")[0] or request.query_params.get("f") == "html"


@router.get("/", summary="Landing page (JSON), or the map viewer for a browser")
def landing(request: Request, settings: SettingsDep) -> Response:
    if _wants_html(request) and settings.api.web_dir:
        return FileResponse(f"{settings.api.web_dir}/index.html", media_type="text/html")
    base = _base(request)
    return JSONResponse({
        "title": "Truce map API",
        "description": "Agreement areas, incidents and aid deliveries for ceasefire coordination.",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "href": f"{base}/api"},
            {"rel": "service-doc", "type": "text/html", "href": f"{base}/api.html"},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
        ],
    })


@router.get("/conformance", summary="Conformance classes this API implements")
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="The published collections")
def list_collections(request: Request, session: SessionDep) -> dict[str, Any]:
    base = _base(request)
    return {
        "collections": [features.describe(c, base_url=base, session=session)
                        for c in COLLECTIONS.values()],
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/collections"}],
    }


@router.get("/collections/{collection_id}", summary="One collection's metadata")
def get_collection(collection_id: str, request: Request, session: SessionDep) -> dict[str, Any]:
    return features.describe(features.collection(collection_id), base_url=_base(request),
                             session=session)


@router.get("/collections/{collection_id}/items", response_class=Response,
            summary="Features as GeoJSON, filtered by bbox, datetime and properties",
            responses={200: {"content": {GEOJSON: {}}}})
def get_items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in lon/lat")] = None,
    datetime: Annotated[str | None, Query(description="instant or interval a/b, '..' open")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size; default 10")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    c = features.collection(collection_id)
    page_size = limit or settings.api.default_limit
    if page_size > settings.api.max_limit:
        raise InvalidQueryError(f"limit must be at most {settings.api.max_limit}")
    start, end = parse_datetime(datetime)
    params = dict(request.query_params)
    query = ItemQuery(bbox=parse_bbox(bbox), start=start, end=end,
                      equals=features.property_filters(c, params), limit=page_size, offset=offset)
    body = features.items_page(c, query, base_url=f"{_base(request)}/collections/{c.id}/items",
                               params=params, session=session)
    return Response(body, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response,
            summary="One feature", responses={200: {"content": {GEOJSON: {}}}})
def get_item(collection_id: str, feature_id: str, session: SessionDep) -> Response:
    c = features.collection(collection_id)
    return Response(features.item(c, feature_id, session=session), media_type=GEOJSON)
