"""HEAD wherever GET is, and `Vary: Accept, Accept-Encoding` on what GET answers, as plain ASGI
middleware (outermost but for the request id, so a HEAD gets exactly the headers a GET does:
the same ETag, Content-Length, Content-Encoding, rate-limit and security headers).

A HEAD request goes through the app as a GET; its answer's body is dropped here (every chunk
is sent empty, so a streamed answer still ends). Every GET answer may change with `Accept`
(`text/html`, `text/csv`, GeoJSON) and with `Accept-Encoding`: a cache in between must keep
them apart, so both are named in `Vary` (merged with what the answer already names)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VARY = ("Accept", "Accept-Encoding")


def _with_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names: list[str] = []
    for name, value in headers:
        if name.lower() == b"vary":
            names += [v.strip() for v in value.decode("latin-1").split(",") if v.strip()]
    if "*" in names:
        return headers
    known = {n.lower() for n in names}
    names += [v for v in _VARY if v.lower() not in known]
    rest = [(n, v) for n, v in headers if n.lower() != b"vary"]
    return [*rest, (b"vary", ", ".join(names).encode("latin-1"))]


class HeadAndVaryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_vary(list(message.get("headers", [])))}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            elif head and message["type"] == "http.response.pathsend":
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive, answer)
