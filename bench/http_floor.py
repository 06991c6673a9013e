"""The HTTP floor of `python -m bench api`: an ASGI app that does nothing but answer `size`
bytes (`GET /?size=N`), served by the same uvicorn stack as both APIs (one process, uvloop,
httptools). Asked by the same client in the same run, it is what any Python API costs on this
machine before it does any work: the part of a request's time no query can remove."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

_MAX = 16 * 1024 * 1024


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = parse_qs(scope.get("query_string", b"").decode())
    size = min(_MAX, max(0, int(query.get("size", ["0"])[0] or 0)))
    body = b"x" * size
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/geo+json"),
                            (b"content-length", str(size).encode())]})
    await send({"type": "http.response.body", "body": body})
