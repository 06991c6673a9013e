"""The viewer's static files: compressed once per encoding, cache headers and ETags per encoding,
304 on revalidation, plain bytes for a client that asks for no encoding."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
from fastapi.testclient import TestClient

from cli import config

LIBRARY = "/static/vendor/maplibre-gl/4.7.1/maplibre-gl.js"
IMMUTABLE = "public, max-age=31536000, immutable"


def test_vendor_library_versioned_compressed_and_immutable(client: TestClient) -> None:
    plain = client.get(LIBRARY, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == IMMUTABLE
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        r = client.get(LIBRARY, headers={"Accept-Encoding": encoding})
        assert r.status_code == 200, r.text
        assert r.headers["content-encoding"] == encoding
        assert r.headers["cache-control"] == IMMUTABLE
        assert "Accept-Encoding" in r.headers["vary"]
        assert r.headers["etag"] != plain.headers["etag"]
        # httpx decodes the body; the raw bytes are the compressed file, much smaller
        assert r.content == plain.content
        assert decode(_raw(client, encoding)) == plain.content
        assert int(r.headers["content-length"]) < len(plain.content) / 3
        again = client.get(LIBRARY, headers={"Accept-Encoding": encoding,
                                             "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and not again.content
        assert again.headers["etag"] == r.headers["etag"]


def test_page_loads_vendored_files_by_their_version(client: TestClient) -> None:
    """index.html names each vendored file under the version the vendor README records (an upgrade
    is a new URL: no browser keeps the old library for a day), and every one of them exists."""
    web = Path(config.web_dir())
    html = (web / "index.html").read_text()
    readme = (web / "vendor" / "README.md").read_text()
    version = re.search(r"\| version \| \*\*([0-9.]+)\*\*", readme)
    assert version, "vendor/README.md records the maplibre-gl version"
    paths = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', html)
    assert {p.rsplit("/", 1)[1] for p in paths} == {"maplibre-gl.js", "maplibre-gl.css"}
    for path in paths:
        assert path.startswith(f"/static/vendor/maplibre-gl/{version.group(1)}/"), path
        r = client.get(path)
        assert r.status_code == 200 and r.headers["cache-control"] == IMMUTABLE
    # an unversioned vendor file (the README) may change: a day, not a year
    assert client.get("/static/vendor/README.md").headers["cache-control"] == "public, max-age=86400"


def _raw(client: TestClient, encoding: str) -> bytes:
    with client.stream("GET", LIBRARY, headers={"Accept-Encoding": encoding}) as r:
        return b"".join(r.iter_raw())


def test_own_files_revalidated_every_time(client: TestClient) -> None:
    r = client.get("/static/app.js", headers={"Accept-Encoding": "br"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert r.headers["content-encoding"] == "br" and "import" in r.text
    assert client.get("/static/app.js", headers={
        "Accept-Encoding": "br", "If-None-Match": r.headers["etag"]}).status_code == 304
    head = client.head("/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.headers["content-encoding"] == "gzip"
    assert int(head.headers["content-length"]) > 0
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/../server/main.py").status_code == 404
