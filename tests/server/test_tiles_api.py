"""Vector tiles: every point represented at every zoom, small tiles, filters, multi-layer tiles,
TileJSON, caching."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _count(tile: dict, layer: str) -> int:
    return sum(int(f["properties"].get("point_count", 1)) for f in tile[layer]["features"])


def test_low_zoom_tiles_aggregate_every_point(client: TestClient) -> None:
    total = 0
    for x in range(2**3):
        for y in range(2**3):
            r = client.get(f"/collections/incidents/tiles/WebMercatorQuad/3/{y}/{x}")
            assert r.status_code in (200, 204)
            if r.status_code == 200:
                assert len(r.content) < 250_000
                total += _count(mapbox_vector_tile.decode(r.content), "incidents")
    assert total == 6155
    x, y = _tile_of(38.5, 35.0, 5)
    tile = mapbox_vector_tile.decode(
        client.get(f"/collections/incidents/tiles/WebMercatorQuad/5/{y}/{x}").content)
    assert any(f["properties"].get("point_count", 1) > 1 for f in tile["incidents"]["features"])


def test_high_zoom_tile_has_points_with_properties(client: TestClient) -> None:
    x, y = _tile_of(36.7076, 34.8025, 12)
    r = client.get(f"/collections/incidents/tiles/WebMercatorQuad/12/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    feats = mapbox_vector_tile.decode(r.content)["incidents"]["features"]
    assert feats and {"event_type", "verification_status", "occurred_at"} <= set(feats[0]["properties"])
    assert r.headers["etag"] and "max-age" in r.headers["cache-control"]
    assert r.headers["server-timing"].startswith("tile;dur=")
    again = client.get(f"/collections/incidents/tiles/WebMercatorQuad/12/{y}/{x}",
                       headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_tile_filters(client: TestClient) -> None:
    x, y = _tile_of(38.5, 35.0, 4)
    url = f"/collections/incidents/tiles/WebMercatorQuad/4/{y}/{x}"
    whole = _count(mapbox_vector_tile.decode(client.get(url).content), "incidents")
    march = client.get(url, params={"datetime": "2016-03-01/2016-03-31"})
    confirmed = client.get(url, params={"verification_status": "reported"})
    cql = client.get(url, params={"filter": "fatalities > 100"})
    for part in (march, confirmed, cql):
        assert part.status_code == 200, part.text
        assert 0 < _count(mapbox_vector_tile.decode(part.content), "incidents") < whole
    assert client.get(url, params={"colour": "red"}).status_code == 400
    assert client.get(url, params={"datetime": "garbage"}).status_code == 400


def test_multi_layer_tile(client: TestClient) -> None:
    x, y = _tile_of(36.7, 34.8, 8)
    r = client.get(f"/tiles/WebMercatorQuad/8/{y}/{x}",
                   params={"collections": "incidents,agreement_areas,settlements"})
    assert r.status_code == 200
    tile = mapbox_vector_tile.decode(r.content)
    assert {"incidents", "agreement_areas", "settlements"} <= set(tile)
    assert client.get("/tiles/WebMercatorQuad/8/0/0").status_code == 204
    assert client.get("/tiles/WebMercatorQuad/8/0/0?collections=nope").status_code == 400


def test_multi_layer_tile_per_layer_filters_match_each_collections_own_tiles(
        client: TestClient) -> None:
    x, y = _tile_of(38.5, 35.0, 4)
    own = {"datetime": "2016-03-01/2016-06-30", "verification_status": "reported",
           "filter": "fatalities > 100"}
    single = mapbox_vector_tile.decode(client.get(
        f"/collections/incidents/tiles/WebMercatorQuad/4/{y}/{x}", params=own).content)
    r = client.get(f"/tiles/WebMercatorQuad/4/{y}/{x}", params={
        "collections": "incidents,admin_areas", "datetime": own["datetime"],
        "incidents.verification_status": "reported", "incidents.filter": "fatalities > 100",
        "incidents.filter-lang": "cql2-text", "admin_areas.admin_level": "1"})
    assert r.status_code == 200, r.text
    multi = mapbox_vector_tile.decode(r.content)
    assert 0 < _count(multi, "incidents") == _count(single, "incidents")
    # the tile's own entry, then the database role (`db;desc=...`, server.replica_routing)
    tile_timing = r.headers["server-timing"].split(",")[0]
    assert float(tile_timing.removeprefix("tile;dur=")) >= 0
    assert {f["properties"]["admin_level"] for f in multi["admin_areas"]["features"]} == {1}
    whole = mapbox_vector_tile.decode(client.get(f"/tiles/WebMercatorQuad/4/{y}/{x}",
                                                 params={"collections": "incidents"}).content)
    assert _count(whole, "incidents") > _count(multi, "incidents")


@pytest.mark.parametrize("params", [
    {"collections": "incidents", "settlements.name": "x"},  # a layer not asked for
    {"collections": "incidents", "incidents.colour": "red"},  # not a property
    {"collections": "incidents", "incidents.limit": "5"},  # not a per-layer parameter
    {"collections": "incidents", "incidents.filter": "fatalities >"},  # bad CQL2
    {"collections": "incidents", "incidents.filter-lang": "cql2-text"},  # no filter
    {"collections": "incidents", "incidents.fatalities": "many"},
    {"collections": "incidents", "event_type": "x"},  # no layer prefix
])
def test_multi_layer_tile_bad_per_layer_parameters_are_400(
        client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/tiles/WebMercatorQuad/4/6/9", params=params)
    assert r.status_code == 400 and r.json()["description"], r.text


def test_tilejson_and_tileset_metadata(client: TestClient) -> None:
    tj = client.get("/collections/incidents/tiles.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["vector_layers"][0]["id"] == "incidents"
    assert tj["tiles"][0].endswith("/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}")
    ts = client.get("/collections/incidents/tiles/WebMercatorQuad").json()
    assert ts["dataType"] == "vector" and any(link["rel"] == "item" for link in ts["links"])
    assert client.get("/collections/incidents/tiles").json()["tilesets"]
    multi = client.get("/tiles.json?collections=incidents,settlements").json()
    assert [v["id"] for v in multi["vector_layers"]] == ["incidents", "settlements"]


@pytest.mark.parametrize("path", ["-1/0/0", "a/b/c"])
def test_bad_tile_addresses_are_400(client: TestClient, path: str) -> None:
    r = client.get(f"/tiles/WebMercatorQuad/{path}")
    assert r.status_code == 400 and r.json()["description"]


@pytest.mark.parametrize("path", ["40/0/0", "23/0/0", "2/4/0", "2/0/4"])
def test_tiles_outside_the_matrix_set_or_its_limits_are_404(client: TestClient, path: str) -> None:
    """OGC API - Tiles: a tile outside the tileMatrixSetLimits is 404 (not a bad request)."""
    for url in (f"/tiles/WebMercatorQuad/{path}",
                f"/collections/incidents/tiles/WebMercatorQuad/{path}"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["description"], (url, r.text)


# --- the incident tile pyramid (migration 08) -------------------------------------------------

def _features(client: TestClient, z: int, x: int, y: int, **params: str) -> dict[int, tuple]:
    r = client.get(f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}", params=params)
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204:
        return {}
    feats = mapbox_vector_tile.decode(r.content)["incidents"]["features"]
    return {int(f["properties"]["id"]): (f["properties"].get("point_count", 1),
                                        tuple(f["geometry"]["coordinates"])) for f in feats}


@pytest.mark.parametrize("z", [2, 4, 5, 7])
def test_pyramid_tiles_match_live_aggregation(client: TestClient, z: int) -> None:
    """Tiles from the pyramid and from live aggregation (forced by a CQL2 filter true for every
    row) hold the same cells, counts and positions (to a pixel)."""
    x, y = _tile_of(37.0, 35.0, z)
    pyramid = _features(client, z, x, y)
    live = _features(client, z, x, y, filter="id > 0")
    assert pyramid.keys() == live.keys() and sum(n for n, _ in pyramid.values()) > 0
    for key, (n, (px, py)) in pyramid.items():
        ln, (lx, ly) = live[key]
        assert n == ln and abs(px - lx) <= 1 and abs(py - ly) <= 1


@pytest.mark.parametrize(("z", "across"), [(0, 64), (3, 32), (6, 32), (7, 32)])
def test_clusters_are_coarser_at_country_zooms(client: TestClient, z: int, across: int) -> None:
    """From z1 to z7 a tile's clusters are 32 x 32 cells (~16 px), at z0 and from z8 64 x 64
    (~8 px; the sample has too few points to cluster there): each cluster's mean lies in a
    cell of its own (but for a mean rounded onto a cell's edge), from the pyramid and live."""
    x, y = _tile_of(37.0, 35.0, z)
    step = 4096 // across

    def shared(clusters: list[tuple[float, float]], size: int) -> float:
        cells = [(int(px) // size, int(py) // size) for px, py in clusters]
        return 1 - len(set(cells)) / len(cells)

    for params in ({}, {"filter": "id > 0"}):
        clusters = [xy for n, xy in _features(client, z, x, y, **params).values() if n > 1]
        assert len(clusters) > 1, (z, params)
        assert shared(clusters, step) <= 0.02, (z, params)
        assert shared(clusters, 2 * step) > 0.1, (z, params)  # not coarser than that


def test_pyramid_answers_type_status_and_whole_range_filters(client: TestClient) -> None:
    x, y = _tile_of(37.0, 35.0, 4)
    for params in ({"verification_status": "reported"}, {"event_type": "state_based_violence"},
                   {"datetime": "1900-01-01T00:00:00Z/2100-01-01T00:00:00Z"}):
        pyramid = _features(client, 4, x, y, **params)
        live = _features(client, 4, x, y, filter="id > 0", **params)
        assert {k: v[0] for k, v in pyramid.items()} == {k: v[0] for k, v in live.items()}


def test_pyramid_is_kept_current_by_triggers(engine) -> None:  # type: ignore[no-untyped-def]
    """Insert, move, recategorise and delete incidents: the maintained cells equal a rebuild."""
    from sqlalchemy import text

    snapshot = text("SELECT level, cx, cy, kind, n, round(sum_lon::numeric, 6), "
                    "round(sum_lat::numeric, 6) FROM incident_tile_cells ORDER BY 1, 2, 3, 4")
    with engine.connect() as conn, conn.begin() as tx:
        before = conn.execute(text("SELECT sum(n) FROM incident_tile_cells WHERE level = 6"))
        total = int(before.scalar_one())
        conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, geom)
            SELECT 'pyramid-test', g::text, now(), 'pyramid_test_type',
                   ST_SetSRID(ST_MakePoint(36 + g * 0.01, 35 + g * 0.01), 4326)
            FROM generate_series(1, 50) g"""))
        conn.execute(text("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(10, 10), 4326) "
                          "WHERE source = 'pyramid-test' AND source_id IN ('1', '2')"))
        conn.execute(text("UPDATE incidents SET verification_status = 'confirmed' "
                          "WHERE source = 'pyramid-test' AND source_id = '3'"))
        conn.execute(text("UPDATE incidents SET notes = 'unrelated' "
                          "WHERE source = 'pyramid-test' AND source_id = '4'"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'pyramid-test' "
                          "AND source_id IN ('5', '6', '7')"))
        maintained = conn.execute(snapshot).all()
        assert int(conn.execute(text("SELECT sum(n) FROM incident_tile_cells WHERE level = 6"))
                   .scalar_one()) == total + 47
        conn.execute(text("SELECT incident_tile_cells_rebuild()"))
        assert conn.execute(snapshot).all() == maintained
        tx.rollback()


def test_settlements_thinned_at_low_zooms_by_population(client: TestClient) -> None:
    from server.queries.tiles import THINNED

    _, minimums = THINNED["settlements"]
    x, y = _tile_of(36.7, 34.8, 6)
    low = mapbox_vector_tile.decode(
        client.get(f"/collections/settlements/tiles/WebMercatorQuad/6/{y}/{x}").content)
    populations = [f["properties"].get("population") for f in low["settlements"]["features"]]
    assert populations and all(p is not None and p >= minimums[6] for p in populations)
    x, y = _tile_of(36.7, 34.8, max(minimums) + 1)
    high = mapbox_vector_tile.decode(client.get(
        f"/collections/settlements/tiles/WebMercatorQuad/{max(minimums) + 1}/{y}/{x}").content)
    assert any((f["properties"].get("population") or 0) < minimums[6]
               for f in high["settlements"]["features"])
