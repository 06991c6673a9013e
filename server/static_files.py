"""The viewer's static files (/static): each compressible file compressed once per encoding and kept
in memory (keyed by path, size and modification time, so an edited
file is compressed again), with a Cache-Control header and an ETag of its own per encoding.

The response middleware would otherwise compress the map library on every request, chunk by
chunk; here it is done once, whole (smaller than chunk by chunk; a higher level saves little more
and costs far more CPU). Vendored libraries may be cached for a day;
the viewer's own files are revalidated every time (a 304 when unchanged), so an update shows at
once.

Every file up to `MAX_MEMORY_FILE` is kept in memory whole (`MemoryFiles`), with its encodings,
and answered on the event loop: no worker thread, no disk read, so the viewer's files are served
at the rate of the event loop even when every worker thread is busy with database requests. A
file is checked on disk again (in a thread) at most every `RECHECK_SECONDS`, so an edited file
shows within that time; range requests and larger files take Starlette's path."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import stat as stat_mode
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate
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
MAX_MEMORY_FILE = 4 * 1024 * 1024
RECHECK_SECONDS = 1.0


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


def _tags_match(header: str, etag: str) -> bool:
    return header.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in header.split(",")]


@dataclass
class MemoryFile:
    """One file as read at `size`/`mtime_ns`, with its compressed forms made on first request."""

    path: str
    size: int
    mtime_ns: int
    body: bytes
    media_type: str
    etag: str  # Starlette's FileResponse tag, so clients' validators stay valid
    last_modified: str
    checked: float
    encoded: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str) -> MemoryFile | None:
        """The file at `path`, or None when it is not a regular file of at most
        MAX_MEMORY_FILE bytes."""
        try:
            found = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat_mode.S_ISREG(found.st_mode) or found.st_size > MAX_MEMORY_FILE:
            return None
        with open(path, "rb") as f:
            body = f.read(MAX_MEMORY_FILE + 1)
        base = f"{found.st_mtime}-{found.st_size}"
        return cls(path, found.st_size, found.st_mtime_ns, body,
                   mimetypes.guess_type(path)[0] or "text/plain",
                   f'"{hashlib.md5(base.encode(), usedforsecurity=False).hexdigest()}"',
                   formatdate(found.st_mtime, usegmt=True), time.monotonic())

    def unchanged_on_disk(self) -> bool:
        try:
            found = os.stat(self.path)
        except OSError:
            return False
        return (found.st_size, found.st_mtime_ns) == (self.size, self.mtime_ns)

    async def response(self, scope: Scope, cache_control: str,
                       extra: dict[str, str] | None = None) -> Response:
        """200 (the chosen encoding) or 304, with ETag, Last-Modified and Cache-Control."""
        request = Headers(scope=scope)
        encoding = chosen_encoding(request.get("accept-encoding")) \
            if compressible(self.media_type) else None
        etag = self.etag if encoding is None else self.etag.removesuffix('"') + f'-{encoding}"'
        headers = {"ETag": etag, "Cache-Control": cache_control,
                   "Last-Modified": self.last_modified, **(extra or {})}
        if compressible(self.media_type):
            headers["Vary"] = ", ".join(v for v in (headers.get("Vary"), "Accept-Encoding") if v)
        if_none_match = request.get("if-none-match")
        if if_none_match is not None:
            if _tags_match(if_none_match, etag):
                return Response(status_code=304, headers=headers)
        elif (since := parsedate(request.get("if-modified-since", ""))) is not None \
                and (modified := parsedate(self.last_modified)) is not None and since >= modified:
            return Response(status_code=304, headers=headers)
        body = self.body
        if encoding is not None:
            found = self.encoded.get(encoding)
            if found is None:  # once per file and encoding
                found = self.encoded[encoding] = await asyncio.get_running_loop().run_in_executor(
                    _FILE_THREADS, _compress, self.body, encoding)
            body = found
            headers["Content-Encoding"] = encoding
        headers["Content-Length"] = str(len(body))
        return Response(body if scope["method"] == "GET" else b"", media_type=self.media_type,
                        headers=headers)


#: reads and compressions of kept files: threads of their own, never behind the requests' ones
_FILE_THREADS = ThreadPoolExecutor(2, thread_name_prefix="truce-files")


class MemoryFiles:
    """Files kept in memory by full path; each checked on disk again (one `stat`) at most every
    RECHECK_SECONDS, and read again when it changed."""

    def __init__(self) -> None:
        self._files: dict[str, MemoryFile | None] = {}

    async def get(self, path: str) -> MemoryFile | None:
        found = self._files.get(path)
        if found is not None and time.monotonic() - found.checked < RECHECK_SECONDS:
            return found
        if found is not None and found.unchanged_on_disk():  # a stat: on the loop
            found.checked = time.monotonic()
            return found
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(_FILE_THREADS, MemoryFile.read, path)
        if found is None:
            self._files.pop(path, None)
        else:
            self._files[path] = found
        return found


class CachedStaticFiles(StaticFiles):
    def __init__(self, *, directory: str) -> None:
        super().__init__(directory=directory)
        self._compressed: dict[tuple[str, int, int, str], bytes] = {}
        self._lock = threading.Lock()
        self._memory = MemoryFiles()
        self._root = os.path.realpath(directory)
        self._resolved: dict[str, str] = {}  # a kept file's path -> its real path

    async def from_memory(self, path: str, scope: Scope) -> Response | None:
        if scope["method"] not in ("GET", "HEAD") or "range" in Headers(scope=scope):
            return None
        if "\x00" in path:
            return None  # Starlette's own checks and answers
        full = self._resolved.get(path)
        if full is None:
            full = os.path.realpath(os.path.join(self._root, path))
            if not full.startswith(self._root + os.sep):
                return None
        found = await self._memory.get(full)
        if found is None:
            self._resolved.pop(path, None)
            return None
        if len(self._resolved) < 10_000:  # the files asked for, not every path tried
            self._resolved[path] = full
        return await found.response(scope, _cache_control(path))

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
        if (kept := await self.from_memory(path, scope)) is not None:
            return kept
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
