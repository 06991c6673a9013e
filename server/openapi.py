"""The OpenAPI document says every error an operation can answer, each with the one JSON error
body of `server.errors`: FastAPI's own 422 `HTTPValidationError` is never sent (a bad parameter
is a 400 here), and the answers given outside the routes (a presented key that is unknown, the
rate limit, the body cap, CORS, a database that is down) are declared on every operation they
can reach. A client (or a fuzzer) reading the document learns the real answers."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from server.db.collections import COLLECTIONS
from server.openapi_oas30 import to_oas30
from server.openapi_ogc import ogc_item_parameters
from server.services import cql2, features
from server.settings import ApiSettings

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string", "description": "a stable machine-readable code",
                 "examples": ["invalid_parameter"]},
        "description": {"type": "string", "description": "what is wrong, for a person"},
    },
    "additionalProperties": True,
}
_REF = {"$ref": "#/components/schemas/Error"}

#: answers any operation can give (server/security/*, server/errors.py)
_EVERYWHERE: dict[str, str] = {
    "400": "a parameter, header or body is wrong (the body says which and why)",
    "401": "the API key presented is unknown, revoked or expired (or a key is needed)",
    "403": "a key of a role that may not do this, or a cross-origin request from an origin "
           "not allowed",
    "429": "too many requests: the rate limit of the key or the address (Retry-After; "
           "every answer carries RateLimit-Limit, -Remaining, -Reset and -Policy)",
    "503": "the database is unreachable, or the query took too long",
}
#: a path naming a resource, or a parameter naming one by id (`area_id`, `incident_id`)
_NAMING_A_RESOURCE = {"404": "no such resource"}
_WITH_BODY = {
    "408": "the body did not arrive in time",
    "413": "the body is larger than the server accepts",
    "415": "an unsupported Content-Type",
}
_VALIDATION_REFS = ("#/components/schemas/HTTPValidationError",)


def _is_fastapi_validation(answer: dict[str, Any]) -> bool:
    content = answer.get("content", {}).get("application/json", {})
    return content.get("schema", {}).get("$ref") in _VALIDATION_REFS


def _declare(operation: dict[str, Any], codes: dict[str, str]) -> None:
    answers: dict[str, Any] = operation.setdefault("responses", {})
    for code, description in codes.items():
        answers.setdefault(code, {"description": description})
    for code, answer in answers.items():
        if code[:1] in ("4", "5"):
            answer["content"] = {"application/json": {"schema": _REF}}


def declare_errors(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every operation's error answers declared (in place; returned)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.get("responses", {})
            if "422" in answers and _is_fastapi_validation(answers["422"]):
                del answers["422"]
            codes = dict(_EVERYWHERE)
            if any(p.get("in") == "path" or p.get("name", "").endswith("_id")
                   for p in operation.get("parameters", [])):
                codes.update(_NAMING_A_RESOURCE)
            if "requestBody" in operation:
                codes.update(_WITH_BODY)
            _declare(operation, codes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    return document


_ITEMS = "/collections/{collection_id}/items"


def _property_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    value = {k: v for k, v in schema.items() if k != "title"}
    if value.get("type") == "array":
        value = {"type": "string"}  # one value: the features whose list holds it
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": False,
            "description": f"features whose {name.replace('_', ' ')} equals this",
            "schema": value}


def collection_paths(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with one items path per collection (in place; returned): the generic path's
    parameters less `collection_id`, plus one per queryable property (OGC API - Features Part
    1, /rec/core/fc-filters), and `filter-lang` with its values. Clients read them to know
    what a filter may use: GDAL sends its `-where` to the server only for properties listed
    here and only as the `filter-lang` values it knows (`cql-text`)."""
    paths: dict[str, Any] = document.get("paths", {})
    generic = paths.get(_ITEMS, {}).get("get")
    if generic is None:
        return document
    for parameter in generic.get("parameters", []):
        if parameter.get("name") == "filter-lang":
            parameter["schema"] = {"type": "string", "enum": list(cql2.FILTER_LANGS),
                                   "default": "cql2-text"}
    for c in COLLECTIONS.values():
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"{generic.get('operationId', 'get_items')}_{c.id}"
        operation["summary"] = f"{c.title}: {generic.get('summary', '')}"
        kept = [p for p in operation.get("parameters", []) if p.get("name") != "collection_id"]
        operation["parameters"] = kept + [
            _property_parameter(name, features.property_schema(c, name))
            for name in c.properties]
        paths[f"/collections/{c.id}/items"] = {"get": operation}
    return document


def declare_limits(document: dict[str, Any], api: ApiSettings) -> dict[str, Any]:
    """`document` with the items page size bounded by the app's settings (in place; returned):
    `server.routes.query_params` declares `limit` without them, as they are not known when it
    is imported, and `offset` with its default."""
    operation = document.get("paths", {}).get(_ITEMS, {}).get("get", {})
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "limit" and parameter.get("in") == "query":
            described = f"page size: default {api.default_limit}, maximum {api.max_limit}"
            parameter["description"] = described
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": api.max_limit,
                                   "default": api.default_limit, "title": "Limit",
                                   "description": described}
        elif parameter.get("name") == "offset" and parameter.get("in") == "query":
            parameter["schema"]["default"] = 0  # pydantic leaves out a default it does not own
    return document


def install_openapi(app: FastAPI) -> None:
    """Build the app's OpenAPI document once, with the error answers declared, the app's page
    size bounds and one items path per collection."""
    build = app.openapi
    api: ApiSettings = app.state.settings.api

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = to_oas30(ogc_item_parameters(collection_paths(
                declare_limits(declare_errors(build()), api))))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

