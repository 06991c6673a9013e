"""Tiles by the standard (issue 16): the tiling scheme served locally as OGC 2DTMS 2.0 JSON and
linked from every tileset (no link to the internet), 404 JSON outside the matrix, TileJSON with
center, attribution and minzoom/maxzoom per layer."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


def _path(href: str) -> str:
    return "/" + href.split("/", 3)[3]


def test_tile_matrix_sets_are_served_locally(client: TestClient) -> None:
    listing = client.get("/tileMatrixSets")
    assert listing.status_code == 200
    sets = listing.json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    href = next(link["href"] for link in sets[0]["links"] if link["rel"] == "self")
    tms = client.get(_path(href)).json()
    assert tms["id"] == "WebMercatorQuad" and tms["crs"].endswith("/EPSG/0/3857")
    assert tms["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    matrices = tms["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(25)]
    for z, m in enumerate(matrices):
        assert m["matrixWidth"] == m["matrixHeight"] == 2**z
        assert m["tileWidth"] == m["tileHeight"] == 256 and m["cornerOfOrigin"] == "topLeft"
        assert math.isclose(m["cellSize"] * 256 * 2**z, 2 * 20037508.3427892, rel_tol=1e-9)
        assert math.isclose(m["scaleDenominator"], m["cellSize"] / 0.00028, rel_tol=1e-9)
    unknown = client.get("/tileMatrixSets/WorldCRS84Quad")
    assert unknown.status_code == 404 and unknown.json()["description"]


def test_tilesets_link_the_local_tiling_scheme_not_the_internet(client: TestClient) -> None:
    for path in ("/collections/incidents/tiles", "/tiles"):
        text = client.get(path).text
        assert "schemas.opengis.net" not in text
        for ts in client.get(path).json()["tilesets"]:
            scheme = next(link for link in ts["links"] if link["rel"] == TILING_SCHEME)
            assert client.get(_path(scheme["href"])).json()["id"] == "WebMercatorQuad"
    tileset = client.get("/collections/incidents/tiles/WebMercatorQuad").json()
    assert "schemas.opengis.net" not in str(tileset)
    landing = client.get("/?f=json").json()["links"]
    assert any(link["rel"].endswith("/tiling-schemes") for link in landing)


def test_tiles_outside_the_matrix_are_404_json(client: TestClient) -> None:
    for path in ("0/0/1", "0/1/0", "5/32/0", "23/0/0", "30/0/0"):
        for url in (f"/collections/settlements/tiles/WebMercatorQuad/{path}",
                    f"/tiles/WebMercatorQuad/{path}"):
            response = client.get(url)
            assert response.status_code == 404, (url, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["description"]


def test_tilejson_has_center_attribution_and_zooms_per_layer(client: TestClient) -> None:
    for path in ("/collections/incidents/tiles.json", "/tiles.json"):
        tj = client.get(path).json()
        west, south, east, north = tj["bounds"]
        lon, lat, zoom = tj["center"]
        assert west <= lon <= east and south <= lat <= north
        assert tj["minzoom"] <= zoom <= tj["maxzoom"]
        assert tj["attribution"] and "UCDP" in tj["attribution"]
        for layer in tj["vector_layers"]:
            assert layer["minzoom"] == 0 and layer["maxzoom"] == tj["maxzoom"]
