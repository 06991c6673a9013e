"""Downloads (CSV, HXL, GeoPackage, FlatGeobuf) are not paged, so they are capped: the features
they match (unless `limit` asks for the first N) and their bbox area; past a cap the answer is a
400 that names it. Paged GeoJSON is not affected. The caps here are set low (ApiSettings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from server.params import bbox_area_km2
from tests.conftest import make_settings

ITEMS = "/collections/incidents/items"
SMALL_BOX = "36.6,34.6,36.8,34.8"  # a few dozen incidents, about 400 km2
WIDE_BOX = "35.5,32.0,42.5,37.5"  # Syria, about 390,000 km2


@pytest.fixture(scope="module")
def capped(database_url: str, sample_loaded: list[object], analyst_key: str
           ) -> Iterator[TestClient]:
    settings = make_settings(database_url, export_max_features=100, export_max_bbox_km2=50_000)
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as client:
        yield client


def test_bbox_area_is_measured_on_the_sphere() -> None:
    degree_at_equator = bbox_area_km2((0, 0, 1, 1), 4326)
    assert 12_300 < degree_at_equator < 12_400
    assert bbox_area_km2((36, 35, 37, 36), 4326) < degree_at_equator * 0.83
    assert bbox_area_km2((500_000, 3_800_000, 510_000, 3_810_000), 32637) == 100


@pytest.mark.parametrize("fmt", ["csv", "hxl", "gpkg", "fgb"])
def test_a_download_matching_more_than_the_cap_is_400(capped: TestClient, fmt: str) -> None:
    response = capped.get(ITEMS, params={"f": fmt})
    assert response.status_code == 400
    body = response.json()
    assert body["cap"] == 100 and "100" in body["description"] and "limit" in body["description"]


def test_limit_takes_the_first_n_up_to_the_cap(capped: TestClient) -> None:
    rows = capped.get(ITEMS, params={"f": "csv", "limit": 40}).text.splitlines()
    assert len(rows) == 41
    assert capped.get(ITEMS, params={"f": "csv", "limit": 101}).status_code == 400


def test_a_download_under_the_caps_is_whole(capped: TestClient) -> None:
    everything = capped.get(ITEMS, params={"bbox": SMALL_BOX, "limit": 1000}).json()
    assert 0 < everything["numberReturned"] <= 100
    rows = capped.get(ITEMS, params={"f": "csv", "bbox": SMALL_BOX}).text.splitlines()
    assert len(rows) == everything["numberReturned"] + 1


def test_a_wide_bbox_download_is_400_naming_the_cap(capped: TestClient) -> None:
    response = capped.get(ITEMS, params={"f": "gpkg", "bbox": WIDE_BOX, "limit": 10})
    assert response.status_code == 400
    body = response.json()
    assert body["cap_km2"] == 50_000 and "50,000 km2" in body["description"]
    assert 380_000 < body["bbox_km2"] < 400_000
    merc = capped.get(ITEMS, params={"f": "csv", "limit": 10, "bbox-crs": "EPSG:3857",
                                     "bbox": "4000000,4000000,4800000,4500000"})
    assert merc.status_code == 400 and "km2" in merc.json()["description"]


def test_paged_geojson_is_not_capped(capped: TestClient) -> None:
    page = capped.get(ITEMS, params={"bbox": WIDE_BOX, "limit": 1000})
    assert page.status_code == 200 and page.json()["numberReturned"] == 1000
