"""OGC API Features behaviour beyond the first slice: sorting, properties, CQL2, CRS, formats,
ETags, limits."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

ITEMS = "/collections/incidents/items"


def _ids(body: dict) -> list[int]:
    return [f["id"] for f in body["features"]]


def test_sortby_descending_then_ascending(client: TestClient) -> None:
    body = client.get(ITEMS, params={"sortby": "-occurred_at,fatalities", "limit": 50}).json()
    times = [f["properties"]["occurred_at"] for f in body["features"]]
    assert times == sorted(times, reverse=True)
    bad = client.get(ITEMS, params={"sortby": "colour"})
    assert bad.status_code == 400 and "occurred_at" in bad.json()["allowed"]


def test_properties_selects_fields(client: TestClient) -> None:
    body = client.get(ITEMS, params={"properties": "event_type,fatalities", "limit": 3}).json()
    assert all(set(f["properties"]) == {"event_type", "fatalities"} for f in body["features"])
    bad = client.get(ITEMS, params={"properties": "event_type,secret"})
    assert bad.status_code == 400 and "secret" in bad.json()["description"]


def test_typed_property_filters(client: TestClient) -> None:
    body = client.get(ITEMS, params={"fatalities": 5, "limit": 100}).json()
    assert body["features"] and {f["properties"]["fatalities"] for f in body["features"]} == {5}
    assert client.get(ITEMS, params={"fatalities": "many"}).status_code == 400


def test_number_matched_and_paging(client: TestClient) -> None:
    first = client.get(ITEMS, params={"limit": 100}).json()
    assert first["numberMatched"] == 6155 and first["numberReturned"] == 100
    assert first["timeStamp"].endswith("Z")
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt).json()
    assert not set(_ids(first)) & set(_ids(second))
    assert any(link["rel"] == "prev" for link in second["links"])
    small = client.get(ITEMS, params={"bbox": "36.6,34.6,36.8,34.8", "limit": 10000}).json()
    assert small["numberMatched"] == small["numberReturned"] == len(small["features"])
    assert not any(link["rel"] == "next" for link in small["links"])


CQL_TEXT = [
    ("event_type = 'state_based_violence' AND fatalities > 10", lambda p: p["fatalities"] > 10),
    ("fatalities BETWEEN 3 AND 5", lambda p: 3 <= p["fatalities"] <= 5),
    ("fatalities IN (1, 2)", lambda p: p["fatalities"] in (1, 2)),
    ("location_name LIKE 'Aleppo%'", lambda p: p["location_name"].startswith("Aleppo")),
    ("NOT (fatalities >= 1)", lambda p: p["fatalities"] < 1),
    ("actor2 IS NULL OR fatalities = 0", lambda p: p["actor2"] is None or p["fatalities"] == 0),
    ("T_INTERSECTS(occurred_at, INTERVAL('2016-03-01','2016-03-02'))",
     lambda p: p["occurred_at"][:10] in ("2016-03-01", "2016-03-02")),
    ("T_DURING(occurred_at, INTERVAL('2016-12-30T00:00:00Z','..'))",
     lambda p: p["occurred_at"] > "2016-12-30"),
    ("occurred_at > TIMESTAMP('2016-12-30T00:00:00Z')", lambda p: p["occurred_at"] > "2016-12-30"),
    ("CASEI(location_name) LIKE casei('%homs%')", lambda p: "homs" in p["location_name"].lower()),
]


@pytest.mark.parametrize(("expr", "check"), CQL_TEXT)
def test_cql2_text(client: TestClient, expr: str, check) -> None:  # type: ignore[no-untyped-def]
    response = client.get(ITEMS, params={"filter": expr, "limit": 500})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["features"], expr
    assert all(check(f["properties"]) for f in body["features"])


def test_cql2_spatial(client: TestClient) -> None:
    within = client.get(ITEMS, params={
        "filter": "S_WITHIN(geom, POLYGON((36.6 34.6, 36.8 34.6, 36.8 34.8, 36.6 34.8, 36.6 34.6)))",
        "limit": 1000}).json()
    assert within["features"]
    for f in within["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 36.6 <= lon <= 36.8 and 34.6 <= lat <= 34.8
    near = client.get(ITEMS, params={
        "filter": "S_DWITHIN(geom, POINT(36.7076 34.8025), 2000, meters)", "limit": 1000}).json()
    assert near["features"]
    far = client.get(ITEMS, params={
        "filter": "S_DWITHIN(geom, POINT(36.7076 34.8025), 20, km)", "limit": 10000}).json()
    assert len(far["features"]) > len(near["features"])
    inter = client.get(ITEMS, params={"filter": "S_INTERSECTS(geom, BBOX(36.6,34.6,36.8,34.8))",
                                      "limit": 1000}).json()
    assert len(inter["features"]) == len(within["features"])


def test_cql2_json(client: TestClient) -> None:
    expr = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "event_type"}, "state_based_violence"]},
        {"op": "s_dwithin", "args": [{"property": "geom"},
                                     {"type": "Point", "coordinates": [36.7076, 34.8025]}, 5000]},
        {"op": "t_intersects", "args": [{"property": "occurred_at"},
                                        {"interval": ["2016-01-01", "2016-12-31"]}]}]}
    response = client.get(ITEMS, params={"filter": json.dumps(expr), "filter-lang": "cql2-json",
                                         "limit": 100})
    assert response.status_code == 200, response.text
    assert response.json()["features"]


@pytest.mark.parametrize("expr", [
    "fatalities = 1; DROP TABLE incidents", "secret = 1", "fatalities = 'x'",
    "event_type = 'a'' OR 1=1 --'", "\"fatalities\"\" = 1 OR 1\" = 1", "pg_sleep(10) = 1",
    "S_DWITHIN(geom, POINT(36 34), 10, parsecs)", "S_INTERSECTS(fatalities, POINT(1 2))",
    "T_INTERSECTS(event_type, INTERVAL('2016-01-01','2016-02-01'))", "((((",
])
def test_cql2_injection_and_garbage_are_400(client: TestClient, expr: str) -> None:
    response = client.get(ITEMS, params={"filter": expr})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:  # a harmless literal comparison, matching nothing
        assert response.json()["features"] == []
    assert client.get("/health").json()["layers"]["incidents"] == 6155


def test_queryables_are_json_schema(client: TestClient) -> None:
    response = client.get("/collections/incidents/queryables")
    assert response.headers["content-type"].startswith("application/schema+json")
    body = response.json()
    assert body["type"] == "object" and body["properties"]["occurred_at"]["format"] == "date-time"
    assert client.get("/collections/nope/queryables").status_code == 404


@pytest.mark.parametrize(("crs", "check"), [
    ("http://www.opengis.net/def/crs/EPSG/0/3857", lambda x, y: 4e6 < x < 4.2e6 and y > 4e6),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", lambda x, y: 34 < x < 35 and 36 < y < 37),
    ("EPSG:32637", lambda x, y: 2e5 < x < 4e5 and 3.7e6 < y < 3.9e6),
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", lambda x, y: 36 < x < 37 and 34 < y < 35),
])
def test_crs_output_with_content_crs(client: TestClient, crs: str, check) -> None:  # type: ignore[no-untyped-def]
    response = client.get(ITEMS, params={"crs": crs, "limit": 1})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"].startswith("<http://www.opengis.net/def/crs/")
    x, y = response.json()["features"][0]["geometry"]["coordinates"]
    assert check(x, y), (x, y)
    one = client.get(f"{ITEMS}/1", params={"crs": crs})
    assert one.headers["content-crs"] == response.headers["content-crs"]
    assert client.get(ITEMS, params={"crs": "EPSG:27700"}).status_code == 400


def test_bbox_crs(client: TestClient) -> None:
    lonlat = client.get(ITEMS, params={"bbox": "36.6,34.6,36.8,34.8", "limit": 1000}).json()
    latlon = client.get(ITEMS, params={"bbox": "34.6,36.6,34.8,36.8", "limit": 1000,
                                       "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    merc = client.get(ITEMS, params={"bbox": "4074267,4110971,4096531,4138186", "limit": 1000,
                                     "bbox-crs": "EPSG:3857"})
    assert _ids(lonlat) == _ids(latlon.json())
    assert set(_ids(merc.json())) and abs(len(_ids(merc.json())) - len(_ids(lonlat))) < 30


def test_csv_hxl_and_downloads(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = client.get(ITEMS, params={"f": "csv", "limit": 5})
    assert plain.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(plain.text)))
    assert rows[0][:2] == ["id", "source_id"] and {"lon", "lat", "wkt"} <= set(rows[0])
    assert len(rows) == 6 and rows[1][-1].startswith("POINT(")
    hxl = list(csv.reader(io.StringIO(client.get(ITEMS, params={"f": "hxl", "limit": 2}).text)))
    assert hxl[1][0] == "#event+id" and "#geo+lat" in hxl[1]
    assert client.get("/collections/admin_areas/items", params={"f": "hxl"}).status_code == 400
    by_accept = client.get(ITEMS, params={"limit": 2}, headers={"Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    import pyogrio

    for fmt in ("gpkg", "fgb"):
        response = client.get(ITEMS, params={"f": fmt, "limit": 50, "event_type": "state_based_violence"})
        assert response.status_code == 200, response.text
        path = tmp_path / f"out.{fmt}"
        path.write_bytes(response.content)
        info = pyogrio.read_info(path)
        assert info["features"] == 50 and "event_type" in list(info["fields"])


def test_etag_and_304_follow_the_data(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    url = "/collections/settlements/items?limit=5"
    first = client.get(url)
    tag = first.headers["etag"]
    assert tag.startswith('"') and first.headers["last-modified"].endswith("GMT")
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and not again.content
    with engine.begin() as conn:
        conn.execute(text("UPDATE settlements SET population = population WHERE id = "
                          "(SELECT min(id) FROM settlements)"))
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    with engine.begin() as conn:  # a statement that changes no row keeps the version
        conn.execute(text("UPDATE settlements SET population = 0 WHERE false"))
    assert client.get(url, headers={"If-None-Match": changed.headers["etag"]}).status_code == 304


@pytest.mark.parametrize("query", [
    "bbox=10,10,5,5", "bbox=0,-100,1,1", "datetime=2016-13-45", "limit=abc", "crs=foo",
    "bbox-crs=EPSG:1", "filter-lang=sql", "sortby=-", "f=xlsx", "filter=fatalities%20%3E",
])
def test_more_bad_parameters_are_400(client: TestClient, query: str) -> None:
    response = client.get(f"{ITEMS}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["description"]
