"""/analysis/ questions other than deconfliction: exact answers on hand-built data (desert east
of Palmyra, far from the sample), plausibility on the real sample."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.main import create_app
from server.raster.zonal import zonal_sum
from tests.conftest import make_settings
from tests.server import analysis_data as data
from tests.server.rasters import uniform_population

LON, LAT = 40.0, 33.0
SIGNED = "2016-05-01T00:00:00Z"


@pytest.fixture(scope="module")
def world(engine: Engine, sample_loaded: list[object]) -> Iterator[dict[str, Any]]:
    with data.cleaned(engine):
        w: dict[str, Any] = {}
        w["area"] = data.add_area(engine, "q-area", data.diamond(LON, LAT), signed_at=SIGNED)
        w["before"] = data.add_incident(engine, "q-before", LON, LAT, "2016-04-30T23:59:59Z")
        w["at"] = data.add_incident(engine, "q-at", LON, LAT, SIGNED)
        w["rejected"] = data.add_incident(engine, "q-rejected", LON, LAT, "2016-05-12T00:00:00Z",
                                          verification_status="rejected")
        p4999 = data.project(engine, LON + 0.1, LAT, 4999, 90)
        p5001 = data.project(engine, LON + 0.1, LAT, 5001, 90)
        w["near"] = data.add_incident(engine, "q-4999", *p4999, "2016-05-10T00:00:00Z",
                                      event_type="non_state_violence",
                                      verification_status="reported")
        w["far"] = data.add_incident(engine, "q-5001", *p5001, "2016-05-10T00:00:00Z")
        w["town"] = data.add_settlement(engine, "q-town", LON + 0.02, LAT, 1000)
        w["old_delivery"] = data.add_delivery(engine, "q-d1", LON + 0.02, LAT,
                                              "2016-04-01T00:00:00Z", settlement_id=w["town"])
        w["convoy"] = data.add_delivery(engine, "q-d2", LON + 0.3, LAT, "2016-05-10T00:00:00Z")
        risk_point = data.project(engine, LON + 0.3, LAT, 1000, 0)
        w["risk"] = data.add_incident(engine, "q-risk", *risk_point, "2016-05-10T10:00:00Z")
        for k in range(6):  # a tight cluster for DBSCAN, 20 m apart
            data.add_incident(engine, f"q-cluster-{k}", 40.5 + k * 0.0002, 33.5,
                              "2016-06-10T00:00:00Z", fatalities=2)
        yield w


def test_incidents_inside_and_4999_m_near_one_area(client: TestClient,
                                                    world: dict[str, Any]) -> None:
    body = data.get_json(client, f"/analysis/areas/{world['area']}/incidents", distance_m=5000)
    (area,) = body["areas"]
    assert area["inside"]["total"] == 3
    assert (area["inside"]["before_signing"], area["inside"]["after_signing"]) == (1, 2)
    assert area["inside"]["by_verification_status"] == {"confirmed": 2, "rejected": 1}
    assert area["near"]["total"] == 1  # 4,999 m in, 5,001 m out
    assert area["near"]["by_event_type"] == {"non_state_violence": 1}


def test_a_time_window_counts_from_the_signing_second(client: TestClient,
                                                      world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/areas/incidents", area_id=str(world["area"]),
                datetime=f"{SIGNED}/..")
    assert body["areas"][0]["inside"]["total"] == 2
    assert body["areas"][0]["inside"]["before_signing"] == 0


def test_area_incidents_as_csv_and_geojson(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get("/analysis/areas/incidents", params={"area_id": world["area"],
                                                               "f": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.headers["content-type"].startswith("text/csv")
    assert rows[0]["inside_total"] == "3" and rows[0]["inside_before"] == "1"
    geo = data.get_json(client, "/analysis/areas/incidents", area_id=world["area"], f="geojson")
    assert geo["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert geo["features"][0]["properties"]["inside"]["total"] == 3


def test_unknown_area_is_404_and_unknown_status_is_400(client: TestClient) -> None:
    assert client.get("/analysis/areas/999999/incidents").status_code == 404
    wrong = client.get("/analysis/areas/incidents", params={"verification_status": "maybe"})
    assert wrong.status_code == 400 and "maybe" in wrong.json()["description"]


def test_incident_links_follow_updates_and_deletes(engine: Engine, world: dict[str, Any],
                                                   client: TestClient) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(45, 20), 4326) "
                          "WHERE id = :id"), {"id": world["rejected"]})
    try:
        body = data.get_json(client, f"/analysis/areas/{world['area']}/incidents")
        assert body["areas"][0]["inside"]["total"] == 2
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
                              " WHERE id = :id"), {"id": world["rejected"], "x": LON, "y": LAT})
    assert data.get_json(client, f"/analysis/areas/{world['area']}/incidents")["areas"][0]["inside"][
        "total"] == 3


def test_compliance_rates_and_days_since_last_confirmed(client: TestClient,
                                                        world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/areas/compliance", at="2016-05-15T00:00:00Z",
                area_id=str(world["area"]), weeks_before=8)
    (row,) = body["areas"]
    assert row["violations_before"] == 1 and row["violations_after"] == 1  # rejected not counted
    assert row["rate_before"] == 0.125 and row["rate_after"] == 0.5
    assert row["days_since_last_confirmed"] == 14
    assert row["trend"] == "new"


def test_compliance_on_the_sample_is_sorted_by_risk(client: TestClient) -> None:
    body = data.get_json(client, "/analysis/areas/compliance", at="2016-06-30T00:00:00Z")
    risks = [a["risk"] for a in body["areas"]]
    assert risks == sorted(risks, reverse=True) and len(risks) >= 10
    assert all(a["signed_at"] <= "2016-06-30" for a in body["areas"])
    by_name = data.get_json(client, "/analysis/areas/compliance", at="2016-06-30T00:00:00Z", sort="name")
    names = [a["name"] for a in by_name["areas"]]
    assert names == sorted(names)
    assert client.get("/analysis/areas/compliance?sort=drop").status_code == 400


def test_aid_gap_for_a_signed_settlement_weighted_by_population(client: TestClient,
                                                                world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/aid-gaps", at="2016-05-15T00:00:00Z", days=30)
    mine = [p for p in body["places"] if p["id"] == world["town"]]
    assert len(mine) == 1
    town = mine[0]
    assert town["days_without_delivery"] == 44 and town["priority"] == 44_000
    assert town["area_id"] == world["area"]
    assert town["nearest_recent_delivery_id"] == world["convoy"]
    assert 25_000 < town["nearest_recent_delivery_m"] < 27_000
    longer = data.get_json(client, "/analysis/aid-gaps", at="2016-05-15T00:00:00Z", days=60)
    assert world["town"] not in [p["id"] for p in longer["places"]]


def test_aid_risk_within_distance_and_hours(client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/aid-risk", distance_m=5000, hours=24,
                datetime="2016-05-10/2016-05-10")
    hits = {d["id"]: d for d in body["deliveries"]}
    assert hits[world["convoy"]]["incident_ids"] == [world["risk"]]
    assert hits[world["convoy"]]["nearest_incident_m"] == pytest.approx(1000, abs=1)
    assert hits[world["convoy"]]["closest_incident_hours"] == 10
    short = data.get_json(client, "/analysis/aid-risk", distance_m=5000, hours=5)
    assert world["convoy"] not in [d["id"] for d in short["deliveries"]]


def test_hotspots_find_the_tight_cluster(client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/hotspots", eps_m=100, minpoints=5,
                bbox="40.4,33.4,40.6,33.6", datetime="2016-06-01/2016-06-30")
    assert [(c["incidents"], c["fatalities"]) for c in body["clusters"]] == [(6, 12)]
    none = data.get_json(client, "/analysis/hotspots", eps_m=10, minpoints=5, bbox="40.4,33.4,40.6,33.6")
    assert none["clusters"] == []


@pytest.mark.parametrize("kind", ["square", "hexagon"])
def test_grid_cells_hold_every_incident(client: TestClient, world: dict[str, Any],
                                        kind: str) -> None:
    body = data.get_json(client, "/analysis/grid", kind=kind, size_m=1000, bbox="40.4,33.4,40.6,33.6")
    assert body["type"] == "FeatureCollection"
    assert sum(f["properties"]["incidents"] for f in body["features"]) == 6
    assert sum(f["properties"]["fatalities"] for f in body["features"]) == 12


def test_grid_by_admin_level_on_the_sample(client: TestClient) -> None:
    body = data.get_json(client, "/analysis/grid", kind="admin", level=1, f="json",
                datetime="2016-01-01/2016-12-31")
    total = sum(c["incidents"] for c in body["cells"])
    assert 6000 < total <= 6155 and len(body["cells"]) == 14


def test_grid_tile_is_a_vector_tile(client: TestClient) -> None:
    import mapbox_vector_tile

    response = client.get("/analysis/grid/tiles/6/25/38", params={"size_m": 20000})
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.content)["grid"]
    assert sum(f["properties"]["incidents"] for f in layer["features"]) > 100


def test_timeseries_per_day_for_an_area(client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/timeseries", step="day", area_id=world["area"],
                datetime="2016-04-30T00:00:00Z/2016-05-02T23:59:59Z")
    assert [(s["period"], s["incidents"]) for s in body["series"]] == [
        ("2016-04-30", 1), ("2016-05-01", 1), ("2016-05-02", 0)]


def test_timeseries_months_of_the_sample_add_up_as_csv(client: TestClient,
                                                       engine: Engine) -> None:
    response = client.get("/analysis/timeseries", params={"step": "month", "f": "csv",
                                                          "datetime": "2016-01-01/2016-12-31"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM incidents WHERE occurred_at < "
                                  "'2017-01-01'")).scalar_one()
    assert len(rows) == 12 and sum(int(r["incidents"]) for r in rows) == total >= 6155


def test_nearest_settlements_and_areas(client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/nearest", lon=LON + 0.021, lat=LAT, n=2)
    assert body["places"][0]["id"] == world["town"]
    assert body["places"][0]["distance_m"] == pytest.approx(93.4, abs=1)
    areas = data.get_json(client, "/analysis/nearest", lon=36.7, lat=34.7, kind="agreement_areas", n=3)
    distances = [p["distance_m"] for p in areas["places"]]
    assert distances == sorted(distances) and len(distances) == 3


# --- population exposure -----------------------------------------------------------------------


def test_zonal_sum_weights_partial_pixels_exactly(tmp_path: Path) -> None:
    raster = uniform_population(tmp_path / "pop.tif")
    square = {"type": "Polygon", "coordinates": [[[39.805, 33.195], [39.835, 33.195],
                                                  [39.835, 33.165], [39.805, 33.165],
                                                  [39.805, 33.195]]]}
    result = zonal_sum(str(raster), square)
    assert result.total == pytest.approx(9.0, abs=1e-9)  # 4 quarters + 4 halves + 1 whole pixel
    assert result.pixels == 16


@pytest.fixture(scope="module")
def raster_client(database_url: str, sample_loaded: list[object], analyst_key: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    raster = uniform_population(tmp_path_factory.mktemp("pop") / "population.tif")
    settings = make_settings(database_url)
    settings.raster.sources = {**settings.raster.sources, "population": str(raster)}
    # counts of every incident (reported and rejected ones too): an analyst's key
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as test_client:
        yield test_client


def test_people_inside_an_area(raster_client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(raster_client, "/analysis/exposure", area_id=world["area"])
    assert body["people"] == pytest.approx(200, rel=0.005)  # diamond of 0.02 square degrees
    assert body["raster"] == {"name": "population", "date": "2016-01-01", "crs": "EPSG:4326",
                              "resolution": [0.01, 0.01]}


def test_people_within_1000_m_of_an_incident(raster_client: TestClient,
                                             world: dict[str, Any]) -> None:
    body = data.get_json(raster_client, "/analysis/exposure", incident_id=str(world["at"]),
                distance_m=1000)
    # a 3.14 km2 disc over pixels of 0.01 x 0.01 degree (1.0357 km2 at 33 N)
    assert body["incidents"] == 1
    assert body["people"] == pytest.approx(3.14159 / 1.0357, rel=0.02)


def test_exposure_without_a_raster_or_a_zone_says_so(client: TestClient,
                                                     raster_client: TestClient) -> None:
    assert client.get("/analysis/exposure?area_id=1").status_code == 404
    assert raster_client.get("/analysis/exposure?distance_m=100").status_code == 400


def test_area_report_in_one_call(raster_client: TestClient, world: dict[str, Any]) -> None:
    body = data.get_json(raster_client, f"/analysis/areas/{world['area']}/report",
                at="2016-05-15T00:00:00Z")
    assert body["area"]["id"] == world["area"] and body["area"]["geometry"]["type"]
    assert body["history"][0]["status"] == "signed"
    assert body["incidents"]["inside"]["total"] == 3  # up to `at`: before, at signing, rejected
    assert body["compliance"]["violations_after"] == 1
    assert [d["id"] for d in body["aid_deliveries"]] == [world["old_delivery"]]
    assert body["exposure"]["people"] == pytest.approx(200, rel=0.005)


def test_every_analysis_endpoint_is_in_the_openapi_with_an_example(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    wanted = ["/analysis/deconfliction", "/analysis/areas/incidents",
              "/analysis/areas/{area_id}/incidents", "/analysis/areas/compliance",
              "/analysis/aid-gaps", "/analysis/aid-risk", "/analysis/hotspots", "/analysis/grid",
              "/analysis/timeseries", "/analysis/exposure", "/analysis/nearest",
              "/analysis/areas/{area_id}/report"]
    for path in wanted:
        op = paths[path].get("get") or paths[path]["post"]
        content = op["responses"]["200"]["content"]["application/json"]
        assert "example" in content or "schema" in content, path


def test_the_per_day_summary_matches_the_live_spatial_join(client: TestClient,
                                                           world: dict[str, Any]) -> None:
    window = "2016-03-01/2016-06-30"
    summary = data.get_json(client, "/analysis/areas/incidents", datetime=window)["areas"]
    live = data.get_json(client, "/analysis/areas/incidents", datetime=window,
                verification_status="reported,under_review,confirmed,rejected,duplicate")["areas"]
    assert [a["inside"] for a in summary] == [a["inside"] for a in live]
    assert sum(a["inside"]["total"] for a in summary) > 100
    mid_day = data.get_json(client, "/analysis/areas/incidents",
                   datetime="2016-04-30T23:59:59Z/2016-05-01T00:00:00Z",
                   area_id=str(world["area"]))["areas"][0]["inside"]
    assert (mid_day["before_signing"], mid_day["after_signing"]) == (1, 1)


def test_hexagon_cells_are_those_of_st_hexagongrid(client: TestClient, engine: Engine) -> None:
    """The hexagon grid numbers cells by arithmetic; on the real sample (6,000+ points, even
    and odd columns) every cell and count equals ST_HexagonGrid's."""
    from server.services.analysis_more import region_srid

    window = "2016-01-01T00:00:00Z/2016-12-31T23:59:59Z"
    body = data.get_json(client, "/analysis/grid", kind="hexagon", size_m=7000, f="json",
                datetime=window, dedupe="false", limit=10000)
    mine = {c["cell"]: c["incidents"] for c in body["cells"]}
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT h.i, h.j, count(*) FROM incidents i
            CROSS JOIN LATERAL (SELECT g.i, g.j FROM ST_HexagonGrid(7000,
                                  ST_Transform(i.geom, :srid)) g
                                WHERE ST_Intersects(g.geom, ST_Transform(i.geom, :srid))
                                ORDER BY g.i, g.j LIMIT 1) h
            WHERE i.occurred_at BETWEEN '2016-01-01' AND '2016-12-31 23:59:59+00'
            GROUP BY 1, 2"""), {"srid": region_srid(None)}).all()
    assert len(mine) > 100
    assert mine == {f"{i}:{j}": n for i, j, n in rows}
