"""Request limits as plain ASGI middleware: a body-size cap (413), a body read timeout (408) and
token buckets (429 with Retry-After). All answer with the project's JSON error body.

Every caller is limited: a key whose secret was verified before (`ActedAs`) by its id, anyone
else (no key, a wrong one, a key not checked yet) by client address. A key id is public, so a
bucket keyed on an unverified id would let anyone who knows it lock the key out. A request costs
what it is and what it returned, in one mechanism: its route group's tokens
(`settings.ROUTE_COSTS`) are taken before it runs (429 when they are not there), and once its
answer is known the rows it returned (a page of features, `Charge.rows`) are charged on top,
`row_tokens` per 1,000 rows. Paging a layer thus costs about what its rows cost at any page
size, while heavy questions still run out. Every answer carries the IETF draft
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` headers."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import PayloadTooLargeError, RequestTimeoutError
from server.security import keys
from server.security.acted_as import ActedAs
from server.settings import LARGE_PAGE, SecuritySettings


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with the project's JSON error body (see server.errors), from ASGI middleware."""
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

    def take(self, caller: str, cost: float = 1, now: float | None = None) -> float:
        """Take `cost` tokens (at most the burst); return 0 if allowed, else the seconds until
        they are available (nothing is taken then)."""
        cost = min(float(cost), self.burst)

        def taken(tokens: float) -> tuple[float, float]:
            if tokens >= cost:
                return tokens - cost, 0.0
            return tokens, (cost - tokens) / self.rate

        return self._update(caller, now, taken)

    def charge(self, caller: str, cost: float, now: float | None = None) -> float:
        """Take `cost` tokens whatever is left (what an answer turned out to cost, known only
        once it ran): the bucket may go into debt, down to minus the burst, which the caller's
        next requests wait out. Return the tokens left."""

        def charged(tokens: float) -> tuple[float, float]:
            left = max(-self.burst, tokens - max(0.0, float(cost)))
            return left, left

        return self._update(caller, now, charged)

    def level(self, caller: str, now: float | None = None) -> float:
        """The tokens `caller` has now (a new caller: the burst)."""
        return self._update(caller, now, lambda tokens: (tokens, tokens))

    def _update(self, caller: str, now: float | None,
                change: Callable[[float], tuple[float, float]]) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(caller, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            tokens, answer = change(tokens)
            self._buckets[caller] = (tokens, now)
            while len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
            return answer

    def headers(self, tokens: float) -> list[tuple[bytes, bytes]]:
        """The IETF draft RateLimit headers for a caller holding `tokens`: the burst, what is
        left of it (whole tokens) and the seconds until it is full again."""
        reset = max(0, math.ceil((self.burst - tokens) / self.rate))
        window = max(1, math.ceil(self.burst / self.rate))
        return [(b"ratelimit-limit", b"%d" % int(self.burst)),
                (b"ratelimit-remaining", b"%d" % max(0, math.floor(tokens))),
                (b"ratelimit-reset", b"%d" % reset),
                (b"ratelimit-policy", b"%d;w=%d" % (int(self.burst), window))]


class Charge:
    """What an answer cost beyond its route group, set by the route that knows it (the rows of
    a page) and charged by `RateLimitMiddleware` before the answer leaves. Found in the ASGI
    scope under `CHARGE`."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows = 0


CHARGE = "truce.charge"


def charge_rows(scope: Scope, rows: int) -> None:
    """Count `rows` returned by this request against its caller's bucket (no-op outside the
    rate limiter, e.g. a test calling a route directly)."""
    found = scope.get(CHARGE)
    if isinstance(found, Charge):
        found.rows += rows


Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_TILE = re.compile(r"^(/collections/[^/]+)?/tiles/WebMercatorQuad/\d+/\d+/\d+$"
                   r"|^/rasters/[^/]+/tiles/|^/analysis/grid/tiles/")
_GROUPS = [("probes", re.compile(r"^/health/(live|ready)$")),
           ("analysis", re.compile(r"^/analysis/")),
           ("raster_statistics", re.compile(r"^/rasters/[^/]+/statistics$")),
           ("situation_maps", re.compile(r"^/reports/areas/[^/]+/map\.html$"))]
_ITEMS = re.compile(r"^/collections/[^/]+/items$")
_EXPORT_FORMATS = frozenset({"csv", "hxl", "gpkg", "fgb"})
_EXPORT_MEDIA = ("text/csv", "application/geopackage+sqlite3", "application/flatgeobuf")


def app_path(scope: Scope) -> str:
    """The request's path inside the app (without a `root_path` it is mounted under)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


_ROUTE_GROUP = "truce.route_group"


def route_group(scope: Scope) -> str:
    """The group of `settings.ROUTE_COSTS` a request belongs to, by its path (and, for items,
    the format asked for with `f=` or Accept). Worked out once per request: the rate limiter
    and the admission lanes both ask."""
    group: str | None = scope.get(_ROUTE_GROUP)
    if group is None:
        group = scope[_ROUTE_GROUP] = _route_group(scope)
    return group


def _route_group(scope: Scope) -> str:
    path = app_path(scope)
    if _TILE.search(path):
        return "tiles"
    for group, pattern in _GROUPS:
        if pattern.search(path):
            return group
    if _ITEMS.search(path):
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        f = next((v.lower() for k, v in query if k == "f"), None)
        accept = Headers(scope=scope).get("accept", "").lower()
        if f in _EXPORT_FORMATS or (f is None and any(m in accept for m in _EXPORT_MEDIA)):
            return "exports"
        limit = next((v for k, v in query if k == "limit"), "")
        if limit.isdecimal() and int(limit) > LARGE_PAGE:
            return "large_pages"
        if scope.get("method", "GET") in ("GET", "HEAD"):
            return "pages"
    return "default"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in proxy for proxy in proxies)


def client_address(scope: Scope, headers: Headers, proxies: tuple[Network, ...]) -> str:
    """Whom an anonymous request is limited as: the direct peer; only when the peer is a
    trusted proxy, the right-most X-Forwarded-For address that is not one (what the last
    trusted proxy saw). IPv6 clients are limited per /64 (one host's usual allocation)."""
    peer = str((scope.get("client") or ("unknown", 0))[0])
    chosen = peer
    if proxies and _trusted(_address(peer), proxies):
        hops = [hop.strip() for value in headers.getlist("x-forwarded-for")
                for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            chosen = hop
            if not _trusted(_address(hop), proxies):
                break
    address = _address(chosen)
    if address is None:
        return chosen[:100]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class RateLimitMiddleware:
    """Token buckets per verified key id, and per client address for everyone else."""

    def __init__(self, app: ASGIApp, security: SecuritySettings, verified: ActedAs) -> None:
        self.app = app
        self.keyed = TokenBuckets(security.rate_per_second, security.rate_burst)
        self.anonymous = TokenBuckets(security.anonymous_rate_per_second,
                                      security.anonymous_burst)
        self.costs = security.route_costs
        self.row_tokens = security.row_tokens
        self.proxies = tuple(ipaddress.ip_network(cidr, strict=False)
                             for cidr in security.trusted_proxies)
        self.verified = verified

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        raw = keys.presented(headers.get("x-api-key"), headers.get("authorization"))
        key_id = self.verified.verified_id(raw) if raw else None
        cost = self.costs[route_group(scope)]
        if key_id is not None:
            buckets, caller = self.keyed, key_id
        else:
            buckets, caller = self.anonymous, client_address(scope, headers, self.proxies)
        wait = buckets.take(caller, cost)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            limits = buckets.headers(buckets.level(caller))
            await send_json(send, 429, {"code": "rate_limited",
                                         "description": f"too many requests; retry in {retry} s"},
                             [(b"retry-after", retry.encode()), *limits])
            return
        charge = Charge()
        scope[CHARGE] = charge

        async def charged(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = charge.rows * self.row_tokens / 1000
                left = buckets.charge(caller, extra) if extra else buckets.level(caller)
                message = {**message, "headers": [*message.get("headers", []),
                                                  *buckets.headers(left)]}
            await send(message)

        await self.app(scope, receive, charged)
