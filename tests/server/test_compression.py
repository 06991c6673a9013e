"""Response compression: brotli for `br` clients, gzip otherwise, per the Accept-Encoding
q-values; JSON, GeoJSON, CSV and MVT compressed; PNG/WebP rasters untouched; streamed bodies
compressed chunk by chunk (each chunk decodable when it arrives); one strong ETag per encoding."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import AsyncIterator, Iterator

import anyio
import brotli
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from server.compression import CompressionMiddleware, chosen_encoding
from server.main import create_app
from tests.conftest import make_settings
from tests.server.rasters import population_grid

ITEMS = "/collections/incidents/items"


def _raw(client: TestClient, url: str, encoding: str, **params: str) -> tuple[dict[str, str], bytes]:
    """Headers and the body exactly as sent (not decoded by the client)."""
    with client.stream("GET", url, params=params, headers={"Accept-Encoding": encoding}) as r:
        assert r.status_code == 200, r.read()
        return dict(r.headers), b"".join(r.iter_raw())


@pytest.mark.parametrize(("header", "expected"), [
    ("br", "br"), ("gzip", "gzip"), ("gzip, deflate, br", "br"), ("br;q=0.5, gzip", "gzip"),
    ("br;q=0, gzip", "gzip"), ("*", "br"), ("identity", None), ("", None), ("deflate", None),
    ("gzip;q=0", None), ("BR;Q=1.0", "br"), ("br;q=oops, gzip;q=0.1", "gzip"),
])
def test_negotiation_follows_q_values(header: str, expected: str | None) -> None:
    assert chosen_encoding(header) == expected


def test_geojson_page_in_brotli_and_gzip(client: TestClient) -> None:
    br_headers, br_body = _raw(client, ITEMS, "br", limit="1000")
    gz_headers, gz_body = _raw(client, ITEMS, "gzip", limit="1000")
    plain_headers, plain_body = _raw(client, ITEMS, "identity", limit="1000")
    assert br_headers["content-encoding"] == "br" and gz_headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain_headers
    pages = [json.loads(b) for b in (brotli.decompress(br_body), gzip.decompress(gz_body),
                                     plain_body)]
    for page in pages:
        page.pop("timeStamp")
    assert pages[0] == pages[1] == pages[2] and len(pages[0]["features"]) == 1000
    assert len(br_body) < len(gz_body) < len(plain_body) / 5
    assert int(br_headers["content-length"]) == len(br_body)
    assert "accept-encoding" in br_headers["vary"].lower()
    tags = {br_headers["etag"], gz_headers["etag"], plain_headers["etag"]}
    assert len(tags) == 3  # a strong ETag names one encoding's bytes
    again = client.get(ITEMS, params={"limit": "1000"},
                       headers={"Accept-Encoding": "br", "If-None-Match": br_headers["etag"]})
    assert again.status_code == 304


def test_csv_and_vector_tiles_are_compressed(client: TestClient) -> None:
    headers, body = _raw(client, ITEMS, "br", f="csv", limit="2000")
    assert headers["content-encoding"] == "br"
    assert brotli.decompress(body).startswith(b"id,")
    headers, body = _raw(client, "/collections/incidents/tiles/WebMercatorQuad/6/25/38", "br")
    assert headers["content-encoding"] == "br"
    assert mapbox_vector_tile.decode(brotli.decompress(body))["incidents"]["features"]


def test_small_bodies_stay_plain(client: TestClient) -> None:
    headers, body = _raw(client, "/conformance", "br")
    assert len(body) < 1024 or headers.get("content-encoding") == "br"
    # a settlement feature is below compress_min_bytes (1024); an incident, with its links, is not
    first = client.get("/collections/settlements/items", params={"limit": 1}).json()["features"][0]
    url = f"/collections/settlements/items/{first['id']}"
    _, plain = _raw(client, url, "identity")
    assert len(plain) < 1024
    headers, body = _raw(client, url, "br")
    assert "content-encoding" not in headers and body == plain
    assert body.startswith(b'{"type":"Feature"')


@pytest.fixture(scope="module")
def raster_client(database_url: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[TestClient]:
    settings = make_settings(database_url)
    path = population_grid(tmp_path_factory.mktemp("rasters") / "pop.tif")
    settings.raster.sources = {**settings.raster.sources, "pop": str(path)}
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("ext", ["png", "webp"])
def test_raster_tiles_are_not_compressed_again(raster_client: TestClient, ext: str) -> None:
    headers, body = _raw(raster_client, f"/rasters/pop/tiles/8/153/102.{ext}", "br, gzip")
    assert headers["content-type"] == f"image/{ext}" and "content-encoding" not in headers
    assert len(body) == int(headers["content-length"]) > 0


CHUNK = b'{"type":"Feature","properties":{"n":%d}},' * 200


async def _stream() -> AsyncIterator[bytes]:
    for i in range(3):
        yield CHUNK.replace(b"%d", str(i).encode())


def _streaming_app() -> Starlette:
    async def streamed(request: object) -> StreamingResponse:
        return StreamingResponse(_stream(), media_type="application/geo+json")

    async def small(request: object) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route("/streamed", streamed), Route("/small", small)])


def _sent(path: str, encoding: str) -> list[Message]:
    app = CompressionMiddleware(_streaming_app(), minimum_size=100)
    sent: list[Message] = []

    requested = False

    async def receive() -> Message:
        nonlocal requested
        if requested:  # then the client just waits (the response cancels this on completion)
            await anyio.sleep_forever()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"accept-encoding", encoding.encode())],
             "http_version": "1.1", "scheme": "http", "server": ("test", 80),
             "client": ("test", 1), "root_path": ""}
    anyio.run(app, scope, receive, send)
    return sent


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_streamed_bodies_are_compressed_chunk_by_chunk(encoding: str) -> None:
    start, *bodies = _sent("/streamed", encoding)
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert headers["content-encoding"] == encoding and "content-length" not in headers
    decoder = (brotli.Decompressor() if encoding == "br"
               else zlib.decompressobj(16 + zlib.MAX_WBITS))
    step = decoder.process if encoding == "br" else decoder.decompress  # type: ignore[union-attr]
    for i, message in enumerate(bodies[:3]):  # each chunk is whole when it arrives
        assert step(message["body"]) == CHUNK.replace(b"%d", str(i).encode())
    assert not bodies[-1].get("more_body", False)


def test_small_response_passes_with_vary() -> None:
    start, body = _sent("/small", "br")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert "content-encoding" not in headers and body["body"] == b'{"ok":true}'
    assert "accept-encoding" in headers["vary"].lower()

