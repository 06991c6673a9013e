"""Response compression: brotli when the client accepts `br`, else gzip, else none.

A pure ASGI middleware, safe for streamed responses: each body chunk is compressed and flushed
as it passes, so a client receives a streamed page as it is produced. Compressible media types
only (JSON, GeoJSON, CSV, MVT, HTML/JS/CSS, GeoPackage, FlatGeobuf); PNG/WebP/JPEG rasters are
already compressed and pass untouched, as do responses that carry a Content-Encoding, 206s and
bodies under `minimum_size`. `chosen_encoding` is the negotiation, shared with the ETag code so
that each encoding of a representation has its own strong ETag.

gzip is deflate by ISA-L (`isal`, the same gzip format zlib reads): much cheaper than zlib at
its fastest level, with a smaller body (figures in docs/BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import anyio.to_thread
import brotli
from isal import isal_zlib
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMPRESSIBLE = ("text/", "application/json", "application/geo+json", "application/schema+json",
                 "application/vnd.oai.openapi+json", "application/problem+json",
                 "application/javascript", "application/xml", "application/atom+xml",
                 "application/vnd.mapbox-vector-tile", "application/x-protobuf",
                 "application/geopackage+sqlite3", "application/flatgeobuf", "image/svg+xml")
_THREAD_MINIMUM = 128 * 1024  # larger chunks compress in a worker thread, off the event loop
#: `compress` joins parts smaller than this in all first: ISA-L fed a few bytes, then a small
#: rest without a flush between, compresses them far worse (docs/BENCHMARKS.md)
_JOIN_BELOW = 128 * 1024


def _accepts(header: str) -> dict[str, float]:
    """`Accept-Encoding` as {coding: q}; a coding with q=0 is refused."""
    out: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            out[coding.strip()] = q
    return out


def chosen_encoding(accept_encoding: str | None) -> str | None:
    """`br`, `gzip` or None for an Accept-Encoding header: brotli first when both are equally
    welcome (smaller at the same cost), the client's preference when it states one."""
    if not accept_encoding:
        return None
    accepted = _accepts(accept_encoding)
    star = accepted.get("*", 0.0)
    offers = [(accepted.get(coding, star), coding == "br", coding) for coding in ("br", "gzip")]
    q, _, coding = max(offers)
    return coding if q > 0 else None

def compressible(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media.startswith(_COMPRESSIBLE) or media.endswith("+json")


class _Compressor(Protocol):
    def feed(self, data: bytes) -> bytes: ...  # compressed so far (may hold some back)
    def chunk(self, data: bytes) -> bytes: ...  # compressed and flushed: decodable so far
    def finish(self, data: bytes) -> bytes: ...


class _Brotli:
    def __init__(self, quality: int) -> None:
        self._c = brotli.Compressor(quality=quality, lgwin=22)

    def feed(self, data: bytes) -> bytes:
        return bytes(self._c.process(data))

    def chunk(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.flush()

    def finish(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.finish()


def isal_level(gzip_level: int) -> int:
    """ISA-L's level (0-3) for a zlib-style gzip level (1-9): 1 is ISA-L 1, anything higher
    ISA-L 2 (its level 3 is much slower and no smaller)."""
    return 1 if gzip_level <= 1 else 2


class _Gzip:
    def __init__(self, level: int) -> None:
        self._c = isal_zlib.compressobj(isal_level(level), isal_zlib.DEFLATED,
                                        16 + isal_zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        return self._c.compress(data)

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(isal_zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush()


def compress(parts: Sequence[bytes], encoding: str, *, gzip_level: int,
             brotli_quality: int) -> bytes:
    """The concatenation of `parts` whole in `encoding` (`br` or `gzip`), as the middleware
    would: for a route that compresses its large body in the worker thread it already runs in
    (the response then carries Content-Encoding and the middleware passes it through) instead of
    a second hop. The parts are fed one by one: a 650 KB page is never copied to join them."""
    compressor: _Compressor = _Brotli(brotli_quality) if encoding == "br" else _Gzip(gzip_level)
    if sum(len(part) for part in parts) < _JOIN_BELOW:
        parts = [b"".join(parts)]
    out = [compressor.feed(part) for part in parts[:-1]]
    out.append(compressor.finish(parts[-1] if parts else b""))
    return b"".join(out)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int = 1024, gzip_level: int = 1,
                 brotli_quality: int = 4) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.gzip_level = gzip_level
        self.brotli_quality = brotli_quality

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = chosen_encoding(Headers(scope=scope).get("accept-encoding"))
        await _Responder(self, encoding, send)(scope, receive)


class _Responder:
    """One response: holds the start message until the first body chunk tells whether (and
    how) to compress; every later chunk is compressed and flushed as it passes."""

    def __init__(self, owner: CompressionMiddleware, encoding: str | None, send: Send) -> None:
        self.owner = owner
        self.encoding = encoding
        self.send = send
        self.start: Message | None = None
        self.compressor: _Compressor | None = None
        self.passthrough = False

    async def __call__(self, scope: Scope, receive: Receive) -> None:
        await self.owner.app(scope, receive, self.on_send)

    def _new_compressor(self) -> _Compressor:
        if self.encoding == "br":
            return _Brotli(self.owner.brotli_quality)
        return _Gzip(self.owner.gzip_level)

    async def _compress(self, data: bytes, *, last: bool) -> bytes:
        assert self.compressor is not None
        step = self.compressor.finish if last else self.compressor.chunk
        if len(data) >= _THREAD_MINIMUM:
            return await anyio.to_thread.run_sync(step, data)
        return step(data)

    async def on_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
            headers = Headers(raw=message.setdefault("headers", []))
            eligible = compressible(headers.get("content-type", ""))
            if eligible:
                MutableHeaders(raw=message["headers"]).add_vary_header("Accept-Encoding")
            self.passthrough = (self.encoding is None or not eligible
                                or "content-encoding" in headers or message["status"] in (204, 206, 304))
            if self.passthrough:
                await self.send(message)
            return
        if kind != "http.response.body" or self.passthrough:
            if self.start is not None and not self.passthrough:  # e.g. pathsend: as it is
                await self.send(self.start)
                self.start, self.passthrough = None, True
            await self.send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if self.start is not None:  # the first chunk decides
            start, self.start = self.start, None
            if not more and len(body) < self.owner.minimum_size:
                self.passthrough = True
                await self.send(start)
                await self.send(message)
                return
            self.compressor = self._new_compressor()
            headers = MutableHeaders(raw=start["headers"])
            headers["Content-Encoding"] = self.encoding or ""
            compressed = await self._compress(body, last=not more)
            if more:
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(compressed))
            await self.send(start)
            await self.send({**message, "body": compressed})
            return
        await self.send({**message, "body": await self._compress(body, last=not more)})
