"""Files given by URL (http/https): streamed to a local file with a size cap and a timeout, and
named so that format detection works (the URL's extension, else its Content-Type or
Content-Disposition, else the first bytes).

Every URL, the first and each redirect, passes server.outbound's rule before it is fetched:
http(s) only, no internal address unless TRUCE_ETL_URL_ALLOW admits it, and the connection goes
to the address that was checked. Errors show the URL redacted (no credentials, no tokens)."""

from __future__ import annotations

import base64
import http.client
import re
from collections.abc import Sequence
from contextlib import closing
from email.message import Message
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from server.outbound import AllowList, OutboundRefused, check, connection, redact_url, resolve

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


REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
ALLOW_SETTING = "TRUCE_ETL_URL_ALLOW"


def _refusal(shown: str, exc: OutboundRefused) -> SourceError:
    remedy = f"; list it in {ALLOW_SETTING} to load from it" if exc.allowable else ""
    return SourceError(f"{shown}: {exc.reason}{remedy}")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _basic_auth(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _get(url: str, shown: str, *, allow: AllowList, timeout: float,
         authorization: str | None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """One GET of `url` once the outbound rule admits it, on a connection to the checked
    address; SourceError (its message shows `shown`) when refused or unreachable."""
    try:
        target = check(url, allow, lambda host, port: resolve(host, port, timeout))
    except OutboundRefused as exc:
        raise _refusal(shown, exc) from None
    headers = {"User-Agent": "truce-etl", "Accept-Encoding": "identity", "Accept": "*/*"}
    if authorization:
        headers["Authorization"] = authorization
    conn = connection(target, timeout)
    try:
        conn.request("GET", target.path, headers=headers)
        return conn, conn.getresponse()
    except TimeoutError:
        conn.close()
        raise SourceError(f"{shown}: no answer within {timeout:g} s") from None
    except (http.client.InvalidURL, UnicodeError):  # its message would repeat the URL
        conn.close()
        raise SourceError(f"{shown}: cannot be fetched: not a valid request URL") from None
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise SourceError(f"{shown}: cannot be fetched: {exc or type(exc).__name__}") from None


def _open(url: str, *, allow: AllowList, timeout: float, max_redirects: int
          ) -> tuple[str, http.client.HTTPConnection, http.client.HTTPResponse]:
    """(final URL, connection, 2xx response) of `url`; every redirect is checked as the first
    URL was (http(s) only, the outbound rule), at most `max_redirects` of them. Credentials of
    the URL go to its own origin only, never to where it redirects elsewhere."""
    shown = redact_url(url)
    origin, authorization = _origin(url), _basic_auth(url)
    current = url
    for hop in range(max_redirects + 1):
        label = shown if hop == 0 else f"{shown} (redirected to {redact_url(current)})"
        conn, response = _get(current, label, allow=allow, timeout=timeout,
                              authorization=authorization if _origin(current) == origin else None)
        status, location = response.status, response.getheader("Location")
        if 200 <= status < 300:
            return current, conn, response
        response.close()
        conn.close()
        if status in REDIRECTS and location:
            current = urljoin(current, location.strip())
            continue
        raise SourceError(f"{label}: the server answered HTTP {status} {response.reason}")
    raise SourceError(f"{shown}: more than {max_redirects} redirects")


def fetch(url: str, directory: Path, *, max_bytes: int, timeout: float,
          allow: Sequence[str] = (), max_redirects: int = MAX_REDIRECTS) -> Path:
    """Download `url` into `directory`; return the file. SourceError says what went wrong: a
    refused address or scheme (after each redirect too), an HTTP error status, a timeout, an
    unreachable host, or a body larger than `max_bytes`. `allow`: TRUCE_ETL_URL_ALLOW entries.
    Messages show the URL redacted (server.outbound.redact_url)."""
    shown = redact_url(url)
    if not is_url(url):
        raise SourceError(f"{shown!r} is not an http(s) URL")
    try:
        allowed = AllowList.parse(allow)
    except ValueError as exc:
        raise SourceError(f"{ALLOW_SETTING}: {exc}") from None
    final, conn, response = _open(url, allow=allowed, timeout=timeout,
                                  max_redirects=max_redirects)
    with closing(conn), response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdecimal() and int(declared) > max_bytes:
            raise SourceError(f"{shown}: {int(declared):,} bytes is more than the "
                              f"{max_bytes:,}-byte limit (TRUCE_ETL_URL_MAX_BYTES)")
        name = _name(final)
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
                        raise SourceError(f"{shown}: more than the {max_bytes:,}-byte limit "
                                          "(TRUCE_ETL_URL_MAX_BYTES)")
                    if len(head) < 4096:
                        head += chunk[:4096]
                    out.write(chunk)
        except TimeoutError:
            partial.unlink(missing_ok=True)
            raise SourceError(f"{shown}: the download stalled for {timeout:g} s after "
                              f"{size:,} bytes") from None
        except SourceError:
            partial.unlink(missing_ok=True)
            raise
        except (OSError, http.client.HTTPException) as exc:
            partial.unlink(missing_ok=True)
            raise SourceError(f"{shown}: the download broke off after {size:,} bytes: "
                              f"{exc}") from None
    if declared and declared.isdecimal() and size < int(declared):
        partial.unlink(missing_ok=True)
        raise SourceError(f"{shown}: the download ended after {size:,} of {int(declared):,} bytes")
    if not suffix:
        name = f"{name}{_suffix_from_bytes(head)}"
    target = directory / name
    partial.rename(target)
    return target
