"""Every layer served: health and its row counts, collections with extents, items as GeoJSON,
filters, feature by id, vector and raster tiles, and the JSON error bodies."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient


def test_health_reports_postgis_and_rows_in_every_layer(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["layers"]["incidents"] == 6155
    assert body["layers"]["admin_areas"] == 1 + 14 + 62 + 272 + 414
    assert body["layers"]["settlements"] == 308
    assert all(count > 0 for count in body["layers"].values())


def test_collections_list_every_layer_with_extents(client: TestClient) -> None:
    body = client.get("/collections").json()
    ids = {c["id"] for c in body["collections"]}
    assert ids == {"incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas"}
    incidents = next(c for c in body["collections"] if c["id"] == "incidents")
    minx, miny, maxx, maxy = incidents["extent"]["spatial"]["bbox"][0]
    assert 35 < minx < maxx < 43 and 32 < miny < maxy < 38
    assert incidents["extent"]["temporal"]["interval"][0][0].startswith("2016-01-01")


@pytest.mark.parametrize("collection", ["incidents", "agreement_areas", "aid_deliveries",
                                        "settlements", "admin_areas"])
def test_items_are_geojson_for_every_layer(client: TestClient, collection: str) -> None:
    response = client.get(f"/collections/{collection}/items", params={"limit": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 5
    assert all(f["geometry"]["type"] for f in body["features"])
    assert any(link["rel"] == "next" for link in body["links"])


def test_ten_real_ucdp_incidents(client: TestClient) -> None:
    body = client.get("/collections/incidents/items?limit=10").json()
    assert len(body["features"]) == 10
    assert {f["properties"]["source"] for f in body["features"]} == {"ucdp_ged"}
    first = body["features"][0]
    assert first["properties"]["source_id"] == "214797"  # the first row of the UCDP file
    assert first["geometry"]["coordinates"] == [36.707602, 34.802462]


def test_bbox_and_datetime_filter_incidents(client: TestClient) -> None:
    homs = "36.6,34.6,36.8,34.8"
    body = client.get(f"/collections/incidents/items?bbox={homs}&limit=1000").json()
    assert body["features"]
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert 36.6 <= lon <= 36.8 and 34.6 <= lat <= 34.8
    day = client.get("/collections/incidents/items?datetime=2016-02-27&limit=1000").json()
    assert day["features"]
    assert {f["properties"]["occurred_at"][:10] for f in day["features"]} == {"2016-02-27"}


def test_property_filter_and_unknown_parameter(client: TestClient) -> None:
    body = client.get("/collections/agreement_areas/items?status=signed&limit=100").json()
    assert body["features"] and {f["properties"]["status"] for f in body["features"]} == {"signed"}
    bad = client.get("/collections/agreement_areas/items?colour=red")
    assert bad.status_code == 400
    assert "colour" in bad.json()["description"] and "status" in bad.json()["allowed"]


def test_single_item_and_missing_item(client: TestClient) -> None:
    assert client.get("/collections/incidents/items/1").json()["id"] == 1
    missing = client.get("/collections/incidents/items/99999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/collections/incidents/items/abc").status_code == 404


@pytest.mark.parametrize("query", [
    "bbox=10,10,5,5", "bbox=0,-100,1,1", "bbox=a,b,c,d", "bbox=1,2,3", "datetime=yesterday",
    "datetime=2016-03-01/2016-02-01", "limit=0", "limit=1000000", "offset=-1",
])
def test_bad_parameters_are_400_with_a_json_body(client: TestClient, query: str) -> None:
    response = client.get(f"/collections/incidents/items?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["description"]


def test_unknown_collection_is_404(client: TestClient) -> None:
    response = client.get("/collections/nope/items")
    assert response.status_code == 404
    assert "incidents" in response.json()["collections"]


def test_vector_tile_decodes_and_empty_tile_is_204(client: TestClient) -> None:
    response = client.get("/collections/agreement_areas/tiles/WebMercatorQuad/8/101/154")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(response.content)
    assert tile["agreement_areas"]["features"]
    empty = client.get("/collections/incidents/tiles/WebMercatorQuad/8/0/0")
    assert empty.status_code == 204


@pytest.mark.parametrize("path", ["40/0/0", "3/8/0", "3/0/8"])
def test_tiles_outside_the_matrix_are_404(client: TestClient, path: str) -> None:
    """OGC API - Tiles: outside the tile matrix set (or its limits) is 404, with a JSON body."""
    response = client.get(f"/collections/incidents/tiles/WebMercatorQuad/{path}")
    assert response.status_code == 404 and response.json()["description"]


def test_shaded_relief_raster_tile(client: TestClient) -> None:
    response = client.get("/rasters/shaded_relief/tiles/6/38/25.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    assert client.get("/rasters/shaded_relief/tiles/6/0/0.png").status_code == 204
    assert client.get("/rasters/nope/tiles/6/38/25.png").status_code == 404


def test_landing_negotiates_json_and_html(client: TestClient) -> None:
    as_json = client.get("/", headers={"Accept": "application/json"})
    assert {link["rel"] for link in as_json.json()["links"]} >= {"service-desc", "data"}
    as_html = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert as_html.headers["content-type"].startswith("text/html")
    assert client.get("/conformance").json()["conformsTo"]
    assert client.get("/api").json()["openapi"].startswith("3.")
