"""Request limits as plain ASGI middleware: a body-size cap (413), a body read timeout (408) and
per-key token buckets (429 with Retry-After). Both answer with the project's JSON error body."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import PayloadTooLargeError, RequestTimeoutError
from server.security import keys


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


_CLOSE = [(b"connection", b"close")]  # the rest of a refused body is never read


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` (413), at once when Content-Length says so, else while
    reading (a chunked body); refuse a body not received whole within `timeout` seconds of the
    request's headers (408). Both answers are the JSON error body, sent by this middleware: the
    app's own answer to the interrupted read (FastAPI's 400 "error parsing the body") is dropped.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = (413, {"code": "payload_too_large",
                           "description": f"the request body is larger than {self.max_bytes} bytes"})
        has_body = False
        for name, value in scope.get("headers", []):
            if name == b"transfer-encoding":
                has_body = True
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 1
                has_body = has_body or length > 0
                if length > self.max_bytes:
                    await send_json(send, *too_large, _CLOSE)
                    return
        if not has_body:  # nothing to count or wait for (most requests: no cost)
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        seen = 0
        whole = False
        refused: tuple[int, dict[str, Any]] | None = None
        started = False

        async def guarded() -> Message:
            nonlocal seen, whole, refused
            if whole or deadline is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    refused = (408, {"code": "request_timeout", "description":
                                     f"the request body was not received within {self.timeout:g} "
                                     "s"})
                    raise RequestTimeoutError(refused[1]["description"]) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if seen > self.max_bytes:
                    refused = too_large
                    raise PayloadTooLargeError(too_large[1]["description"])
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused is not None and not started:
                return  # the app's answer to the refused body; ours is sent below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded, tracked)
        except Exception:
            if refused is None or started:
                raise
        if refused is not None and not started:
            await send_json(send, *refused, _CLOSE)


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
