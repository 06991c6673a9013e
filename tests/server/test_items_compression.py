"""A GeoJSON page is compressed from its parts (head, features, tail), never joined into one
more copy when large; whatever its size it decodes to the same page and compresses as well as
the joined bytes would (ISA-L, fed a few bytes and then a small rest, compressed 2-9x worse)."""

from __future__ import annotations

import gzip
import json
import random

import brotli
import pytest
from fastapi.testclient import TestClient

from server.compression import compress

ITEMS = "/collections/incidents/items"


def _features(n: int) -> bytes:
    """`n` GeoJSON features joined as a page joins them: varied, deterministic values (a text
    repeated whole, e.g. a file 40 times, is no page: when its period is near deflate's 32 KB
    window, where a feed boundary falls decides whether the repeats are found at all)."""
    rng = random.Random(7)
    types = ["shelling", "airstrike", "armed_clash", "ied", "abduction"]
    return b",".join(json.dumps({
        "type": "Feature", "id": i,
        "geometry": {"type": "Point", "coordinates": [round(rng.uniform(35.7, 42.4), 6),
                                                      round(rng.uniform(32.3, 37.3), 6)]},
        "properties": {"event_type": rng.choice(types), "fatalities": rng.randint(0, 40),
                       "occurred_at": f"2016-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                                      "T00:00:00Z",
                       "location_name": f"town {rng.randint(0, 900)}",
                       "notes": "report " * rng.randint(0, 12)}}).encode() for i in range(n))


SAMPLE = _features(4000)


@pytest.mark.parametrize("size", [100, 1_000, 7_000, 31_000, 33_000, 130_000, 400_000])
@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_parts_compress_like_the_whole(size: int, encoding: str) -> None:
    body = SAMPLE[:size]
    parts = (body[:40], body[40:-30], body[-30:])
    out = compress(parts, encoding, gzip_level=1, brotli_quality=4)
    whole = compress((body,), encoding, gzip_level=1, brotli_quality=4)
    decoded = gzip.decompress(out) if encoding == "gzip" else brotli.decompress(out)
    assert decoded == body
    assert len(out) <= len(whole) * 1.02 + 16


def test_small_and_large_pages_are_compressed_well(client: TestClient) -> None:
    for limit in ("10", "1000"):
        with client.stream("GET", ITEMS, params={"limit": limit},
                           headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            raw = b"".join(r.iter_raw())
        page = gzip.decompress(raw)
        assert len(json.loads(page)["features"]) == min(int(limit), 1000)
        assert len(raw) < len(page) / 4, (limit, len(raw), len(page))
