"""POST /analysis/deconfliction: exact answers on hand-built areas, validation, batch, sample."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.server import analysis_data as data

LON, LAT = 40.0, 33.0  # desert east of Palmyra: no sample data here
EAST_VERTEX = (LON + 0.1, LAT)


@pytest.fixture(scope="module")
def places(engine: Engine, sample_loaded: list[object]) -> Iterator[dict[str, Any]]:
    with data.cleaned(engine):
        ids = {
            "signed": data.add_area(engine, "dc-signed", data.diamond(LON, LAT),
                                    signed_at="2016-05-01T00:00:00Z",
                                    parties=["Government of Syria", "Local council"]),
            "changed": data.add_area(engine, "dc-changed", data.diamond(LON + 0.5, LAT),
                                     status="withdrawn", signed_at="2016-01-01T00:00:00Z"),
            "expired": data.add_area(engine, "dc-expired", data.diamond(LON + 1.0, LAT),
                                     signed_at="2016-01-01T00:00:00Z",
                                     effective_to="2016-03-01T00:00:00Z"),
            "pending": data.add_area(engine, "dc-pending", data.diamond(LON, LAT + 0.5),
                                     status="pending"),
        }
        data.set_history(engine, ids["changed"], [
            ("2016-01-01T00:00:00Z", None, "signed"),
            ("2016-06-01T00:00:00Z", "signed", "withdrawn"),
        ])
        ids["town"] = data.add_settlement(engine, "dc-town", LON + 0.01, LAT, 1200)
        ids["fresh"] = data.add_delivery(engine, "dc-fresh", LON, LAT, "2016-05-10T00:00:00Z")
        ids["stale"] = data.add_delivery(engine, "dc-stale", LON, LAT, "2016-03-01T00:00:00Z")
        ids["p4999"] = data.project(engine, *EAST_VERTEX, 4999, 90)
        ids["p5001"] = data.project(engine, *EAST_VERTEX, 5001, 90)
        yield ids


def _check(client: TestClient, geometry: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = client.post("/analysis/deconfliction", json={"geometry": geometry, **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_point_inside_a_signed_area_is_at_distance_zero(client: TestClient,
                                                          places: dict[str, Any]) -> None:
    body = _check(client, _point(LON, LAT), at="2016-05-15T00:00:00Z")
    assert [a["id"] for a in body["areas"]] == [places["signed"]]
    area = body["areas"][0]
    assert area["distance_m"] == 0 and area["inside"] is True
    assert area["parties"] == ["Government of Syria", "Local council"]
    assert area["status"] == "signed"
    assert "signed or violated" in body["rule"]


def test_4999_metres_is_within_5000_and_5001_is_not(client: TestClient,
                                                     places: dict[str, Any]) -> None:
    near = _check(client, _point(*places["p4999"]), at="2016-05-15T00:00:00Z", distance_m=5000)
    assert [a["id"] for a in near["areas"]] == [places["signed"]]
    assert near["areas"][0]["distance_m"] == pytest.approx(4999, abs=0.5)
    assert near["areas"][0]["inside"] is False
    far = _check(client, _point(*places["p5001"]), at="2016-05-15T00:00:00Z", distance_m=5000)
    assert far["areas"] == []


def test_an_area_is_in_force_from_the_second_it_is_signed(client: TestClient,
                                                          places: dict[str, Any]) -> None:
    before = _check(client, _point(LON, LAT), at="2016-04-30T23:59:59Z")
    at_signing = _check(client, _point(LON, LAT), at="2016-05-01T00:00:00Z")
    assert before["areas"] == []
    assert [a["id"] for a in at_signing["areas"]] == [places["signed"]]


def test_the_status_at_the_time_asked_comes_from_history(client: TestClient,
                                                         places: dict[str, Any]) -> None:
    point = _point(LON + 0.5, LAT)
    may = _check(client, point, at="2016-05-15T00:00:00Z")
    assert [(a["id"], a["status"], a["current_status"]) for a in may["areas"]] == [
        (places["changed"], "signed", "withdrawn")]
    assert _check(client, point, at="2016-06-02T00:00:00Z")["areas"] == []


def test_expired_and_pending_areas_are_not_in_force(client: TestClient,
                                                     places: dict[str, Any]) -> None:
    assert _check(client, _point(LON + 1.0, LAT), at="2016-02-15T00:00:00Z")["areas"]
    assert _check(client, _point(LON + 1.0, LAT), at="2016-03-01T00:00:00Z")["areas"] == []
    assert _check(client, _point(LON, LAT + 0.5), at="2016-05-15T00:00:00Z")["areas"] == []


def test_nearby_settlements_and_only_recent_deliveries(client: TestClient,
                                                        places: dict[str, Any]) -> None:
    body = _check(client, _point(LON, LAT), at="2016-05-15T00:00:00Z", nearby_m=2000,
                  recent_days=14)
    assert [(s["id"], s["population"]) for s in body["settlements"]] == [(places["town"], 1200)]
    assert 900 < body["settlements"][0]["distance_m"] < 960  # 0.01 degree of longitude at 33N
    assert [d["id"] for d in body["aid_deliveries"]] == [places["fresh"]]


def test_a_route_crossing_two_areas(client: TestClient, places: dict[str, Any]) -> None:
    route = {"type": "LineString", "coordinates": [[LON - 0.3, LAT], [LON + 0.7, LAT]]}
    body = _check(client, route, at="2016-05-15T00:00:00Z")
    assert {a["id"] for a in body["areas"]} == {places["signed"], places["changed"]}


def test_batch_answers_in_order(client: TestClient, places: dict[str, Any]) -> None:
    geometries = [_point(LON, LAT), _point(LON + 3, LAT), _point(*places["p4999"])]
    response = client.post("/analysis/deconfliction", json={
        "geometries": geometries, "at": "2016-05-15T00:00:00Z", "distance_m": 5000})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert [[a["id"] for a in r["areas"]] for r in results] == [
        [places["signed"]], [], [places["signed"]]]


def test_a_batch_of_1000_is_accepted_and_1001_is_too_large(client: TestClient,
                                                            places: dict[str, Any]) -> None:
    ok = client.post("/analysis/deconfliction", json={"geometries": [_point(LON, LAT)] * 1000,
                                                      "at": "2016-05-15T00:00:00Z"})
    assert ok.status_code == 200 and len(ok.json()["results"]) == 1000
    big = client.post("/analysis/deconfliction", json={"geometries": [_point(LON, LAT)] * 1001})
    assert big.status_code == 413
    assert "at most 1000" in big.json()["description"]


def test_a_stated_utm_crs_is_transformed(client: TestClient, places: dict[str, Any]) -> None:
    # (LON, LAT) in UTM zone 37N (EPSG:32637)
    body = _check(client, _point(593349.0, 3651915.0), at="2016-05-15T00:00:00Z",
                  crs="EPSG:32637", distance_m=1000)
    assert [a["id"] for a in body["areas"]] == [places["signed"]]


@pytest.mark.parametrize(("body", "message"), [
    ({"geometry": {"type": "Point", "coordinates": [200, 30]}}, "outside lon"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
     "not a valid geometry: Self-intersection"),
    ({"geometry": {"type": "Circle", "coordinates": [0, 0]}}, "has type 'Circle'"),
    ({"geometry": {"type": "Point", "coordinates": "x"}}, "not valid GeoJSON"),
    ({"geometry": {"type": "Point", "coordinates": [36, 34]}, "distance_m": -1}, "distance_m"),
    ({"geometry": {"type": "Point", "coordinates": [36, 34]}, "distance_m": 1e9}, "at most"),
    ({"geometry": {"type": "Point", "coordinates": [36, 34]}, "crs": "EPSG:999999"},
     "not a known spatial reference system"),
    ({"geometry": {"type": "Point", "coordinates": [36, 34]}, "crs": "lambert"},
     "is not understood"),
    ({}, "exactly one of"),
    ({"geometry": {"type": "Point", "coordinates": [36, 34]}, "at": "yesterday"}, "at"),
])
def test_wrong_input_gets_a_400_that_says_what_is_wrong(client: TestClient, body: dict[str, Any],
                                                        message: str) -> None:
    response = client.post("/analysis/deconfliction", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]


def test_too_many_vertices_is_refused(client: TestClient) -> None:
    ring = [[36 + i * 1e-5, 34.0] for i in range(10_001)] + [[36.0, 34.1], [36.0, 34.0]]
    response = client.post("/analysis/deconfliction", json={
        "geometry": {"type": "LineString", "coordinates": ring}})
    assert response.status_code == 413
    assert "vertices" in response.json()["description"]


def test_sample_homs_check_finds_wa_er(client: TestClient) -> None:
    body = _check(client, _point(36.66, 34.73), at="2016-03-15T08:00:00Z", distance_m=2000)
    names = [a["name"] for a in body["areas"]]
    assert "Wa'er (Homs city)" in names
    assert all(a["status"] in ("signed", "violated") for a in body["areas"])
    assert body["aid_deliveries"], "sample deliveries near Homs in early March"


def test_the_openapi_documents_deconfliction_with_an_example(client: TestClient) -> None:
    spec = client.get("/api").json()
    post = spec["paths"]["/analysis/deconfliction"]["post"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["example"]["geometry"]["type"] == "Point"  # OpenAPI 3.0: one example
