"""A key that is present is checked on every path: a revoked, expired or unknown key is a 401
with the JSON error body wherever it is sent (no silent fall back to anonymous), and a wrong
secret for a real key id costs the same work as an unknown id."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server.queries import features as features_q
from server.queries import keys as keys_q
from server.security import keys
from server.services import features
from server.services import keys as key_service

ITEMS = "/collections/incidents/items"
PLACE = {"lon": 36.72, "lat": 34.73}
#: the paths that took a revoked or expired key as anonymous
SEVEN = [("GET", "/analysis/nearest", {"params": PLACE}),
         ("POST", "/analysis/deconfliction",
          {"json": {"geometry": {"type": "Point", "coordinates": [40.0, 33.0]}}}),
         ("GET", "/rasters", {}), ("GET", "/health", {}), ("GET", "/", {}),
         ("GET", "/conformance", {}), ("GET", "/api", {})]


def _unauthorized(response: Any, what: object) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("application/json"), what
    assert response.json()["code"] == "unauthorized", what
    assert response.headers["www-authenticate"] == "Bearer", what


@pytest.mark.parametrize("which", ["revoked", "expired"])
def test_revoked_and_expired_keys_are_401_on_the_paths_that_took_them(
        client: TestClient, api_keys: dict[str, str], which: str) -> None:
    for method, path, extra in SEVEN:
        assert client.request(method, path, **extra).status_code == 200, path  # public
        for headers in ({"X-API-Key": api_keys[which]},
                        {"Authorization": f"Bearer {api_keys[which]}"}):
            response = client.request(method, path, headers=headers, **extra)
            _unauthorized(response, (which, path))
            assert which in response.json()["description"]  # "revoked" / "expired"
        good = client.request(method, path, headers={"X-API-Key": api_keys["planner"]}, **extra)
        assert good.status_code == 200, path


_VALUES = {"collection_id": "incidents", "feature_id": "1", "z": "0", "x": "0", "y": "0",
           "name": "shaded_relief", "fmt": "png", "area_id": "1", "report_id": "1",
           "incident_id": "1", "subscription_id": "1", "tile_matrix_set_id": "WebMercatorQuad",
           "fontstack": "DejaVu Sans", "glyph_range": "0-255"}


def _urls(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/api").json()["paths"]
    out = [(method.upper(), re.sub(r"\{(\w+)\}", lambda m: _VALUES[m.group(1)], path))
           for path, operations in spec.items() for method in operations]
    return [*out, ("GET", "/api.html"), ("GET", "/static/index.html")]


def test_a_bad_key_is_401_on_every_route(client: TestClient, api_keys: dict[str, str]) -> None:
    unknown = "truce_000000000000_" + "x" * 43
    urls = _urls(client)
    assert len(urls) > 50
    assert client.get("/static/index.html").status_code == 200  # the viewer stays public
    for key in (api_keys["revoked"], api_keys["expired"], unknown):
        for method, url in urls:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = client.request(method, url, json=body, headers={"X-API-Key": key})
            _unauthorized(response, (method, url))


def test_a_wrong_secret_and_an_unknown_id_do_the_same_work(
        client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as session:
        key_id, key = key_service.create("analyst", label="same-work", actor="tests",
                                         session=session)
    for url in (f"{ITEMS}/1", f"{ITEMS}?limit=5"):  # seen on both hot paths
        assert client.get(url, headers={"X-API-Key": key}).status_code == 200
    calls: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)
        return call

    for module, name in [(keys, "matches"), (keys.hmac, "compare_digest"), (keys_q, "get"),
                         (features_q, "version_and_key"), (features, "item_with_key_async"),
                         (features, "items_page_with_key_async")]:
        monkeypatch.setattr(module, name, counted(name, getattr(module, name)))
    calls.clear()
    assert client.get(f"{ITEMS}/1", headers={"X-API-Key": key}).status_code == 200
    assert calls == ["item_with_key_async", "matches", "compare_digest"]  # one statement, once
    forged = f"truce_{key_id}_{'W' * 43}"
    unknown = f"truce_{'0' * 12}_{'W' * 43}"
    for url in (f"{ITEMS}/1", f"{ITEMS}?limit=5", "/collections", "/health"):
        traces = []
        for presented in (forged, unknown):
            calls.clear()
            response = client.get(url, headers={"X-API-Key": presented})
            assert response.status_code == 401 and "unknown API key" in response.text
            traces.append(list(calls))
        assert traces[0] == traces[1], (url, traces)
        assert traces[0].count("compare_digest") == 1, (url, traces)


def test_matches_compares_even_without_a_stored_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = keys.hmac.compare_digest
    monkeypatch.setattr(keys.hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or real(a, b))
    _, key = keys.generate()
    assert keys.matches(key, keys.digest(key))
    assert not keys.matches(key, None) and not keys.matches(key, "f" * 64)
    assert len(compared) == 3 and compared[1][1] == keys.NO_KEY_DIGEST
