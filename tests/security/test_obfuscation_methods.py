"""Geo-obfuscation by admin-area centroid and by nearest settlement (SecuritySettings
public_location_method / partner_location_method), on items, decoded tiles, CSV export and the
change feed, against an API configured so: public -> centroid of the admin level 3 area,
partner -> nearest settlement. Points outside every area / far from every settlement fall back
to the grid. The default (a 0.1 degree grid) is tested in test_release_everywhere."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from shapely.geometry import Point, shape
from sqlalchemy import Engine, text

from server.main import create_app
from server.security.principal import PUBLIC
from server.security.release import ReleasePolicy, location, release_for
from server.settings import SecuritySettings
from tests.conftest import UNLIMITED, make_settings
from tests.security.conftest import Headers

ITEMS = "/collections/incidents/items"
SOURCE = "tests-obfuscation"
EXACT = (36.70311, 34.72877)  # in Homs sub-district
FAR = (20.03, 10.04)  # outside every admin area, far from every settlement
BBOX = "36.55,34.6,36.85,34.85"
LEVEL = 3


@pytest.fixture(scope="module")
def planted(engine: Engine, sample_loaded: list[object]) -> Iterator[dict[str, int]]:
    """Two confirmed public incidents at exact points, removed after the module."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:obfuscation', true)"))
        for name, (lon, lat) in (("near", EXACT), ("far", FAR)):
            ids[name] = int(conn.execute(text("""
                INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                       verification_status, sensitivity, geom)
                VALUES (:source, :sid, '2016-03-02T06:31:17Z', 'shelling', 1, 'confirmed',
                        'public', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                RETURNING id"""), {"source": SOURCE, "sid": name, "lon": lon, "lat": lat}
            ).scalar_one())
    yield ids
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:obfuscation', true)"))
        conn.execute(text("DELETE FROM incidents WHERE source = :s"), {"s": SOURCE})


def _expected(engine: Engine, method: str) -> dict[int, tuple[float, float]]:
    """id -> the obfuscated point of every released incident, computed here independently."""
    if method == "admin_centroid":
        moved = ("(SELECT ST_Centroid(a.geom) FROM admin_areas a WHERE a.admin_level = :level "
                 "AND ST_Intersects(a.geom, i.geom) ORDER BY a.pcode LIMIT 1)")
    else:
        moved = ("(SELECT s.geom FROM settlements s WHERE ST_DWithin(s.geom, i.geom, 0.25) "
                 "ORDER BY s.geom <-> i.geom, s.id LIMIT 1)")
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT id, round(ST_X(p)::numeric, 6)::float8, round(ST_Y(p)::numeric, 6)::float8
            FROM (SELECT i.id, coalesce({moved}, ST_SnapToGrid(i.geom, 0.1)) AS p
                  FROM incidents i
                  WHERE verification_status = 'confirmed' AND sensitivity = 'public') e
        """), {"level": LEVEL}).all()  # noqa: S608 - constants
    return {int(r[0]): (float(r[1]), float(r[2])) for r in rows}


@pytest.fixture(scope="module")
def app_by_area(database_url: str, planted: dict[str, int]) -> FastAPI:
    settings = make_settings(database_url, tile_point_cap=100)
    settings.security = SecuritySettings(
        **UNLIMITED, public_location_method="admin_centroid",
        obfuscation_admin_level=LEVEL, partner_location_method="settlement")
    return create_app(settings)


@pytest.fixture(scope="module")
def api(app_by_area: FastAPI) -> Iterator[TestClient]:
    with TestClient(app_by_area) as client:
        yield client


@pytest.fixture(scope="module")
def centroids(engine: Engine, planted: dict[str, int]) -> dict[int, tuple[float, float]]:
    return _expected(engine, "admin_centroid")


@pytest.fixture(scope="module")
def nearest(engine: Engine, planted: dict[str, int]) -> dict[int, tuple[float, float]]:
    return _expected(engine, "settlement")


def _point(feature: dict[str, Any]) -> tuple[float, float]:
    lon, lat = feature["geometry"]["coordinates"]
    return round(lon, 6), round(lat, 6)


def test_public_items_show_admin_area_centroids(api: TestClient, planted: dict[str, int],
                                                centroids: dict[int, tuple[float, float]]
                                                ) -> None:
    response = api.get(ITEMS, params={"bbox": BBOX, "limit": 10000})
    assert response.status_code == 200
    features = response.json()["features"]
    assert len(features) > 10
    for f in features:
        assert _point(f) == pytest.approx(centroids[f["id"]], abs=1e-6), f["id"]
        assert f["properties"]["location_obfuscated"] == (
            "moved to the centroid of its admin level 3 area (snapped to a 0.1 degree grid "
            "outside every such area)")
    mine = next(f for f in features if f["id"] == planted["near"])
    assert _point(mine) != EXACT and str(EXACT[0]) not in response.text
    single = api.get(f"{ITEMS}/{planted['near']}").json()
    assert _point(single) == pytest.approx(centroids[planted["near"]], abs=1e-6)
    # outside every admin area: the grid
    far = api.get(f"{ITEMS}/{planted['far']}").json()
    assert _point(far) == pytest.approx((20.0, 10.0))


def test_partner_items_show_the_nearest_settlement(api: TestClient, auth: Headers,
                                                   planted: dict[str, int],
                                                   nearest: dict[int, tuple[float, float]],
                                                   engine: Engine) -> None:
    features = api.get(ITEMS, params={"bbox": BBOX, "limit": 10000},
                       headers=auth("partner_a")).json()["features"]
    released = [f for f in features if f["properties"]["verification_status"] == "confirmed"]
    assert len(released) > 10
    with engine.connect() as conn:
        settlements = {(round(x, 6), round(y, 6)) for x, y in conn.execute(text(
            "SELECT ST_X(geom), ST_Y(geom) FROM settlements")).all()}
    for f in released:
        assert _point(f) == pytest.approx(nearest[f["id"]], abs=1e-6), f["id"]
        assert _point(f) in settlements
        assert f["properties"]["location_obfuscated"].startswith(
            "moved to the nearest settlement (within 0.25 degrees")
    far = api.get(f"{ITEMS}/{planted['far']}", headers=auth("partner_a")).json()
    assert _point(far) == pytest.approx((20.0, 10.0))
    # an analyst still sees the exact point
    exact = api.get(f"{ITEMS}/{planted['near']}", headers=auth("analyst")).json()
    assert _point(exact) == EXACT and "location_obfuscated" not in exact["properties"]


def _tile(z: int, lon: float, lat: float) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def _lonlat(z: int, y: int, x: int, px: float, py: float) -> tuple[float, float]:
    """A decoded tile point (extent 4096, y up as mapbox_vector_tile gives it) to lon/lat."""
    n = 2**z
    fx, fy = (x + px / 4096) / n, (y + 1 - py / 4096) / n
    return fx * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fy))))


def _decode(response: Any) -> list[dict[str, Any]]:
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return list(mapbox_vector_tile.decode(response.content).get("incidents", {})
                .get("features", []))


def test_public_tiles_decode_to_centroids(api: TestClient, planted: dict[str, int],
                                          centroids: dict[int, tuple[float, float]]) -> None:
    target = centroids[planted["near"]]
    z, y, x = _tile(14, *target)
    feats = _decode(api.get(f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}"))
    mine = [f for f in feats if int(f.get("id") or f["properties"]["id"]) == planted["near"]]
    assert mine, "the incident is drawn at its area's centroid"
    px, py = mine[0]["geometry"]["coordinates"]
    lon, lat = _lonlat(z, y, x, px, py)
    assert abs(lon - target[0]) < 1e-4 and abs(lat - target[1]) < 1e-4
    assert mine[0]["properties"]["location_obfuscated"].startswith("moved to the centroid")
    for f in feats:  # every point of the tile sits on a centroid
        fid = int(f.get("id") or f["properties"]["id"])
        lon, lat = _lonlat(z, y, x, *f["geometry"]["coordinates"])
        assert abs(lon - centroids[fid][0]) < 1e-4 and abs(lat - centroids[fid][1]) < 1e-4
    ez, ey, ex = _tile(14, *EXACT)
    if (ey, ex) != (y, x):
        at_exact = _decode(api.get(f"/collections/incidents/tiles/WebMercatorQuad/{ez}/{ey}/{ex}"))
        assert planted["near"] not in {int(f.get("id") or f["properties"]["id"])
                                       for f in at_exact}


def test_public_low_zoom_aggregates_never_place_a_lone_incident_exactly(
        api: TestClient, centroids: dict[int, tuple[float, float]]) -> None:
    """Above the point cap (100 here) a tile aggregates; the cell pyramid (exact positions,
    snapped only to a grid) must not answer, so a one-incident cell sits on a centroid."""
    positions = set(centroids.values()) | {(20.0, 10.0)}
    for z in (6, 8):
        zz, y, x = _tile(z, *EXACT)
        feats = _decode(api.get(f"/collections/incidents/tiles/WebMercatorQuad/{zz}/{y}/{x}"))
        assert any(f["properties"].get("point_count", 1) > 1 for f in feats), z
        tolerance = 360 / 2**z / 4096 * 2
        lone = [f for f in feats if f["properties"].get("point_count") == 1]
        assert lone, z
        for f in lone:
            lon, lat = _lonlat(zz, y, x, *f["geometry"]["coordinates"])
            assert any(abs(lon - a) < tolerance and abs(lat - b) < tolerance
                       for a, b in positions), (z, lon, lat)


def test_public_csv_export_has_centroids_and_says_so(
        api: TestClient, planted: dict[str, int],
        centroids: dict[int, tuple[float, float]]) -> None:
    body = api.get(ITEMS, params={"bbox": BBOX, "f": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) > 10
    for row in rows:
        expected = centroids[int(row["id"])]
        assert (float(row["lon"]), float(row["lat"])) == pytest.approx(expected, abs=1e-6)
        assert row["location_obfuscated"].startswith("moved to the centroid of its admin level 3")
    assert str(EXACT[0]) not in body and str(EXACT[1]) not in body


def test_public_change_feed_has_centroids(api: TestClient, planted: dict[str, int],
                                          centroids: dict[int, tuple[float, float]],
                                          engine: Engine) -> None:
    with engine.connect() as conn:
        since = conn.execute(text(
            "SELECT min(seq) - 1 FROM audit_log WHERE table_name = 'incidents' AND row_id = :id"),
            {"id": str(planted["near"])}).scalar_one()
    changes = api.get("/collections/incidents/changes", params={"since": since, "limit": 100}
                      ).json()["changes"]
    mine = [c for c in changes if c["id"] == str(planted["near"])]
    assert mine and _point(mine[-1]["feature"]) == pytest.approx(centroids[planted["near"]],
                                                                 abs=1e-6)


def test_public_analysis_grid_counts_incidents_at_their_centroids(
        api: TestClient, centroids: dict[int, tuple[float, float]]) -> None:
    """Analysis reads the same released rows: 100 m squares hold incidents only where a
    centroid is, and count exactly the incidents whose centroid falls in the bbox."""
    body = api.get("/analysis/grid", params={"kind": "square", "size_m": 100, "bbox": BBOX,
                                             "f": "geojson"})
    assert body.status_code == 200, body.text
    cells = body.json()["features"]
    assert cells
    x0, y0, x1, y1 = (float(v) for v in BBOX.split(","))
    inside = [p for p in centroids.values() if x0 <= p[0] <= x1 and y0 <= p[1] <= y1]
    assert sum(c["properties"]["incidents"] for c in cells) == len(inside)
    for cell in cells:
        area = shape(cell["geometry"])
        assert sum(area.buffer(1e-6).contains(Point(p)) for p in inside) == cell[
            "properties"]["incidents"]


def test_the_area_parts_follow_admin_area_writes(api: TestClient, engine: Engine,
                                                 planted: dict[str, int]) -> None:
    """admin_area_parts (migration 11a) is kept by triggers: an area added around the far
    point moves it to that area's centroid; the area moved away or deleted, it falls back."""
    square = "ST_Multi(ST_MakeEnvelope(19.5, 9.5, 21.5, 10.5, 4326))"
    far = f"{ITEMS}/{planted['far']}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO admin_areas (pcode, admin_level, name_en, geom, "
                              f"source) VALUES ('ZZ0001', {LEVEL}, 'Test area', {square}, "
                              f"'{SOURCE}')"))  # noqa: S608 - constants
        assert _point(api.get(far).json()) == pytest.approx((20.5, 10.0))
        with engine.begin() as conn:
            conn.execute(text("UPDATE admin_areas SET geom = ST_Multi(ST_MakeEnvelope(19.9, "
                              "9.9, 20.1, 10.3, 4326)) WHERE pcode = 'ZZ0001'"))
        assert _point(api.get(far).json()) == pytest.approx((20.0, 10.1))
        with engine.begin() as conn:
            conn.execute(text("UPDATE admin_areas SET geom = ST_Multi(ST_MakeEnvelope(29, 9, "
                              "30, 10, 4326)) WHERE pcode = 'ZZ0001'"))
        assert _point(api.get(far).json()) == pytest.approx((20.0, 10.0))
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM admin_areas WHERE pcode = 'ZZ0001'"))
            left = conn.execute(text("SELECT count(*) FROM admin_area_parts "
                                     "WHERE pcode = 'ZZ0001'")).scalar_one()
    assert left == 0
    assert _point(api.get(far).json()) == pytest.approx((20.0, 10.0))


def test_location_methods_are_validated_and_the_default_is_the_grid() -> None:
    with pytest.raises(ValidationError):
        SecuritySettings(public_location_method="street")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SecuritySettings(obfuscation_admin_level=7)
    with pytest.raises(ValueError, match="bad location method"):
        location("street", "t", 0.1, ReleasePolicy(), {})
    rel = release_for(PUBLIC, "incidents")
    assert rel.method == "grid" and rel.grid == 0.1 and rel.pyramid_ok
    assert rel.notes["location_obfuscated"] == "snapped to a 0.1 degree grid"
    by_area = release_for(PUBLIC, "incidents", ReleasePolicy(public_location_method="settlement"))
    assert by_area.grid is None and not by_area.pyramid_ok and by_area.reach
