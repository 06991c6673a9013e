"""Filters as clients write them: CQL2's TIMESTAMP(), DATE() and INTERVAL() in every temporal
function (text and JSON), the dates GDAL writes (`2016-03-01T`, open intervals), GDAL's
`cql-text`, counts (numberMatched, resultType=hits), the schema, and the OpenAPI document's
per-collection items paths."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

ITEMS = "/collections/incidents/items"
TEMPORAL = ["T_AFTER", "T_BEFORE", "T_CONTAINS", "T_DISJOINT", "T_DURING", "T_EQUALS",
            "T_FINISHEDBY", "T_FINISHES", "T_INTERSECTS", "T_MEETS", "T_METBY",
            "T_OVERLAPPEDBY", "T_OVERLAPS", "T_STARTEDBY", "T_STARTS"]
TEXT_LITERALS = ["TIMESTAMP('2016-06-01T00:00:00Z')", "DATE('2016-06-01')",
                 "INTERVAL('2016-01-01', '2016-06-01T00:00:00Z')", "INTERVAL('2016-01-01', '..')",
                 "INTERVAL(DATE('2016-01-01'), TIMESTAMP('2016-06-01T00:00:00Z'))"]
JSON_LITERALS: list[Any] = [{"timestamp": "2016-06-01T00:00:00Z"}, {"date": "2016-06-01"},
                            {"interval": ["2016-01-01", "2016-06-01T00:00:00Z"]},
                            {"interval": ["2016-01-01", ".."]}]


def _matched(client: TestClient, **params: Any) -> int:
    r = client.get(ITEMS, params={"resultType": "hits", **params})
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


@pytest.mark.parametrize("name", TEMPORAL)
def test_every_temporal_function_takes_every_time_literal(client: TestClient, name: str) -> None:
    for literal in TEXT_LITERALS:
        r = client.get(ITEMS, params={"filter": f"{name}(occurred_at, {literal})", "limit": 1})
        assert r.status_code == 200, (literal, r.text)
    for literal in JSON_LITERALS:
        body = {"op": name.lower(), "args": [{"property": "occurred_at"}, literal]}
        r = client.get(ITEMS, params={"filter": orjson.dumps(body).decode(),
                                      "filter-lang": "cql2-json", "limit": 1})
        assert r.status_code == 200, (literal, r.text)


def test_temporal_literals_select_what_they_say(client: TestClient) -> None:
    after = _matched(client, filter="T_AFTER(occurred_at, TIMESTAMP('2016-06-01T00:00:00Z'))")
    assert after == _matched(client, datetime="2016-06-01T00:00:01Z/..")
    assert 0 < after < _matched(client)
    day = _matched(client, filter="T_INTERSECTS(occurred_at, DATE('2016-03-01'))")
    assert day == _matched(client, datetime="2016-03-01")
    during = _matched(client, filter="T_DURING(occurred_at, INTERVAL(DATE('2016-01-01'), "
                                     "TIMESTAMP('2016-06-01T00:00:00Z')))")
    assert 0 < during <= _matched(client, datetime="2016-01-01T00:00:00Z/2016-06-01T00:00:00Z")
    disjoint = _matched(client, filter="T_DISJOINT(occurred_at, DATE('2016-03-01'))")
    assert disjoint + day == _matched(client)


def test_gdal_dates_and_cql_text(client: TestClient) -> None:
    # GDAL writes a date as 2016-03-01T, in datetime and in its CQL text
    assert _matched(client, datetime="2016-03-01T/..") == \
        _matched(client, datetime="2016-03-01T00:00:00Z/..")
    assert _matched(client, datetime="../2016-03-01T") == \
        _matched(client, datetime="../2016-03-01T00:00:00Z")
    assert _matched(client, datetime="2016-03-01T10Z/2016-03-02T10:30Z") == \
        _matched(client, datetime="2016-03-01T10:00:00Z/2016-03-02T10:30:00Z")
    gdal = "(occurred_at >= '2016-03-01T') AND (occurred_at < '2016-04-01T')"
    assert _matched(client, filter=gdal, **{"filter-lang": "cql-text"}) == \
        _matched(client, datetime="2016-03-01T00:00:00Z/2016-03-31T23:59:59.999999Z")
    nocase = _matched(client, filter="location_name ILIKE 'HOM%'", **{"filter-lang": "cql-text"})
    assert nocase == _matched(client, filter="CASEI(location_name) LIKE CASEI('hom%')") > 0
    r = client.get(ITEMS, params={"filter": "x = 1", "filter-lang": "cql-fancy"})
    assert r.status_code == 400


def test_numbermatched_and_hits(client: TestClient, public: TestClient) -> None:
    everything = _matched(client)
    page = client.get(ITEMS, params={"filter": "fatalities > 5", "limit": 3}).json()
    assert page["numberReturned"] == 3
    assert page["numberMatched"] == _matched(client, filter="fatalities > 5") < everything
    deeper = client.get(next(link["href"] for link in page["links"] if link["rel"] == "next"))
    assert deeper.json()["numberMatched"] == page["numberMatched"]
    anonymous = public.get(ITEMS, params={"limit": 2}).json()
    assert anonymous["numberMatched"] > anonymous["numberReturned"]
    hits = client.get(ITEMS, params={"resultType": "hits", "event_type": "one_sided_violence"})
    assert hits.json()["features"] == [] and hits.json()["numberReturned"] == 0
    assert client.get(ITEMS, params={"resultType": "some"}).status_code == 400


def test_schema_types_every_property(client: TestClient) -> None:
    r = client.get("/collections/incidents/schema")
    assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["occurred_at"] == {"title": "occurred at", "type": "string",
                                    "format": "date-time", "x-ogc-role": "primary-instant"}
    assert props["fatalities"]["type"] == "integer"
    assert props["time_precision"]["enum"] == ["day", "days", "week", "month", "year"]
    assert props["id"]["x-ogc-role"] == "id"
    geojson = client.get("/collections/incidents/schema", params={"profile": "geojson"}).json()
    assert geojson["properties"]["properties"]["properties"]["occurred_until"]["format"] == \
        "date-time"
    assert client.get("/collections/incidents/schema", params={"profile": "x"}).status_code == 400
    missing = client.get("/collections/nowhere/schema")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    links = {link["rel"]: link["href"] for link in
             client.get("/collections/incidents").json()["links"]}
    assert links["describedby"].endswith("/collections/incidents/schema")
    assert links["describedBy"].endswith("/collections/incidents/schema?profile=geojson")


def test_openapi_lists_each_collections_items_with_its_properties(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    for cid in ("incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas"):
        operation = paths[f"/collections/{cid}/items"]["get"]
        names = {p["name"]: p for p in operation["parameters"]}
        assert "collection_id" not in names
        assert names["filter-lang"]["schema"]["enum"] == ["cql2-text", "cql2-json", "cql-text"]
        assert names["resultType"]["schema"]["enum"] == ["results", "hits"]
    incidents = {p["name"]: p for p in
                 paths["/collections/incidents/items"]["get"]["parameters"]}
    assert incidents["occurred_until"]["schema"] == {"type": "string", "format": "date-time"}
    assert incidents["verification_status"]["schema"]["enum"][0] == "reported"


def test_a_cql2_json_body_posted_to_items_is_a_search(client: TestClient, public: TestClient,
                                                      engine: Engine) -> None:
    from server.services import keys as key_service

    with Session(engine) as session:
        _, planner = key_service.create("planner", org=None, expires_at=None,
                                        label="tests:planner", actor="tests", session=session)
    expression = {"op": "=", "args": [{"property": "event_type"}, "one_sided_violence"]}
    for caller, headers in ((public, {}), (public, {"X-API-Key": planner})):  # may not create
        r = caller.post(ITEMS, params={"limit": 4}, json=expression, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberReturned"] == 4
        assert {f["properties"]["event_type"] for f in body["features"]} == \
            {"one_sided_violence"}
    both = client.post(ITEMS, params={"filter": "fatalities > 1"}, json=expression)
    assert both.status_code == 400
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.7, 34.7]},
               "properties": {"occurred_at": "2016-03-04T10:00:00Z", "event_type": "shelling"}}
    refused = public.post(ITEMS, json=feature, headers={"X-API-Key": planner})
    assert refused.status_code == 403  # a Feature is still a Part 4 create


def test_a_large_layers_filtered_page_says_its_estimate(client: TestClient,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from server.services import features

    monkeypatch.setattr(features, "COUNT_CAP", 10)  # every layer is "large" now
    page = client.get(ITEMS, params={"filter": "fatalities > 5", "limit": 3}).json()
    assert "numberMatched" not in page
    assert page["numberMatchedEstimate"] > 0
    assert client.get(ITEMS, params={"limit": 3}).json()["numberMatched"] > 0  # analysts
