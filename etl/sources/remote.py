"""Files given by URL (http/https): streamed to a local file with a size cap and a timeout, and
named so that format detection works (the URL's extension, else its Content-Type or
Content-Disposition, else the first bytes)."""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from .tabular import SourceError

CHUNK = 1 << 20
KNOWN_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".geojson", ".geojsonl", ".ndjson",
                  ".geojsons", ".gpkg", ".shp", ".zip", ".kml", ".kmz")
CONTENT_TYPES = {
    "application/geo+json": ".geojson",
    "application/vnd.geo+json": ".geojson",
    "application/json": ".geojson",
    "application/geo+json-seq": ".geojsonl",
    "application/x-ndjson": ".geojsonl",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/geopackage+sqlite3": ".gpkg",
    "application/x-sqlite3": ".gpkg",
    "application/vnd.google-earth.kml+xml": ".kml",
    "application/vnd.google-earth.kmz": ".kmz",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _name(url: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "download"


def _suffix_from_headers(headers: Message) -> str | None:
    disposition = headers.get_filename()
    if disposition:
        suffix = PurePosixPath(disposition).suffix.lower()
        if suffix in KNOWN_SUFFIXES:
            return suffix
    content_type = (headers.get_content_type() or "").lower()
    return CONTENT_TYPES.get(content_type)


def _suffix_from_bytes(head: bytes) -> str:
    if head.startswith(b"SQLite format 3"):
        return ".gpkg"
    if head.startswith(b"PK\x03\x04"):
        return ".zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[", b"\x1e")):
        return ".geojson"
    if text.startswith(b"<") and b"<kml" in head.lower():
        return ".kml"
    return ".csv"


def fetch(url: str, directory: Path, *, max_bytes: int, timeout: float) -> Path:
    """Download `url` into `directory`; return the file. SourceError says what went wrong: an
    HTTP error status, a timeout, an unreachable host, or a body larger than `max_bytes`."""
    if not is_url(url):
        raise SourceError(f"{url!r} is not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": "truce-etl",
                                                   "Accept-Encoding": "identity"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise SourceError(f"{url}: no answer within {timeout:g} s") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise SourceError(f"{url}: no answer within {timeout:g} s") from None
        raise SourceError(f"{url}: cannot be fetched: {reason}") from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise SourceError(f"{url}: {int(declared):,} bytes is more than the "
                              f"{max_bytes:,}-byte limit (TRUCE_ETL_URL_MAX_BYTES)")
        name = _name(url)
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in KNOWN_SUFFIXES:
            suffix = _suffix_from_headers(response.headers) or ""
            name = f"{name}{suffix}"
        partial = directory / f"{name}.partial"
        size = 0
        head = b""
        try:
            with open(partial, "wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceError(f"{url}: more than the {max_bytes:,}-byte limit "
                                          "(TRUCE_ETL_URL_MAX_BYTES)")
                    if len(head) < 4096:
                        head += chunk[:4096]
                    out.write(chunk)
        except TimeoutError:
            partial.unlink(missing_ok=True)
            raise SourceError(f"{url}: the download stalled for {timeout:g} s after "
                              f"{size:,} bytes") from None
        except SourceError:
            partial.unlink(missing_ok=True)
            raise
        except (OSError, http.client.HTTPException) as exc:
            partial.unlink(missing_ok=True)
            raise SourceError(f"{url}: the download broke off after {size:,} bytes: {exc}") from None
    if declared and declared.isdigit() and size < int(declared):
        partial.unlink(missing_ok=True)
        raise SourceError(f"{url}: the download ended after {size:,} of {int(declared):,} bytes")
    if not suffix:
        name = f"{name}{_suffix_from_bytes(head)}"
    target = directory / name
    partial.rename(target)
    return target
