"""Checks written from the OGC abstract test suites of the conformance classes this API claims:
OGC API - Features Part 1 (17-069r4, Annex A: Core, GeoJSON, OpenAPI 3.0), Part 2 (18-058r1,
Annex A: CRS by reference), Part 3 / CQL2 (19-079r2, 21-065r2: Filter, Features Filter,
Queryables, Basic CQL2) and Part 4 (20-002, draft: Create/Replace/Delete, Update, Features).
Each test names the abstract test it follows (/conf/...)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

OGC = "http://www.opengis.net/spec"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
GEOJSON = "application/geo+json"
ITEMS = "/collections/incidents/items"
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection"}


def _rels(links: list[dict]) -> dict[str, dict]:
    return {link["rel"]: link for link in links}


def _path(href: str) -> str:
    parsed = urlparse(href)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- Part 1, Core --------------------------------------------------------------------------

def test_core_http(client: TestClient) -> None:
    """/conf/core/http: the API answers HTTP 1.1 GETs; HEAD-less clients get JSON bodies."""
    r = client.get("/", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")


def test_core_landing_page(client: TestClient) -> None:
    """/conf/core/root-op, /conf/core/root-success: links to the API definition, the
    conformance declaration and the collections, each with a type."""
    body = client.get("/?f=json").json()
    rels = _rels(body["links"])
    assert {"service-desc", "conformance", "data"} <= set(rels) or (
        {"service-doc", "conformance", "data"} <= set(rels))
    assert all(link.get("href") and link.get("type") for link in body["links"])
    for rel in ("conformance", "data"):
        assert client.get(_path(rels[rel]["href"])).status_code == 200


def test_core_api_definition(client: TestClient) -> None:
    """/conf/core/api-definition-op, /conf/oas30/oas-definition-1..2: the service-desc is an
    OpenAPI 3.0 document describing every path the API serves."""
    desc = _rels(client.get("/?f=json").json()["links"])["service-desc"]
    r = client.get(_path(desc["href"]))
    assert r.status_code == 200
    api = r.json()
    assert api["openapi"].startswith("3.") and api["info"]["title"]
    for path in ("/", "/conformance", "/collections", "/collections/{collection_id}",
                 "/collections/{collection_id}/items",
                 "/collections/{collection_id}/items/{feature_id}"):
        assert "get" in api["paths"][path], path
    assert client.get("/api.html").status_code == 200


def test_core_limit_parameter_definition(client: TestClient) -> None:
    """/conf/core/fc-limit-definition: limit is an integer with minimum 1, a maximum and a
    default, in the OpenAPI definition."""
    api = client.get("/api").json()
    params = {p["name"]: p for p in api["paths"]["/collections/{collection_id}/items"]["get"]
              ["parameters"]}
    schema = params["limit"]["schema"]
    assert schema["type"] == "integer" and schema["minimum"] == 1
    assert schema["maximum"] >= schema["default"] >= 1
    for name in ("bbox", "datetime"):
        assert name in params and params[name]["in"] == "query"


def test_core_conformance(client: TestClient) -> None:
    """/conf/core/conformance-op, -success: conformsTo lists the classes, Core included."""
    r = client.get("/conformance")
    assert r.status_code == 200
    classes = r.json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs",
                "ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/basic-cql2"):
        assert f"{OGC}/{cls}" in classes, cls


def test_core_collections(client: TestClient) -> None:
    """/conf/core/fc-md-op, -success, -links, -items, -extent: /collections lists every
    collection with an id, links (items as GeoJSON), and a CRS84 spatial extent."""
    body = client.get("/collections").json()
    assert _rels(body["links"])["self"]
    ids = [c["id"] for c in body["collections"]]
    assert {"incidents", "agreement_areas", "aid_deliveries"} <= set(ids)
    for c in body["collections"]:
        items = [link for link in c["links"] if link["rel"] == "items"]
        assert any(link["type"] == GEOJSON for link in items), c["id"]
        spatial = c["extent"]["spatial"]
        assert spatial.get("crs", CRS84) == CRS84
        for box in spatial["bbox"]:
            assert len(box) in (4, 6)
            assert -180 <= box[0] <= 180 and -90 <= box[1] <= 90
            assert -180 <= box[2] <= 180 and -90 <= box[3] <= 90 and box[1] <= box[3]
        if "temporal" in c["extent"]:
            for start, end in c["extent"]["temporal"]["interval"]:
                assert start is None or end is None or _time(start) <= _time(end)
        single = client.get(f"/collections/{c['id']}")
        assert single.status_code == 200 and single.json()["id"] == c["id"]
    assert client.get("/collections/no_such_thing").status_code == 404


def test_core_items_response(client: TestClient) -> None:
    """/conf/core/fc-op, /conf/core/fc-response, /conf/geojson/content: a FeatureCollection in
    application/geo+json, numberReturned equals the features, numberMatched not less, a self
    link and an alternate per other format, each feature a GeoJSON Feature with an id."""
    r = client.get(ITEMS, params={"limit": 25})
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["type"] == "FeatureCollection" and isinstance(body["features"], list)
    assert body["numberReturned"] == len(body["features"]) == 25
    if "numberMatched" in body:
        assert body["numberMatched"] >= body["numberReturned"]
    rels = _rels(body["links"])
    assert rels["self"]["type"] == GEOJSON and "alternate" in rels
    for f in body["features"]:
        assert f["type"] == "Feature" and f["id"] is not None
        assert f["geometry"]["type"] in GEOMETRY_TYPES and isinstance(f["properties"], dict)
        lon, lat = f["geometry"]["coordinates"][:2]
        assert -180 <= lon <= 180 and -90 <= lat <= 90


def test_core_limit_response(client: TestClient) -> None:
    """/conf/core/fc-limit-response-1: never more features than limit; beyond the maximum the
    request is refused with 400 (an invalid parameter value)."""
    for limit in (1, 7, 100):
        assert len(client.get(ITEMS, params={"limit": limit}).json()["features"]) <= limit
    assert client.get(ITEMS, params={"limit": 0}).status_code == 400
    assert client.get(ITEMS, params={"limit": 10**9}).status_code == 400


def test_core_paging_links(client: TestClient) -> None:
    """/conf/core/fc-links, /rec/core/fc-next-1: following next gives the following features,
    none repeated."""
    first = client.get(ITEMS, params={"limit": 10}).json()
    nxt = _rels(first["links"])["next"]
    assert nxt["type"] == GEOJSON
    second = client.get(_path(nxt["href"])).json()
    ids1 = {f["id"] for f in first["features"]}
    ids2 = {f["id"] for f in second["features"]}
    assert len(ids2) == 10 and not ids1 & ids2
    assert parse_qs(urlparse(nxt["href"]).query)["limit"] == ["10"]


def test_core_bbox(client: TestClient) -> None:
    """/conf/core/fc-bbox-definition, -response: only features intersecting the bbox; four
    numbers lon/lat; a malformed bbox is 400."""
    box = (36.0, 34.5, 37.0, 35.5)
    body = client.get(ITEMS, params={"bbox": ",".join(map(str, box)), "limit": 500}).json()
    assert body["features"]
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
    for bad in ("1,2,3", "37,34,36,35", "36,95,37,96", "a,b,c,d"):
        assert client.get(ITEMS, params={"bbox": bad}).status_code == 400, bad


def test_core_datetime(client: TestClient) -> None:
    """/conf/core/fc-time-definition, -response: instants, bounded and half-bounded intervals;
    only features whose time is within; garbage is 400."""
    cases = {
        "2016-03-01T00:00:00Z/2016-03-31T23:59:59Z": ("2016-03-01", "2016-03-31T23:59:59"),
        "2016-03-01T00:00:00Z/..": ("2016-03-01", None),
        "../2016-03-15T23:59:59Z": (None, "2016-03-15T23:59:59"),
    }
    for value, (start, end) in cases.items():
        body = client.get(ITEMS, params={"datetime": value, "limit": 200}).json()
        assert body["features"], value
        for f in body["features"]:
            t = _time(f["properties"]["occurred_at"])
            assert start is None or t >= _time(start + ("" if "T" in start else "T00:00:00")
                                              + "+00:00")
            assert end is None or t <= _time(end + "+00:00")
    some = client.get(ITEMS, params={"limit": 1}).json()["features"][0]
    instant = client.get(ITEMS, params={"datetime": some["properties"]["occurred_at"],
                                        "limit": 100}).json()
    assert instant["features"] and all(f["properties"]["occurred_at"] ==
                                       some["properties"]["occurred_at"]
                                       for f in instant["features"])
    assert client.get(ITEMS, params={"datetime": "yesterday"}).status_code == 400


def test_core_feature(client: TestClient) -> None:
    """/conf/core/f-op, -success, /conf/geojson/content: one Feature with the same id, self and
    collection links; an unknown id is 404."""
    some = client.get(ITEMS, params={"limit": 1}).json()["features"][0]
    r = client.get(f"{ITEMS}/{some['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["type"] == "Feature" and body["id"] == some["id"]
    rels = _rels(body["links"])
    assert rels["self"]["type"] == GEOJSON and rels["collection"]["type"] == "application/json"
    assert client.get(f"{ITEMS}/999999999999").status_code == 404
    assert client.get(f"{ITEMS}/not-an-id").status_code == 404


def test_core_query_parameters(client: TestClient) -> None:
    """/conf/core/query-param-invalid, -unknown: a bad value or an unknown parameter is 400,
    with a JSON body."""
    for params in ({"limit": "many"}, {"offset": "-1"}, {"colour": "red"}):
        r = client.get(ITEMS, params=params)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")


def test_geojson_media_types(client: TestClient) -> None:
    """/conf/geojson/definition: items and features offered and served as geo+json, also when
    asked by Accept."""
    r = client.get(ITEMS, params={"limit": 1}, headers={"Accept": GEOJSON})
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    r = client.get(ITEMS, params={"limit": 1, "f": "json"})
    assert r.headers["content-type"].startswith(GEOJSON)


# --- Part 2, CRS by reference ---------------------------------------------------------------

def test_crs_collection_metadata(client: TestClient) -> None:
    """/conf/crs/fc-md-crs-list, /conf/crs/fc-md-storageCrs: each collection lists its CRSs
    (CRS84 first-class), the storage CRS is one of them."""
    body = client.get("/collections").json()
    for c in body["collections"]:
        assert CRS84 in c["crs"] and c.get("storageCrs", CRS84) in c["crs"]
        assert f"{EPSG}3857" in c["crs"]


@pytest.mark.parametrize("code", ["3857", "32637", "4326"])
def test_crs_items_and_feature(client: TestClient, code: str) -> None:
    """/conf/crs/fc-crs-valid-value, /conf/crs/ogc-crs-header: crs= changes the coordinates
    and Content-Crs names the CRS; EPSG:4326 answers in lat/lon axis order."""
    plain = client.get(ITEMS, params={"limit": 5, "sortby": "id"}).json()["features"]
    r = client.get(ITEMS, params={"limit": 5, "sortby": "id", "crs": f"{EPSG}{code}"})
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{EPSG}{code}>"
    moved = r.json()["features"]
    assert [f["id"] for f in moved] == [f["id"] for f in plain]
    for a, b in zip(plain, moved, strict=True):
        if code == "4326":
            assert b["geometry"]["coordinates"] == pytest.approx(a["geometry"]["coordinates"][::-1])
        else:
            assert abs(b["geometry"]["coordinates"][0]) > 1000
    one = client.get(f"{ITEMS}/{plain[0]['id']}", params={"crs": f"{EPSG}{code}"})
    assert one.headers["content-crs"] == f"<{EPSG}{code}>"
    assert client.get(ITEMS).headers["content-crs"] == f"<{CRS84}>"


def test_crs_bbox_crs_and_invalid(client: TestClient) -> None:
    """/conf/crs/fc-bbox-crs-action, /conf/crs/fc-crs-invalid: a bbox in EPSG:3857 selects the
    same features as the same box in CRS84; an unsupported CRS is 400."""
    lon_lat = client.get(ITEMS, params={"bbox": "36,34.5,37,35.5", "limit": 1000}).json()
    merc = client.get(ITEMS, params={
        "bbox": "4007501.67,4097942.45,4118821.16,4232052.96",  # the same box in metres
        "bbox-crs": f"{EPSG}3857", "limit": 1000}).json()
    assert {f["id"] for f in merc["features"]} == {f["id"] for f in lon_lat["features"]}
    assert client.get(ITEMS, params={"crs": f"{EPSG}2154"}).status_code == 400
    assert client.get(ITEMS, params={"bbox": "1,1,2,2", "bbox-crs": "EPSG:9999"}
                      ).status_code == 400


# --- Part 3, Filtering and CQL2 --------------------------------------------------------------

def test_queryables(client: TestClient) -> None:
    """/conf/queryables/get-queryables-op, -response: a JSON Schema (object, $schema, $id)
    served as application/schema+json, linked from the collection."""
    links = client.get("/collections/incidents").json()["links"]
    link = _rels(links)["http://www.opengis.net/def/rel/ogc/1.0/queryables"]
    r = client.get(_path(link["href"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    assert schema["type"] == "object" and schema["$schema"] and schema["$id"]
    assert {"event_type", "occurred_at", "fatalities"} <= set(schema["properties"])


def test_filter_basic_cql2(client: TestClient) -> None:
    """/conf/filter/filter-param, /conf/basic-cql2/*: comparison and logical operators in
    cql2-text and cql2-json select exactly the matching features."""
    text = client.get(ITEMS, params={
        "filter": "event_type = 'state_based_violence' AND fatalities >= 10", "limit": 500,
    }).json()
    assert text["features"]
    assert all(f["properties"]["event_type"] == "state_based_violence"
               and f["properties"]["fatalities"] >= 10 for f in text["features"])
    as_json = client.get(ITEMS, params={
        "filter-lang": "cql2-json", "limit": 500,
        "filter": '{"op":"and","args":[{"op":"=","args":[{"property":"event_type"},'
                  '"state_based_violence"]},{"op":">=","args":[{"property":"fatalities"},10]}]}',
    }).json()
    assert {f["id"] for f in as_json["features"]} == {f["id"] for f in text["features"]}
    negated = client.get(ITEMS, params={"filter": "NOT (fatalities >= 10)", "limit": 500}).json()
    assert all(f["properties"]["fatalities"] < 10 for f in negated["features"])
    null = client.get(ITEMS, params={"filter": "sub_event_type IS NULL", "limit": 50}).json()
    assert all(f["properties"]["sub_event_type"] is None for f in null["features"])


def test_filter_errors(client: TestClient) -> None:
    """/conf/filter/filter-param (invalid), /conf/queryables-query-parameters: a syntax error,
    an unknown property or an unknown filter-lang is 400."""
    for params in ({"filter": "fatalities >>> 3"}, {"filter": "colour = 'red'"},
                   {"filter": "fatalities > 3", "filter-lang": "sql"}):
        r = client.get(ITEMS, params=params)
        assert r.status_code == 400 and r.json()["description"], params


# --- Part 4, Create/Replace/Delete, Update, Features ---------------------------------------

def test_part4_create_replace_update_delete(client: TestClient) -> None:
    """/conf/create-replace-delete/{post,put,delete}, /conf/update/patch, /conf/features/*:
    the classes are declared; POST answers 201 with Location; the feature at Location is the
    one posted; PUT replaces and PATCH updates it; DELETE removes it (then 404)."""
    classes = client.get("/conformance").json()["conformsTo"]
    for cls in ("create-replace-delete", "update", "features"):
        assert f"{OGC}/ogcapi-features-4/1.0/conf/{cls}" in classes, cls
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.5, 34.5]},
               "properties": {"occurred_at": "2016-03-01T00:00:00Z", "event_type": "shelling"}}
    created = client.post(ITEMS, json=feature, headers={"Content-Type": GEOJSON})
    assert created.status_code == 201 and created.headers["Location"]
    location = _path(created.headers["Location"])
    read = client.get(location)
    assert read.status_code == 200 and read.json()["geometry"] == feature["geometry"]
    replaced = client.put(location, json={**feature, "properties": {
        **feature["properties"], "fatalities": 1}}, headers={"Content-Type": GEOJSON})
    assert replaced.status_code == 200 and client.get(location).json()["properties"][
        "fatalities"] == 1
    patched = client.patch(location, json={"properties": {"fatalities": 2}},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    assert client.get(location).json()["properties"]["event_type"] == "shelling"
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
