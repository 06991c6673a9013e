"""HTTP as partners' clients expect it (issue 16): HEAD wherever GET is (same status and headers,
no body), `Vary: Accept, Accept-Encoding`, `Link` headers on item pages, CRS output without
per-geometry `crs` members, coordinates at 7 decimals for degrees, NULLs last when sorting
descending."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

ITEMS = "/collections/incidents/items"
#: headers that differ between any two answers (time, request id) or whose value holds a time
_VOLATILE = {"date", "x-request-id", "server-timing", "ratelimit-reset", "ratelimit-remaining",
             "ratelimit", "retry-after"}
#: answers whose body is the same from one request to the next (others hold a time or a
#: measure taken per request, and so a length that may differ by a byte)
_ABOUT_THE_BODY = {"content-type", "content-encoding", "vary", "cache-control", "link",
                   "content-crs", "content-disposition"}
_SAME_BODY = ("/collections", "/tiles", "/tileMatrixSets", "/static", "/api", "/conformance",
              "/rasters")


def _path_values(client: TestClient, analyst_key: str) -> dict[str, str]:
    fid = client.get(ITEMS, params={"limit": 1}).json()["features"][0]["id"]
    return {"collection_id": "incidents", "feature_id": str(fid), "z": "6", "y": "25",
            "x": "38", "tile_matrix_set_id": "WebMercatorQuad", "name": "shaded_relief",
            "fontstack": "DejaVu Sans", "glyph_range": "0-255",
            "fmt": "png", "area_id": "1", "report_id": "1", "incident_id": str(fid),
            "subscription_id": "1"}


def _get_paths(client: TestClient, analyst_key: str) -> list[str]:
    document = client.get("/api").json()
    values = _path_values(client, analyst_key)
    out = []
    for template, operations in document["paths"].items():
        if "get" not in operations:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        required = [p["name"] for p in operations["get"].get("parameters", [])
                    if p.get("required") and p["in"] == "query"]
        if {"lon", "lat"} <= set(required):
            path += "?lon=37.1&lat=36.2"
        out.append(path)
    return [*out, "/api", "/api.html", "/static/style.css", "/?f=html", ITEMS + "?f=csv"]


def test_head_answers_every_get_path_of_the_openapi_document_without_a_body(
        client: TestClient, analyst_key: str) -> None:
    paths = _get_paths(client, analyst_key)
    assert len(paths) > 40
    for headers in ({}, {"X-API-Key": analyst_key}):
        for path in paths:
            got = client.get(path, headers=headers)
            head = client.head(path, headers=headers)
            assert head.status_code == got.status_code != 405, (path, head.status_code)
            assert head.content == b"", path
            want = {k: v for k, v in got.headers.items() if k not in _VOLATILE}
            have = {k: v for k, v in head.headers.items() if k not in _VOLATILE}
            if not path.startswith(_SAME_BODY):  # a time, a measure or a random id in it
                assert set(have) == set(want), path
                have = {k: v for k, v in have.items() if k in _ABOUT_THE_BODY}
                want = {k: v for k, v in want.items() if k in _ABOUT_THE_BODY}
            assert have == want, path


def test_head_of_a_compressed_page_names_the_encoding_and_length(client: TestClient) -> None:
    headers = {"Accept-Encoding": "gzip"}
    got = client.get(ITEMS, params={"limit": 500}, headers=headers)
    head = client.head(ITEMS, params={"limit": 500}, headers=headers)
    assert head.headers["content-encoding"] == got.headers["content-encoding"] == "gzip"
    assert head.headers["etag"] == got.headers["etag"]


def test_a_method_other_than_get_and_head_is_still_405(client: TestClient) -> None:
    response = client.request("PATCH", "/collections")
    assert response.status_code == 405 and response.json()["description"]


@pytest.mark.parametrize("path", ["/", "/collections", "/collections/incidents", ITEMS,
                                  ITEMS + "?f=csv", "/collections/incidents/queryables",
                                  "/collections/incidents/tiles.json", "/tileMatrixSets"])
def test_vary_names_accept_and_accept_encoding(client: TestClient, path: str) -> None:
    vary = [v.strip().lower() for v in client.get(path).headers["vary"].split(",")]
    assert {"accept", "accept-encoding"} <= set(vary), vary
    assert len(vary) == len(set(vary)), vary  # each name once


def _links(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(", <"):
        href, _, params = part.lstrip("<").partition(">")
        rel = re.search(r'rel="([^"]+)"', params)
        assert rel, part
        out.setdefault(rel.group(1), []).append(href)
    return out


def test_item_pages_carry_link_headers_for_next_prev_and_alternates(client: TestClient) -> None:
    first = client.get(ITEMS, params={"limit": 5})
    links = _links(first.headers["link"])
    body_links = {(link["rel"], link["href"]) for link in first.json()["links"]}
    assert links["next"] and "prev" not in links
    assert {(rel, href) for rel, hrefs in links.items() for href in hrefs} <= body_links
    assert {"text/html", "text/csv"} <= {link["type"] for link in first.json()["links"]
                                         if link["rel"] == "alternate"}
    assert len(links["alternate"]) >= 3
    second = client.get(links["next"][0])
    again = _links(second.headers["link"])
    assert again["prev"] and again["next"]
    back = client.get(again["prev"][0]).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first.json()["features"]]


def test_a_feature_carries_link_headers_to_itself_its_page_and_collection(
        client: TestClient) -> None:
    fid = client.get(ITEMS, params={"limit": 1}).json()["features"][0]["id"]
    response = client.get(f"{ITEMS}/{fid}")
    links = _links(response.headers["link"])
    assert links["self"][0].endswith(f"{ITEMS}/{fid}")
    assert links["alternate"][0].endswith(f"{ITEMS}/{fid}?f=html")
    assert links["collection"][0].endswith("/collections/incidents")
    assert client.get(links["alternate"][0]).headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:32637", "EPSG:4326"])
def test_crs_output_has_no_crs_member_in_geometries(client: TestClient, crs: str) -> None:
    response = client.get(ITEMS, params={"limit": 20, "crs": crs})
    assert response.status_code == 200
    assert response.headers["content-crs"].startswith("<http://www.opengis.net/def/crs/EPSG/0/")
    for feature in response.json()["features"]:
        assert "crs" not in feature["geometry"], feature["geometry"]
    fid = response.json()["features"][0]["id"]
    one = client.get(f"{ITEMS}/{fid}", params={"crs": crs}).json()
    assert "crs" not in one["geometry"]


def _decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def test_coordinates_have_at_most_seven_decimals_in_degrees(client: TestClient) -> None:
    body = client.get(ITEMS, params={"limit": 1000}).json()
    lons = [f["geometry"]["coordinates"][0] for f in body["features"]]
    assert max(_decimals(x) for x in lons) <= 7
    polygons = client.get("/collections/admin_areas/items", params={"limit": 20}).json()
    flat = re.findall(r"-?\d+\.\d+", json.dumps([f["geometry"] for f in polygons["features"]]))
    assert flat and max(len(n.split(".")[1]) for n in flat) <= 7
    metres = client.get(ITEMS, params={"limit": 50, "crs": "EPSG:3857"}).json()
    assert max(_decimals(f["geometry"]["coordinates"][1]) for f in metres["features"]) <= 2


def test_csv_lon_lat_are_printed_at_seven_decimals(client: TestClient) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get(ITEMS, params={"f": "csv",
                                                                      "limit": 2000}).text)))
    assert rows
    for row in rows:
        for name in ("lon", "lat"):
            assert re.fullmatch(r"-?\d+(\.\d{1,7})?", row[name]), (name, row[name])
    assert not any("00000000" in row["lat"] or "99999999" in row["lat"] for row in rows)


def _sorted_values(client: TestClient, sortby: str) -> list[Any]:
    body = client.get(ITEMS, params={"limit": 10000, "sortby": sortby}).json()
    return [f["properties"]["fatalities"] for f in body["features"]]


def test_nulls_come_last_whichever_the_direction(client: TestClient, analyst_key: str) -> None:
    headers = {"X-API-Key": analyst_key}
    for sortby in ("-fatalities", "fatalities"):
        body = client.get(ITEMS, params={"limit": 10000, "sortby": sortby}, headers=headers)
        values = [f["properties"]["fatalities"] for f in body.json()["features"]]
        known = [v for v in values if v is not None]
        assert values[:len(known)] == known, sortby  # every NULL after every number
        assert known == sorted(known, reverse=sortby.startswith("-"))
    first = client.get(ITEMS, params={"limit": 1, "sortby": "-fatalities"}, headers=headers)
    assert first.json()["features"][0]["properties"]["fatalities"] is not None


def test_nulls_last_hold_across_cursor_pages(client: TestClient) -> None:
    """occurred_until holds NULLs: walking `-occurred_until` page by page gives the one-page
    order, NULLs last."""
    params = {"sortby": "-occurred_until", "limit": 700}
    everything = client.get(ITEMS, params={**params, "limit": 10000}).json()["features"]
    walked: list[dict[str, Any]] = []
    url: str | None = ITEMS
    page_params: dict[str, Any] | None = params
    while url:
        body = client.get(url, params=page_params).json()
        walked += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        page_params = None
    assert [f["id"] for f in walked] == [f["id"] for f in everything]
    actors = [f["properties"]["occurred_until"] for f in walked]
    named = [a for a in actors if a is not None]
    assert named and actors[:len(named)] == named and len(named) < len(actors)
