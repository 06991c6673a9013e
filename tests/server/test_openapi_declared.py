"""The OpenAPI document declares the error answers and the limits the server enforces, and the
server enforces what it declares: a date-time is RFC 3339 text, never a number read as seconds
since 1970 (`at=0.5` was 1970-01-01T00:00:00.5); a bbox is 4 (or 6) plain numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

NUMERIC = ["0.5", "1", "-3", "1e9", "20160227", "1456531200"]
AT_PATHS = ["/analysis/areas/compliance", "/analysis/aid-gaps"]


def _refused(response: Any, name: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] in ("invalid_parameter", "invalid_query"), body
    assert name in body["description"], body


@pytest.mark.parametrize("value", NUMERIC)
@pytest.mark.parametrize("path", AT_PATHS)
def test_a_number_is_not_an_as_of_time(client: TestClient, path: str, value: str) -> None:
    _refused(client.get(path, params={"at": value}), "at")


def test_a_number_is_not_an_as_of_time_for_an_area_report(client: TestClient) -> None:
    area = client.get("/collections/agreement_areas/items", params={"limit": 1}).json()
    area_id = area["features"][0]["id"]
    _refused(client.get(f"/analysis/areas/{area_id}/report", params={"at": "0.5"}), "at")


def test_a_number_is_not_a_history_time(client: TestClient) -> None:
    _refused(client.get("/collections/incidents/items/1/history", params={"asof": "0.5"}), "asof")


@pytest.mark.parametrize("at", [0.5, "0.5", 1456531200])
def test_a_number_is_not_a_deconfliction_time(client: TestClient, at: object) -> None:
    point = {"type": "Point", "coordinates": [40.0, 33.0]}
    _refused(client.post("/analysis/deconfliction", json={"geometry": point, "at": at}), "at")


@pytest.mark.parametrize("value", ["2016-03-15T08:00:00Z", "2016-03-15T08:00:00.5+02:00",
                                   "2016-03-15T08:00Z", "2016-03-15T08:00:00", "2016-03-15"])
def test_rfc3339_times_are_read(client: TestClient, value: str) -> None:
    assert client.get("/analysis/aid-gaps", params={"at": value}).status_code == 200


@pytest.mark.parametrize("value", ["0.5", "20160227", "2016-03-01/0.5", "2016-03-15T08:00:00Z\n"])
def test_a_number_is_not_a_datetime_window(public: TestClient, value: str) -> None:
    _refused(public.get("/collections/incidents/items", params={"datetime": value}), "datetime")
    _refused(public.get("/analysis/timeseries", params={"datetime": value}), "datetime")


@pytest.mark.parametrize("value", ["1_0,30,40,35", "36,34,37,35,", " 36,34,37,nan", "٣٦,34,37,35"])
def test_a_bbox_is_plain_numbers(public: TestClient, value: str) -> None:
    _refused(public.get("/collections/incidents/items", params={"bbox": value}), "bbox")
    _refused(public.get("/analysis/hotspots", params={"bbox": value}), "bbox")


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items()
            for method, op in ops.items()]


def _parameter(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op.get("parameters", []) if p["name"] == name)


def test_every_operation_declares_its_errors_with_the_error_body(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Error"]["required"] == ["code", "description"]
    for method, path, op in _operations(document):
        answers = op["responses"]
        assert "422" not in answers or "HTTPValidationError" not in str(answers["422"]), path
        for code in ("400", "401", "403", "429"):
            assert code in answers, (method, path, code)
        if "{" in path:
            assert "404" in answers, (method, path)
        if "requestBody" in op:
            assert {"413", "415"} <= set(answers), (method, path)
        for code, answer in answers.items():
            if code.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_date_times_and_bboxes_are_declared_as_enforced(app: FastAPI) -> None:
    document = app.openapi()
    seen = {"at": 0, "datetime": 0, "bbox": 0}
    for _, _, op in _operations(document):
        for p in op.get("parameters", []):
            if p["name"] in ("at", "asof"):
                text = str(p["schema"])
                assert "'format': 'date-time'" in text and "'pattern'" in text, p
                seen["at"] += 1
            elif p["name"] in ("datetime", "bbox"):
                pattern = p["schema"]["pattern"]
                assert not re.fullmatch(pattern, "0.5"), p
                assert re.fullmatch(pattern, "") and re.fullmatch(
                    pattern, "2016-03-01/.." if p["name"] == "datetime" else "36,34,37,35.5"), p
                seen[p["name"]] += 1
    assert seen["at"] >= 4 and seen["datetime"] >= 10 and seen["bbox"] >= 5, seen
