"""The page size and the download cap are the app's settings (TRUCE_API_MAX_LIMIT,
TRUCE_API_EXPORT_MAX_FEATURES), enforced and declared: no bound fixed when a module is
imported overrides them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tests.conftest import make_settings

ITEMS = "/collections/incidents/items"


@pytest.fixture(scope="module")
def raised(database_url: str, sample_loaded: list[object], analyst_key: str
           ) -> Iterator[TestClient]:
    settings = make_settings(database_url, max_limit=50_000, export_max_features=50_000)
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as client:
        yield client


@pytest.fixture(scope="module")
def lowered(database_url: str, sample_loaded: list[object], analyst_key: str
            ) -> Iterator[TestClient]:
    settings = make_settings(database_url, max_limit=50, default_limit=5)
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as client:
        yield client


def _limit_schema(client: TestClient) -> dict[str, object]:
    operation = client.get("/api").json()["paths"][ITEMS]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    return {k: limit["schema"][k] for k in ("type", "minimum", "maximum", "default")}


def test_a_raised_max_limit_admits_larger_pages(raised: TestClient) -> None:
    response = raised.get(ITEMS, params={"limit": 20_000})
    assert response.status_code == 200, response.text[:200]
    assert response.json()["numberReturned"] <= 20_000
    refused = raised.get(ITEMS, params={"limit": 50_001})
    assert refused.status_code == 400 and "50000" in refused.json()["description"]


def test_a_raised_export_cap_admits_larger_downloads(raised: TestClient) -> None:
    response = raised.get(ITEMS, params={"f": "csv", "limit": 20_000})
    assert response.status_code == 200, response.text[:200]


def test_a_lowered_max_limit_is_enforced(lowered: TestClient) -> None:
    assert lowered.get(ITEMS, params={"limit": 50}).status_code == 200
    assert lowered.get(ITEMS, params={"limit": 51}).status_code == 400
    assert lowered.get(ITEMS).json()["numberReturned"] == 5


def test_the_document_declares_the_apps_limits(raised: TestClient, lowered: TestClient) -> None:
    assert _limit_schema(raised) == {"type": "integer", "minimum": 1, "maximum": 50_000,
                                     "default": 10}
    assert "maximum 50000" in next(p for p in raised.get("/api").json()["paths"][ITEMS]["get"]
                                   ["parameters"] if p["name"] == "limit")["description"]
    assert _limit_schema(lowered) == {"type": "integer", "minimum": 1, "maximum": 50,
                                      "default": 5}
