"""Request limits as plain ASGI middleware: a body-size cap (413) and per-key token buckets
(429 with Retry-After). Both answer with the project's JSON error body."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import PayloadTooLargeError
from server.security import keys


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with the project's JSON error body (see server.errors), from ASGI middleware."""
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimitMiddleware:
    """Refuse bodies over `max_bytes`: at once when Content-Length says so, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than {self.max_bytes} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await send_json(send, 413, {"code": "payload_too_large",
                                                "description": detail})
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLargeError(detail)
            return message

        await self.app(scope, counted, send)


class TokenBuckets:
    """In-process token buckets, one per caller, least recently used evicted past `max_callers`."""

    def __init__(self, rate: float, burst: int, max_callers: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str, now: float | None = None) -> float:
        """Take one token; return 0 if allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[caller] = (tokens, now)
            while len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
            return wait


def caller_key(scope: Scope) -> str | None:
    """The key id a request presents (Authorization: Bearer or X-API-Key), if well formed."""
    for name, value in scope.get("headers", []):
        raw = None
        if name == b"x-api-key":
            raw = value.decode("latin-1").strip()
        elif name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            raw = token.strip() if scheme.lower() == "bearer" else None
        if raw:
            return keys.key_id(raw)
    return None


class RateLimitMiddleware:
    """Per key (and, when configured, per client address for anonymous requests)."""

    def __init__(self, app: ASGIApp, rate: float, burst: int,
                 anonymous_rate: float | None = None) -> None:
        self.app = app
        self.keyed = TokenBuckets(rate, burst)
        self.anonymous = TokenBuckets(anonymous_rate, burst) if anonymous_rate else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = caller_key(scope)
        wait = 0.0
        if key is not None:
            wait = self.keyed.take(key)
        elif self.anonymous is not None:
            client = scope.get("client") or ("unknown", 0)
            wait = self.anonymous.take(str(client[0]))
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            await send_json(send, 429, {"code": "rate_limited",
                                        "description": f"too many requests; retry in {retry} s"},
                            [(b"retry-after", retry.encode())])
            return
        await self.app(scope, receive, send)
