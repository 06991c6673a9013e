"""The OpenAPI document as OpenAPI 3.0, which the API claims (conformance class
`ogcapi-features-1/1.0/conf/oas30`, the landing page's `service-desc` link typed
`application/vnd.oai.openapi+json;version=3.0`) and which GDAL, OWSLib and the OGC test suite
read. FastAPI writes 3.1 (JSON Schema 2020-12); the few 3.1 forms it uses are written here as
their 3.0 equivalents: a `null` branch or type becomes `nullable`, `const` a one-value `enum`,
schema `examples` one `example`, numeric exclusive bounds boolean ones, `contentMediaType` a
binary format."""

from __future__ import annotations

from typing import Any

VERSION = "3.0.3"
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")
_DROPPED = ("$schema", "$id", "$comment", "contentEncoding", "unevaluatedProperties",
            "dependentRequired", "dependentSchemas", "propertyNames", "contains",
            "patternProperties", "$defs", "if", "then", "else")


def schema(s: Any) -> Any:
    """One JSON Schema 2020-12 object as an OpenAPI 3.0 schema object (a new object)."""
    if not isinstance(s, dict):
        return s
    out: dict[str, Any] = {}
    for key, value in s.items():
        if key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [schema(v) for v in value]
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: schema(v) for k, v in value.items()}
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = schema(value)
        else:
            out[key] = value
    for key in _DROPPED:
        out.pop(key, None)
    if "prefixItems" in out:  # a tuple: its items' types, any number of them
        items = out.pop("prefixItems")
        out.setdefault("items", items[0] if len(items) == 1 else {"anyOf": items})
    if isinstance(out.get("type"), list):
        kinds = [t for t in out["type"] if t != "null"]
        if len(kinds) < len(out["type"]):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            del out["type"]
            out["anyOf"] = [{"type": t} for t in kinds]
    if out.get("type") == "null":
        del out["type"]
        out["nullable"] = True
    for key in ("anyOf", "oneOf"):
        if key not in out:
            continue
        branches = [b for b in out[key] if b != {"type": "null"} and b != {"nullable": True}]
        if len(branches) < len(out[key]):
            out["nullable"] = True
        if len(branches) == 1 and not (set(branches[0]) & set(out) - {key}):
            del out[key]
            out = {**branches[0], **out}
        elif branches:
            out[key] = branches
        else:
            del out[key]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples:
            out.setdefault("example", examples[0])
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), (int, float)) and not isinstance(out.get(bound), bool):
            out[plain] = out[bound]
            out[bound] = True
    if "contentMediaType" in out:
        out.pop("contentMediaType")
        out.setdefault("format", "binary")
    return out


def _content(content: dict[str, Any]) -> None:
    for media in content.values():
        if isinstance(media, dict) and "schema" in media:
            media["schema"] = schema(media["schema"])


def _headers(headers: dict[str, Any]) -> None:
    for header in headers.values():
        if isinstance(header, dict) and "schema" in header:
            header["schema"] = schema(header["schema"])


def _operation(op: dict[str, Any]) -> None:
    for p in op.get("parameters", []):
        if "schema" in p:
            p["schema"] = schema(p["schema"])
    body = op.get("requestBody")
    if isinstance(body, dict):
        _content(body.get("content", {}))
    for answer in op.get("responses", {}).values():
        if isinstance(answer, dict):
            _content(answer.get("content", {}))
            _headers(answer.get("headers", {}))


def to_oas30(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (OpenAPI 3.1, as FastAPI writes it) as OpenAPI 3.0 (in place; returned)."""
    if not str(document.get("openapi", "")).startswith("3.1"):
        return document
    document["openapi"] = VERSION
    for key in ("webhooks", "jsonSchemaDialect"):
        document.pop(key, None)
    info = document.get("info", {})
    info.pop("summary", None)
    info.get("license", {}).pop("identifier", None)
    for item in document.get("paths", {}).values():
        for key, op in item.items():
            if key == "parameters":
                for p in op:
                    if "schema" in p:
                        p["schema"] = schema(p["schema"])
            elif isinstance(op, dict):
                _operation(op)
    components = document.get("components", {})
    components["schemas"] = {k: schema(v) for k, v in components.get("schemas", {}).items()}
    for p in components.get("parameters", {}).values():
        if "schema" in p:
            p["schema"] = schema(p["schema"])
    for answer in components.get("responses", {}).values():
        _content(answer.get("content", {}))
    return document
