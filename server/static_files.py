"""The viewer's static files (/static): each compressible file compressed once per encoding and kept
in memory (keyed by path, size and modification time, so an edited
file is compressed again), with a Cache-Control header and an ETag of its own per encoding.

The response middleware would otherwise compress the 800 KB map library on every request, chunk by
chunk (~0.1 s of CPU); here it is done once, whole (197 KB in brotli instead of 212 KB; a higher
level saves little more and costs seconds). Vendored libraries may be cached for a day;
the viewer's own files are revalidated every time (a 304 when unchanged), so an update shows at
once."""

from __future__ import annotations

import os
import re
import threading
import zlib
from pathlib import PurePosixPath

import anyio.to_thread
import brotli
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.compression import chosen_encoding, compressible

VENDOR_CACHE = "public, max-age=86400"
VERSIONED_CACHE = "public, max-age=31536000, immutable"
OWN_CACHE = "no-cache"
VERSION = re.compile(r"\d+(\.\d+)+([-+][0-9A-Za-z.-]+)?")
MAX_COMPRESSED_FILE = 16 * 1024 * 1024


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=5, lgwin=22))
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(body) + c.flush()


def _cache_control(path: str) -> str:
    parts = PurePosixPath(path).parts
    if parts[:1] != ("vendor",):
        return OWN_CACHE
    return VERSIONED_CACHE if len(parts) > 3 and VERSION.fullmatch(parts[2]) else VENDOR_CACHE


class CachedStaticFiles(StaticFiles):
    def __init__(self, *, directory: str) -> None:
        super().__init__(directory=directory)
        self._compressed: dict[tuple[str, int, int, str], bytes] = {}
        self._lock = threading.Lock()

    def _encoded(self, path: str, stat: os.stat_result, encoding: str) -> bytes:
        key = (path, stat.st_size, stat.st_mtime_ns, encoding)
        with self._lock:
            found = self._compressed.get(key)
        if found is None:
            with open(path, "rb") as f:
                found = _compress(f.read(), encoding)
            with self._lock:
                for old in [k for k in self._compressed if k[0] == path and k != key]:
                    del self._compressed[old]  # an older version of the file
                self._compressed[key] = found
        return found

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        cache = _cache_control(path)
        response.headers.setdefault("Cache-Control", cache)
        if not isinstance(response, FileResponse) or response.stat_result is None:
            return response
        request = Headers(scope=scope)
        encoding = chosen_encoding(request.get("accept-encoding"))
        stat = response.stat_result
        if (encoding is None or "range" in request or stat.st_size > MAX_COMPRESSED_FILE
                or not compressible(response.media_type or "")):
            return response
        etag = response.headers["etag"].removesuffix('"') + f'-{encoding}"'
        headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding",
                   "Last-Modified": response.headers["last-modified"]}
        if etag in [t.strip().removeprefix("W/") for t in request.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        body = await anyio.to_thread.run_sync(self._encoded, str(response.path), stat, encoding)
        return Response(body if scope["method"] == "GET" else b"", media_type=response.media_type,
                        headers={**headers, "Content-Encoding": encoding,
                                 "Content-Length": str(len(body))})
