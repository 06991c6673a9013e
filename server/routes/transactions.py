"""OGC API - Features Part 4 (Create, Replace, Update, Delete) on incidents, for analysts and
admins: POST /collections/{id}/items, PUT/PATCH/DELETE /collections/{id}/items/{fid}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Request
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep, base_url
from server.errors import InvalidQueryError, UnsupportedMediaTypeError
from server.params import CRS84
from server.routes import collections
from server.routes.alerts import run_after_write
from server.schemas.incidents import IncidentFeatureIn
from server.security.dependencies import PrincipalDep, require_roles
from server.security.principal import Principal, Role
from server.services import incident_writes as service

router = APIRouter(tags=["transactions (OGC API - Features Part 4)"])
_writer = require_roles(Role.ANALYST, Role.ADMIN)
Writer = Annotated[Principal, Depends(_writer)]
FeatureId = Annotated[int, Path(ge=1, le=2**62, description="the feature's id")]
IfMatch = Annotated[str | None, Header(
    description="the ETag of the feature as last read (GET it without parameters); a stale "
    "one gets 412; `*` only asks that it exists")]
GEOJSON = "application/geo+json"
FEATURE_TYPES = (GEOJSON, "application/json")
PATCH_TYPES = ("application/merge-patch+json", "application/json")


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema with its $defs inlined (OpenAPI resolves $ref from its root)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_SCHEMA = _inlined(IncidentFeatureIn.model_json_schema())
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "not JSON, not a GeoJSON Feature, or an id that does not fit"},
    401: {"description": "no API key"}, 403: {"description": "a key of another role"},
    404: {"description": "no such feature"}, 405: {"description": "a read-only collection"},
    409: {"description": "a workflow property changed, or a duplicate source_id"},
    413: {"description": "the body is too large"},
    415: {"description": "an unsupported Content-Type"},
    422: {"description": "the feature breaks the incidents schema (every problem listed)"},
}
_PRECONDITIONS: dict[int | str, dict[str, Any]] = {
    412: {"description": "If-Match does not match the feature's current ETag"},
    428: {"description": "If-Match is required by this server (TRUCE_SECURITY_REQUIRE_IF_MATCH)"},
}


def _body(schema_types: tuple[str, ...], schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True,
                            "content": {t: {"schema": schema} for t in schema_types}}}


async def _raw(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw)]


def _media(request: Request, allowed: tuple[str, ...]) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in allowed:
        raise UnsupportedMediaTypeError(
            f"Content-Type {kind or '(none)'!r} is not accepted here; send one of: "
            f"{', '.join(allowed)}", accepted=list(allowed))


def _crs(request: Request) -> None:
    """Bodies are in CRS84 (lon/lat); a Content-Crs naming another CRS is refused."""
    crs = request.headers.get("content-crs")
    if crs is not None and crs.strip().strip("<>").strip() != CRS84:
        raise InvalidQueryError(f"bodies are accepted in CRS84 (lon/lat) only; Content-Crs "
                                f"was {crs!r}", crs=CRS84)


def _answer(written: service.Written, status: int, extra: dict[str, str] | None = None
            ) -> Response:
    return Response(written.body, status_code=status, media_type=GEOJSON,
                    headers={"ETag": written.etag, "Cache-Control": "no-store", **(extra or {})})


@router.post(
    "/collections/{collection_id}/items", status_code=201, response_class=Response,
    summary="Create a feature (Part 4; analysts): a GeoJSON Feature with a Point geometry; "
    "or search with a CQL2-JSON filter as the body (any key)",
    description="The new incident starts `reported` and `restricted` (the verification workflow "
    "releases it). Missing `source_id` becomes `api-<id>`; missing admin pcodes come from the "
    "admin areas containing the point. Answers 201 with the feature, `Location` and `ETag`. "
    "A JSON body that is a CQL2-JSON expression (an object with `op`, not a Feature; "
    "`application/json` or `application/query-cql-json`) is a search instead: it answers "
    "200 with the page that GET with `filter-lang=cql2-json` would, the query string's "
    "parameters applied too (what OWSLib's `collection_items(cql=...)` sends).",
    responses={201: {"content": {GEOJSON: {}}, "headers": {"Location": {
        "description": "the new feature's URL", "schema": {"type": "string"}}}}, **_ERRORS},
    openapi_extra=_body(FEATURE_TYPES, _SCHEMA))
def create_item(collection_id: str, request: Request, raw: RawBody, principal: PrincipalDep,
                session: SessionDep, background: BackgroundTasks) -> Response:
    if collections.is_search(request, raw):  # a CQL2-JSON filter, as OWSLib's cql= posts it
        return collections.search(request, collection_id, raw, principal, session)
    principal = _writer(principal)
    _media(request, FEATURE_TYPES)
    _crs(request)
    written = service.create(collection_id, raw, principal, base_url=base_url(request),
                             session=session)
    background.add_task(run_after_write, request.app)
    location = f"{base_url(request)}/collections/{collection_id}/items/{written.id}"
    return _answer(written, 201, {"Location": location})


@router.put(
    "/collections/{collection_id}/items/{feature_id}", response_class=Response,
    summary="Replace a feature (Part 4; analysts)",
    description="Every writable property is set from the body (absent ones become null; "
    "absent admin pcodes are those of the areas containing the point). Given admin pcodes must "
    "name admin areas of their level. `verification_status` and `sensitivity` may be repeated, "
    "not changed.",
    responses={200: {"content": {GEOJSON: {}}}, **_ERRORS, **_PRECONDITIONS},
    openapi_extra=_body(FEATURE_TYPES, _SCHEMA))
def replace_item(collection_id: str, feature_id: FeatureId, request: Request, raw: RawBody,
                 principal: Writer, session: SessionDep, settings: SettingsDep,
                 background: BackgroundTasks, if_match: IfMatch = None) -> Response:
    _media(request, FEATURE_TYPES)
    _crs(request)
    written = service.replace(collection_id, feature_id, raw, principal, if_match=if_match,
                              require_if_match=settings.security.require_if_match,
                              base_url=base_url(request), session=session)
    background.add_task(run_after_write, request.app)
    return _answer(written, 200)


@router.patch(
    "/collections/{collection_id}/items/{feature_id}", response_class=Response,
    summary="Update a feature (Part 4; analysts): a JSON merge patch (RFC 7396)",
    description="`{\"properties\": {\"fatalities\": 3, \"notes\": null}}` sets fatalities and "
    "clears notes; a `geometry` replaces the point. The result is checked in full.",
    responses={200: {"content": {GEOJSON: {}}}, **_ERRORS, **_PRECONDITIONS},
    openapi_extra=_body(PATCH_TYPES, {"type": "object", "properties": {
        "geometry": {"type": "object"}, "properties": {"type": "object"}}}))
def update_item(collection_id: str, feature_id: FeatureId, request: Request, raw: RawBody,
                principal: Writer, session: SessionDep, settings: SettingsDep,
                background: BackgroundTasks, if_match: IfMatch = None) -> Response:
    _media(request, PATCH_TYPES)
    _crs(request)
    written = service.update(collection_id, feature_id, raw, principal, if_match=if_match,
                             require_if_match=settings.security.require_if_match,
                             base_url=base_url(request), session=session)
    background.add_task(run_after_write, request.app)
    return _answer(written, 200)


@router.delete(
    "/collections/{collection_id}/items/{feature_id}", status_code=204,
    response_class=Response, summary="Delete a feature (Part 4; analysts)",
    description="The change feed then carries a tombstone (`deleted`), and the feature's "
    "history keeps its last state.",
    responses={**{k: v for k, v in _ERRORS.items() if k not in (400, 413, 415, 422)},
               **_PRECONDITIONS})
def delete_item(collection_id: str, feature_id: FeatureId, request: Request,
                principal: Writer, session: SessionDep, settings: SettingsDep,
                if_match: IfMatch = None) -> Response:
    service.delete(collection_id, feature_id, principal, if_match=if_match,
                   require_if_match=settings.security.require_if_match,
                   base_url=base_url(request), session=session)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
