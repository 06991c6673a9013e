"""Cross-origin requests (CORS) for an allow-list of origins, as plain ASGI middleware.

Off by default (an empty list): no response carries CORS headers, a browser on another origin
cannot read the API, and a preflight is a 403 with the JSON error body naming the setting.
With `TRUCE_API_CORS_ORIGINS` set, a request whose Origin is listed gets
`Access-Control-Allow-Origin` (that origin, or `*` when the list is `["*"]`) and the headers it
may read; a preflight (OPTIONS with Access-Control-Request-Method) from a listed origin is
answered 204 with the methods and headers allowed; from any other origin, 403 with the JSON error
body and no CORS header. API keys travel in headers, never in cookies, so credentials are not
allowed (`Access-Control-Allow-Credentials` is never sent).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.security.limits import send_json

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REQUEST_HEADERS = ("accept", "accept-language", "authorization", "content-type", "if-match",
                   "if-none-match", "if-modified-since", "x-api-key", "x-requested-with")
EXPOSED = ("etag", "last-modified", "link", "location", "retry-after", "content-disposition",
           "content-crs", "ogc-numbermatched", "ogc-numberreturned", "ratelimit-limit",
           "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy")
MAX_AGE = "600"


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with `Origin` added to Vary (one Vary header, merged)."""
    values = [v.decode("latin-1") for n, v in headers if n.lower() == b"vary"]
    names = [p.strip() for v in values for p in v.split(",") if p.strip()]
    if "*" in names or "origin" in (n.lower() for n in names):
        return headers
    rest = [(n, v) for n, v in headers if n.lower() != b"vary"]
    return [*rest, (b"vary", ", ".join([*names, "Origin"]).encode("latin-1"))]


class CORSMiddleware:
    """Answer preflights and mark the responses of allowed origins; `origins` empty: CORS off."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any = "*" in origins
        self.origins = {o.rstrip("/").lower() for o in origins if o != "*"}

    def allowed(self, origin: str) -> bool:
        return self.any or origin.rstrip("/").lower() in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":  # a preflight is answered here, CORS on or off
            request = Headers(scope=scope)
            origin = request.get("origin")
            if origin and "access-control-request-method" in request:
                await self._preflight(origin, request, send)
                return
        if not (self.any or self.origins):
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        origin = request.get("origin")
        allow = origin is not None and self.allowed(origin)
        cors: list[tuple[bytes, bytes]] = []
        if allow and origin is not None:
            cors = [(b"access-control-allow-origin", b"*" if self.any else origin.encode("latin-1")),
                    (b"access-control-expose-headers", ", ".join(EXPOSED).encode())]

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + cors
                message = {**message, "headers": headers if self.any else _vary_origin(headers)}
            await send(message)

        await self.app(scope, receive, marked)

    async def _preflight(self, origin: str, request: Headers, send: Send) -> None:
        method = request["access-control-request-method"].strip().upper()
        asked = [h.strip().lower() for h in request.get("access-control-request-headers", "")
                 .split(",") if h.strip()]
        vary = [(b"vary", b"Origin")] if not self.any else []
        if not self.allowed(origin):
            await send_json(send, 403, {"code": "cors_forbidden", "description":
                                        f"the origin {origin} may not call this API from a "
                                        "browser (TRUCE_API_CORS_ORIGINS)"}, vary)
            return
        refused = [h for h in asked if h not in REQUEST_HEADERS]
        if method not in METHODS or refused:
            what = f"the method {method}" if method not in METHODS else \
                f"the header(s) {', '.join(refused)}"
            await send_json(send, 403, {"code": "cors_forbidden",
                                        "description": f"{what} may not be sent cross-origin"},
                            vary)
            return
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"access-control-allow-origin", b"*" if self.any else origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(REQUEST_HEADERS).encode()),
            (b"access-control-max-age", MAX_AGE.encode()), *vary]})
        await send({"type": "http.response.body", "body": b""})
