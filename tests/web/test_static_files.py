"""The viewer's static files: compressed once per encoding, cache headers and ETags per encoding,
304 on revalidation, plain bytes for a client that asks for no encoding."""

from __future__ import annotations

import gzip

import brotli
from fastapi.testclient import TestClient

LIBRARY = "/static/vendor/maplibre-gl/maplibre-gl.js"


def test_vendor_library_compressed_and_cached_for_a_day(client: TestClient) -> None:
    plain = client.get(LIBRARY, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == "public, max-age=86400"
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        r = client.get(LIBRARY, headers={"Accept-Encoding": encoding})
        assert r.status_code == 200, r.text
        assert r.headers["content-encoding"] == encoding
        assert r.headers["cache-control"] == "public, max-age=86400"
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
