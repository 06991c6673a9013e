"""The items parameters of the OpenAPI document as OGC API - Features Part 1 defines them
(17-069r4, 7.15.2-7.15.4; what the OGC test suite ets-ogcapi-features10 checks): `bbox`, `datetime`
and `limit` are form-style query parameters, not exploded, and `bbox` is an array of 4 or 6
numbers. The pattern each already declares stays (what the server enforces on the text)."""

from __future__ import annotations

from typing import Any

_OGC_QUERY = ("bbox", "datetime", "limit")


def ogc_item_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the items operations' OGC parameters declared the OGC way (in place;
    returned)."""
    for path, operations in document.get("paths", {}).items():
        if not path.endswith("/items") or "get" not in operations:
            continue
        for p in operations["get"].get("parameters", []):
            if p.get("in") != "query" or p.get("name") not in _OGC_QUERY:
                continue
            p["style"], p["explode"] = "form", False
            schema = {k: v for k, v in p.get("schema", {}).items() if k != "anyOf"}
            if p["name"] == "bbox":
                p["schema"] = {**schema, "type": "array", "minItems": 4, "maxItems": 6,
                               "items": {"type": "number"}}
            elif p["name"] == "datetime":
                p["schema"] = {**schema, "type": "string"}
    return document
