"""Hostile input is a precise 400, never a 500: NUL characters anywhere a value reaches
PostgreSQL, and CQL2 filters nesting too deep to translate (long AND/OR chains are answered);
`properties=` longer than one json_build_object call takes is answered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.queries import features as features_q

ITEMS = "/collections/incidents/items"
TILE = "/collections/incidents/tiles/WebMercatorQuad/6/25/38"
MULTI_TILE = "/tiles/WebMercatorQuad/6/25/38"
FEATURE: dict[str, Any] = {
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [36.7237, 34.7311]},
    "properties": {"occurred_at": "2016-03-04T10:00:00Z", "event_type": "shelling",
                   "fatalities": 2, "geo_precision": "exact", "location_name": "Al-Waer",
                   "notes": "Seen by\u0000 the monitoring team."}}
REPORT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
          "properties": {"occurred_at": "2016-03-02T06:30:00Z", "event_type": "shelling",
                         "description": "Mortar rounds\u0000 hit the market area."}}
NUL_JSON_FILTER = json.dumps({"op": "=", "args": [{"property": "event_type"}, "a\u0000b"]})


def _refused(response: Any, name: str, key: str = "parameter") -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_parameter" and "NUL" in body["description"]
    assert body[key] == name and name in body["description"]
    return dict(body)


# --- NUL characters ----------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "params", "name"), [
    (ITEMS, {"event_type": "shelling\x00"}, "event_type"),
    (ITEMS, {"filter": "event_type = 'a\x00b'"}, "filter"),
    (ITEMS, {"filter-lang": "cql2-json", "filter": '{"op":"=","args":[{"property":"event_type"},'
                                                   '"a\x00b"]}'}, "filter"),
    (ITEMS, {"f": "csv", "location_name": "\x00"}, "location_name"),
    (TILE, {"filter": "event_type = 'a\x00b'"}, "filter"),
    (TILE, {"event_type": "\x00"}, "event_type"),
    (MULTI_TILE, {"collections": "incidents", "incidents.filter": "actor1 = '\x00'"},
     "incidents.filter"),
    ("/analysis/timeseries", {"filter": "actor1 = 'a\x00'"}, "filter"),
    ("/analysis/timeseries", {"event_type": "shelling\x00"}, "event_type"),
    ("/analysis/hotspots", {"event_type": "shelling\x00"}, "event_type"),
    ("/analysis/hotspots", {"verification_status": "\x00"}, "verification_status"),
])
def test_nul_in_a_query_value_is_a_400_naming_it(client: TestClient, url: str,
                                                 params: dict[str, str], name: str) -> None:
    _refused(client.get(url, params=params), name)


@pytest.mark.parametrize("url", [ITEMS, TILE, "/analysis/timeseries"])
def test_nul_escaped_in_a_cql2_json_filter_is_a_400(client: TestClient, url: str) -> None:
    response = client.get(url, params={"filter-lang": "cql2-json", "filter": NUL_JSON_FILTER})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == "filter" and "NUL" in body["description"]


def test_nul_in_a_created_item_is_a_400_naming_the_field(client: TestClient) -> None:
    geojson = {"Content-Type": "application/geo+json"}
    response = client.post(ITEMS, content=json.dumps(FEATURE), headers=geojson)
    _refused(response, "properties.notes", "field")
    raw = json.dumps({**FEATURE, "properties": {**FEATURE["properties"], "notes": "ok"}})
    raw_nul = raw.replace('"ok"', '"o\x00k"').encode()
    assert client.post(ITEMS, content=raw_nul, headers=geojson).status_code == 400
    key_nul = {**FEATURE, "properties": {"event_type": "shelling", "x\u0000": 1}}
    assert client.post(ITEMS, content=json.dumps(key_nul), headers=geojson).status_code == 400


def test_nul_in_a_report_is_a_400_naming_the_field(client: TestClient) -> None:
    _refused(client.post("/reports", json=REPORT), "properties.description", "field")
    _refused(client.post("/reports", content=json.dumps(REPORT)), "properties.description",
             "field")  # no Content-Type: /reports reads JSON
    form = {"occurred_at": "2016-03-02T06:30:00Z", "event_type": "shelling", "lon": "36.71",
            "lat": "34.73", "description": "Mortar\x00"}
    _refused(client.post("/reports", data=form), "description", "field")


def test_nul_in_the_path_is_a_400(client: TestClient) -> None:
    response = client.get("/collections/incidents/items/1%00")
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"


def test_text_that_only_looks_like_nul_still_passes(client: TestClient) -> None:
    """A backslash followed by `u0000` is ordinary text, in a query value or a JSON body."""
    response = client.get(ITEMS, params={"filter": "notes LIKE '%\\u0000%'", "limit": 1})
    assert response.status_code == 200, response.text
    feature = {**FEATURE, "properties": {**FEATURE["properties"], "notes": "C:\\u0000"}}
    created = client.post(ITEMS, content=json.dumps(feature),
                          headers={"Content-Type": "application/geo+json"})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert client.get(location).json()["properties"]["notes"] == "C:\\u0000"
    assert client.delete(location).status_code == 204


# --- CQL2 filters: long chains work, deep nesting is a 400 ------------------------------------

def _long_and(first: str, terms: int = 1500) -> str:
    text = " AND ".join([first] + ["id > 0"] * (terms - 1))
    assert len(text) < 20_000
    return text


def test_a_chain_of_1500_and_terms_is_answered(client: TestClient) -> None:
    some = client.get(ITEMS, params={"limit": 1}).json()["features"][0]["id"]
    response = client.get(ITEMS, params={"filter": _long_and(f"id = {some}")})
    assert response.status_code == 200, response.text
    assert [f["id"] for f in response.json()["features"]] == [some]
    ors = " OR ".join(f"id = {n}" for n in range(some, some + 1500))
    response = client.get(ITEMS, params={"filter": ors, "limit": 1})
    assert response.status_code == 200 and response.json()["features"][0]["id"] == some
    tile = client.get(TILE, params={"filter": _long_and("fatalities >= 0")})
    assert tile.status_code in (200, 204), tile.text
    multi = client.get(MULTI_TILE, params={"collections": "incidents",
                                           "incidents.filter": _long_and("fatalities >= 0")})
    assert multi.status_code in (200, 204), multi.text
    series = client.get("/analysis/timeseries", params={"filter": _long_and("fatalities >= 0"),
                                                        "step": "month"})
    assert series.status_code == 200, series.text


def test_deep_brackets_around_one_term_or_one_chain_are_answered(client: TestClient) -> None:
    response = client.get(ITEMS, params={"filter": "(" * 3000 + "id > 0" + ")" * 3000})
    assert response.status_code == 200, response.text[:300]
    nested = "(id > 0 OR (" * 1000 + "id > 2" + "))" * 1000  # one OR chain, however bracketed
    response = client.get(ITEMS, params={"filter": nested, "limit": 1})
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("flt", [
    "NOT (" * 1500 + "id > 0" + ")" * 1500,
    "(id > 0 AND (id > 1 OR " * 400 + "id > 2" + "))" * 400,
    "(id > 0 AND NOT (" * 400 + "id > 2" + "))" * 400,
    "id = " + " + ".join(["1"] * 1500),
], ids=["not", "and-or", "and-not", "arithmetic"])
@pytest.mark.parametrize("url", [ITEMS, TILE, "/analysis/timeseries"])
def test_deep_nesting_is_a_400_naming_the_limit(client: TestClient, url: str, flt: str) -> None:
    response = client.get(url, params={"filter": flt})
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["code"] == "invalid_query" and body["max_depth"] == 64
    assert "nests more than 64 levels" in body["description"]


def test_deep_cql2_json_is_a_400(client: TestClient) -> None:
    deep = '{"op":"not","args":[' * 900 + '{"op":">","args":[{"property":"id"},0]}' + "]}" * 900
    response = client.get(ITEMS, params={"filter-lang": "cql2-json", "filter": deep})
    assert response.status_code == 400, response.text[:300]
    terms = [{"op": ">", "args": [{"property": "id"}, 0]}] * 400
    chain = json.dumps({"op": "and", "args": terms}, separators=(",", ":"))
    response = client.get(ITEMS, params={"filter-lang": "cql2-json", "filter": chain, "limit": 1})
    assert response.status_code == 200, response.text[:300]


# --- properties= longer than one json_build_object call takes ------------------------------------

def test_properties_with_51_names_is_answered(client: TestClient) -> None:
    published = list(client.get("/collections/incidents/queryables").json()["properties"])
    published = [p for p in published if p not in ("geom", "geometry", "id")]
    names = (published * 3)[:51]
    response = client.get(ITEMS, params={"properties": ",".join(names), "limit": 2})
    assert response.status_code == 200, response.text[:300]
    features = response.json()["features"]
    assert list(features[0]["properties"]) == list(dict.fromkeys(names))
    table = client.get(ITEMS, params={"properties": ",".join(names), "limit": 2, "f": "csv"})
    assert table.status_code == 200
    assert table.text.splitlines()[0].split(",") == ["id", *dict.fromkeys(names), "lon", "lat",
                                                     "wkt"]
    unknown = client.get(ITEMS, params={"properties": ",".join([*names, "nope"])})
    assert unknown.status_code == 400 and "nope" in unknown.json()["description"]


def test_a_json_object_of_more_than_50_pairs_is_built_in_order(engine: Engine) -> None:
    pairs = [f"'k{i}', {i}" for i in range(120)]
    with engine.connect() as conn:
        built = conn.execute(text(f"SELECT {features_q._json_object(pairs)}")).scalar_one()
    assert list(json.loads(built).items()) == [(f"k{i}", i) for i in range(120)]


def test_the_cql2_parser_is_built_when_the_app_starts(database_url: str,
                                                      sample_loaded: list[object]) -> None:
    """The grammar takes a large part of a second to build: at the start, not in the first
    filtered request (the review's 1,500-term filter on a fresh server)."""
    from server.main import create_app
    from server.services import cql2
    from tests.conftest import make_settings

    cql2._parser.cache_clear()
    with TestClient(create_app(make_settings(database_url))):
        assert cql2._parser.cache_info().currsize == 1
