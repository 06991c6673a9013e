"""HTTP validators for responses derived from one or more layers' data versions: a strong ETag
(the versions plus everything that shapes the representation) and Last-Modified (the layers' last
change). `If-None-Match` that matches gives 304 without running the query."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC
from email.utils import format_datetime

from fastapi import Request
from fastapi.responses import Response

from server.compression import chosen_encoding
from server.queries.versions import LayerVersion


def etag(request: Request, layers: Iterable[LayerVersion], *extra: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for v in layers:
        h.update(f"{v.layer}:{v.version};".encode())
    h.update(request.url.path.encode())
    h.update(b"?" + "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
             .encode())
    coding = chosen_encoding(request.headers.get("accept-encoding"))  # one tag per encoding
    for part in (request.headers.get("accept", ""), {"gzip": "gz", "br": "br"}.get(coding or "", ""),
                 *extra):
        h.update(b"|" + part.encode())
    return f'"{h.hexdigest()}"'


def matches(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` (or is `*`)."""
    return _matches(header, tag)


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(part.strip().removeprefix("W/") == tag for part in header.split(","))


def headers_for(layers: list[LayerVersion], tag: str, cache_control: str) -> dict[str, str]:
    changed = max(v.changed_at for v in layers) if layers else None
    out = {"ETag": tag, "Cache-Control": cache_control}
    if changed is not None:
        out["Last-Modified"] = format_datetime(changed.astimezone(UTC), usegmt=True)
    return out


def not_modified(request: Request, tag: str, headers: dict[str, str]) -> Response | None:
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return None
