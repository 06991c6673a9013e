"""Every answer is bounded: a request that would make an unbounded answer gets a precise 400
(or 413) naming the limit and how to stay within it, before any heavy SQL runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.main import create_app
from server.services.analysis_more import buckets
from server.settings import AnalysisSettings
from tests.conftest import make_settings
from tests.server import analysis_data as data
from tests.server.rasters import uniform_population

SERIES = "/analysis/timeseries"


def test_the_reviewed_timeseries_of_ten_thousand_years_is_refused_at_once(
        public: TestClient) -> None:
    """The security review's request: 200 with 245 MB after 41.7 s; now 400 within 2 s."""
    start = time.monotonic()
    response = public.get(SERIES, params={
        "step": "day", "datetime": "0001-01-01T00:00:00Z/9999-12-31T00:00:00Z"})
    took = time.monotonic() - start
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert body["code"] == "invalid_query"
    assert body["max_buckets"] == 10_000
    assert "at most 10,000 buckets" in body["description"]
    assert "narrow datetime or use a coarser step" in body["description"]
    assert took < 2


def test_a_window_at_the_cap_is_answered_one_past_it_is_refused(client: TestClient) -> None:
    ok = client.get(SERIES, params={"step": "month",
                                    "datetime": "1200-01-01T00:00:00Z/2033-04-30T00:00:00Z"})
    assert ok.status_code == 200, ok.text[:200]
    assert len(ok.json()["series"]) == 10_000
    over = client.get(SERIES, params={"step": "month",
                                      "datetime": "1200-01-01T00:00:00Z/2033-05-01T00:00:00Z"})
    assert over.status_code == 400
    assert "10,001 months" in over.json()["description"]


def test_an_open_window_is_capped_by_the_query(client: TestClient) -> None:
    """An open end is bounded by the data: the query stops one period past the cap."""
    response = client.get(SERIES, params={"step": "day", "datetime": "1900-01-01T00:00:00Z/.."})
    assert response.status_code == 400, response.text[:200]
    assert "at most 10,000 buckets" in response.json()["description"]


@pytest.mark.parametrize(("start", "end", "step", "expected"), [
    ("2016-03-01T00:00:00", "2016-03-31T23:59:59", "day", 31),
    ("2016-03-01T23:00:00-05:00", "2016-03-02T00:00:00", "day", 1),  # UTC days
    ("2016-02-29T00:00:00", "2016-03-07T00:00:00", "week", 2),  # Monday to Monday
    ("2016-02-28T00:00:00", "2016-02-29T00:00:00", "week", 2),  # Sunday, Monday
    ("2016-01-31T00:00:00", "2016-03-01T00:00:00", "month", 3),
])
def test_buckets_count_periods_as_date_trunc_does(start: str, end: str, step: str,
                                                  expected: int) -> None:
    def at(raw: str) -> datetime:
        value = datetime.fromisoformat(raw)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    assert buckets(at(start), at(end), step) == expected


# --- the other analysis answers: each has a cap that is named when it is reached --------------

LON, LAT = 40.0, 33.0  # away from the sample data, on the test population raster


@pytest.fixture(scope="module")
def small(database_url: str, sample_loaded: list[object], analyst_key: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with caps of 2 (rows, exposure incidents) over a tiny world of 3 of each."""
    raster = uniform_population(tmp_path_factory.mktemp("pop") / "population.tif")
    settings = make_settings(database_url)
    settings.raster.sources = {**settings.raster.sources, "population": str(raster)}
    settings.analysis = AnalysisSettings(max_rows=2, max_exposure_incidents=2)
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as client:
        yield client


@pytest.fixture(scope="module")
def world(engine: Engine, sample_loaded: list[object]) -> Iterator[dict[str, Any]]:
    with data.cleaned(engine):
        area = data.add_area(engine, "cap-area", data.diamond(LON, LAT),
                             signed_at="2016-01-01T00:00:00Z")
        for k, population in enumerate((100, 300, 200)):
            data.add_settlement(engine, f"cap-town-{k}", LON + 0.01 * k, LAT, population)
            data.add_delivery(engine, f"cap-aid-{k}", LON + 0.01 * k, LAT + 0.01,
                              "2016-05-20T00:00:00Z")
            data.add_incident(engine, f"cap-incident-{k}", LON + 0.01 * k, LAT,
                              "2016-05-10T00:00:00Z")
        yield {"area": area}


def test_aid_gaps_lists_the_places_of_highest_priority_up_to_the_cap(
        client: TestClient, small: TestClient, world: dict[str, Any]) -> None:
    params = {"at": "2016-05-15T00:00:00Z", "days": 30}
    every = data.get_json(client, "/analysis/aid-gaps", **params)["places"]
    capped = data.get_json(small, "/analysis/aid-gaps", **params)["places"]
    assert len(every) > 2
    assert capped == every[:2]


def test_exposure_refuses_a_zone_of_more_incidents_than_the_cap(
        small: TestClient, world: dict[str, Any]) -> None:
    response = small.get("/analysis/exposure", params={
        "distance_m": 1000, "datetime": "2016-05-01/2016-05-31", "bbox": "39.9,32.9,40.1,33.1"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["max_incidents"] == 2
    assert "at most 2 incidents" in body["description"]
    assert "narrow datetime, bbox" in body["description"]
    ok = small.get("/analysis/exposure", params={
        "distance_m": 1000, "datetime": "2016-05-01/2016-05-31", "bbox": "39.99,32.9,40.015,33.1"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["incidents"] == 2


def test_areas_incidents_refuses_more_areas_than_the_cap(
        small: TestClient, world: dict[str, Any]) -> None:
    response = small.get("/analysis/areas/incidents", params={"distance_m": 5000})
    assert response.status_code == 400, response.text
    assert "at most 2 agreement areas" in response.json()["description"]
    assert "area_id or status" in response.json()["description"]
    one = small.get("/analysis/areas/incidents", params={"area_id": world["area"]})
    assert one.status_code == 200, one.text


def test_deconfliction_never_shortens_a_list_silently(
        small: TestClient, world: dict[str, Any]) -> None:
    point = {"type": "Point", "coordinates": [LON, LAT]}
    response = small.post("/analysis/deconfliction", json={
        "geometry": point, "nearby_m": 5000, "at": "2016-05-21T00:00:00Z"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["max_rows"] == 2
    assert "lower nearby_m or split the batch" in body["description"]
    near = small.post("/analysis/deconfliction", json={
        "geometry": point, "nearby_m": 1200, "at": "2016-05-21T00:00:00Z"})
    assert near.status_code == 200, near.text
    assert len(near.json()["settlements"]) == 2


def test_the_limits_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]

    def described(path: str, name: str) -> str:
        params = paths[path]["get"]["parameters"]
        return str(next(p for p in params if p["name"] == name).get("description", ""))

    assert "at most max_buckets periods (10,000" in described("/analysis/timeseries", "step")
    assert "max_rows cells" in described("/analysis/grid", "kind")
    assert "max_rows" in described("/analysis/hotspots", "eps_m")
    assert "max_rows areas" in described("/analysis/areas/incidents", "area_id")
    assert "max_exposure_incidents" in described("/analysis/exposure", "distance_m")
    assert "max_rows deliveries" in described("/analysis/aid-risk", "distance_m")
    assert "at most max_rows" in paths["/analysis/aid-gaps"]["get"]["summary"]
    assert "shortened" in paths["/analysis/deconfliction"]["post"]["description"]


def test_the_reviewed_ring_of_100_km_around_every_area_is_bounded(
        public: TestClient, database_url: str, sample_loaded: list[object]) -> None:
    """The review's anonymous `areas/incidents?distance_m=100000` (a 503 after ~16 s): a ring
    holding more (area, incident) pairs than max_area_pairs is refused at once, naming it."""
    settings = make_settings(database_url)
    settings.analysis = AnalysisSettings(max_area_pairs=100)
    with TestClient(create_app(settings)) as capped:
        start = time.monotonic()
        response = capped.get("/analysis/areas/incidents", params={"distance_m": 100_000})
        took = time.monotonic() - start
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["code"] == "invalid_query" and body["max_area_pairs"] == 100
    assert "more than 100 (area, incident) pairs" in body["description"]
    assert took < 2
    start = time.monotonic()  # the default cap: answered or refused, within 2 s either way
    response = public.get("/analysis/areas/incidents", params={"distance_m": 100_000})
    assert response.status_code in (200, 400), response.text[:300]
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("who", ["public", "analyst"])
def test_ring_counts_match_the_plain_geodesic_join(
        who: str, public: TestClient, client: TestClient, engine: Engine) -> None:
    """The ring's shortcuts (the index on the exact points, no geodesic distance for points
    surely near) count what the plain join of released points within distance_m counts."""
    caller = public if who == "public" else client
    distance = 20_000
    body = caller.get("/analysis/areas/incidents", params={
        "distance_m": distance, "dedupe": "false"}).json()
    got = {a["id"]: (a["inside"]["total"], a["near"]["total"]) for a in body["areas"]}
    point = ("ST_SnapToGrid(i.geom, 0.1)" if who == "public" else "i.geom")
    released = ("i.verification_status = 'confirmed' AND i.sensitivity = 'public'"
                if who == "public" else "TRUE")
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT a.id,
                   count(*) FILTER (WHERE ST_Intersects(a.geom, {point})),
                   count(*) FILTER (WHERE NOT ST_Intersects(a.geom, {point})
                                    AND ST_DWithin(a.geom::geography, {point}::geography, :d))
            FROM agreement_areas a JOIN incidents i ON {released}
            GROUP BY a.id"""), {"d": distance}).all()
    assert got == {r[0]: (r[1], r[2]) for r in rows}
    assert sum(n for _, n in got.values()) > 0


def test_live_counts_under_release_rules_are_capped_by_pairs(
        database_url: str, sample_loaded: list[object], analyst_key: str,
        world: dict[str, Any]) -> None:
    """A caller under release rules cannot read the maintained per-area summary: its counts
    in every area are live, so its areas are capped by pairs too (an anonymous compliance over
    every area of 1M incidents was a 503 after 15 s); an analyst reads the summary."""
    settings = make_settings(database_url)
    settings.analysis = AnalysisSettings(max_area_pairs=100)
    with TestClient(create_app(settings)) as capped:
        for path in ("/analysis/areas/compliance", "/analysis/areas/incidents"):
            response = capped.get(path)
            assert response.status_code == 400, (path, response.text[:300])
            body = response.json()
            assert body["max_area_pairs"] == 100 and "area_id" in body["description"]
            assert "distance_m" not in body["description"]
            one = capped.get(path, params={"area_id": world["area"]})  # 3 incidents
            assert one.status_code == 200, (path, one.text[:300])
        for path in ("/analysis/areas/compliance", "/analysis/areas/incidents"):
            analyst = capped.get(path, headers={"X-API-Key": analyst_key})
            assert analyst.status_code == 200, (path, analyst.text[:300])
