"""The answers that need nothing but memory, given before the rest of the middleware and the
router (plain ASGI): `GET /health/live` and the viewer's files kept in memory
(`server.static_files`), for a request without a key (a key is checked on every path, by the
usual one). They still get the security headers, the
request id, the access log line and the request metrics (the middleware outside this one), and
are never queued by admission control; everything else (a key to check, a file not kept, a
range request, another method) takes the usual path."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.limits import app_path
from server.static_files import CachedStaticFiles

_LIVE = json.dumps({"status": "live"}, separators=(",", ":")).encode()
_KEY_HEADERS = frozenset({b"x-api-key", b"authorization"})


@dataclass(frozen=True)
class _Template:
    """What `server.request_id.route_template` reads from `scope["route"]`."""

    path: str


_LIVE_ROUTE = _Template("/health/live")
_STATIC_ROUTE = _Template("/static/{path}")


class FastPathMiddleware:
    def __init__(self, app: ASGIApp, static: CachedStaticFiles | None) -> None:
        self.app = app
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") \
                or any(name in _KEY_HEADERS for name, _ in scope.get("headers", [])):
            await self.app(scope, receive, send)  # a presented key is checked on every path
            return
        path = app_path(scope)
        if path == "/health/live":
            scope["route"] = _LIVE_ROUTE
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", b"%d" % len(_LIVE)),
                (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body",
                        "body": _LIVE if scope["method"] == "GET" else b""})
            return
        if self.static is not None and path.startswith("/static/"):
            relative = os.path.normpath(path[len("/static/"):])
            if not relative.startswith(("..", "/")) and relative != ".":
                kept = await self.static.from_memory(relative, scope)
                if kept is not None:
                    scope["route"] = _STATIC_ROUTE
                    await kept(scope, receive, send)
                    return
        await self.app(scope, receive, send)
