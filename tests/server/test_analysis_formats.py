"""Every /analysis/ answer in each format it offers: JSON, GeoJSON (application/geo+json, valid
geometries) and CSV (text/csv, a header row), chosen by `f=` or by the Accept header; a wrong
`f` is a 400 and an Accept naming nothing offered a 406, both with a JSON body. On the sample
(16 agreement areas in Homs and Latakia), around the Ar-Rastan area."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from httpx import Response
from rasterio.transform import from_origin
from shapely.geometry import Point, shape
from sqlalchemy import Engine, text

from server.main import create_app
from server.services import analysis_areas, analysis_output
from tests.conftest import make_settings

AT = "2016-06-30T00:00:00Z"


@dataclass(frozen=True)
class Rastan:
    id: int
    lon: float
    lat: float


@pytest.fixture(scope="module")
def rastan(engine: Engine, sample_loaded: list[object]) -> Rastan:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat"
            " FROM agreement_areas WHERE name LIKE 'Ar-Rastan%' ORDER BY id LIMIT 1")).one()
    return Rastan(int(row.id), float(row.lon), float(row.lat))


@pytest.fixture(scope="module")
def raster_client(database_url: str, sample_loaded: list[object], analyst_key: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The analyst's client with a population raster (10 people per 0.01 degree) over Homs."""
    path = tmp_path_factory.mktemp("pop") / "population.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=1,
                       dtype="float32", crs="EPSG:4326", transform=from_origin(35.8, 35.6, 0.01, 0.01),
                       nodata=-1) as dst:
        dst.write(np.full((1, 200, 200), 10, dtype="float32"))
        dst.update_tags(DATE="2016-01-01")
    settings = make_settings(database_url)
    settings.raster.sources = {**settings.raster.sources, "population": str(Path(path))}
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as test_client:
        yield test_client


@dataclass
class Case:
    name: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    columns: list[str] | None = None  # the CSV header; None: only that there is one
    geojson: bool = True
    some_features: bool = True  # the sample gives at least one feature
    raster: bool = False


def _cases(r: Rastan) -> list[Case]:
    point = {"type": "Point", "coordinates": [r.lon, r.lat]}
    return [
        Case("deconfliction", "/analysis/deconfliction",
             body={"geometry": point, "at": "2016-03-15T08:00:00Z", "distance_m": 2000},
             columns=analysis_output.DECONFLICTION_COLUMNS),
        Case("areas-incidents", "/analysis/areas/incidents",
             {"datetime": "2016-01-01/2016-12-31", "distance_m": 1000},
             columns=analysis_areas.SUMMARY_COLUMNS),
        Case("area-incidents", f"/analysis/areas/{r.id}/incidents", {"distance_m": 1000},
             columns=analysis_areas.SUMMARY_COLUMNS),
        Case("compliance", "/analysis/areas/compliance", {"at": AT},
             columns=analysis_areas.COMPLIANCE_COLUMNS),
        Case("aid-gaps", "/analysis/aid-gaps", {"at": AT, "days": 30}, some_features=False),
        Case("aid-gaps-areas", "/analysis/aid-gaps", {"at": AT, "days": 30, "by": "area"},
             some_features=False),
        Case("aid-risk", "/analysis/aid-risk", {"distance_m": 20000, "hours": 240},
             some_features=False),
        Case("hotspots", "/analysis/hotspots", {"eps_m": 5000, "minpoints": 3},
             columns=["cluster_id", "incidents", "fatalities", "first_at", "last_at", "lon",
                      "lat"]),
        Case("grid", "/analysis/grid", {"kind": "hexagon", "size_m": 10000},
             columns=["cell", "incidents", "fatalities"]),
        Case("grid-admin", "/analysis/grid", {"kind": "admin", "level": 1},
             columns=["cell", "name", "incidents", "fatalities"]),
        Case("timeseries", "/analysis/timeseries", {"step": "month"},
             columns=["period", "incidents", "fatalities", "confirmed"], geojson=False),
        Case("nearest", "/analysis/nearest", {"lon": r.lon, "lat": r.lat, "n": 3}),
        Case("nearest-areas", "/analysis/nearest",
             {"lon": r.lon, "lat": r.lat, "n": 3, "kind": "agreement_areas"}),
        Case("exposure", "/analysis/exposure", {"area_id": r.id},
             columns=analysis_output.EXPOSURE_COLUMNS, raster=True),
        Case("report", f"/analysis/areas/{r.id}/report", {"at": AT},
             columns=analysis_output.REPORT_COLUMNS, raster=True),
    ]


CASE_NAMES = [c.name for c in _cases(Rastan(0, 0.0, 0.0))]


@pytest.fixture
def case(request: pytest.FixtureRequest, rastan: Rastan) -> Case:
    return next(c for c in _cases(rastan) if c.name == request.param)


def _call(client: TestClient, case: Case, f: str | None = None,
          accept: str | None = None) -> Response:
    params = {**case.params, **({"f": f} if f else {})}
    headers = {"Accept": accept} if accept else {}
    if case.body is not None:
        return client.post(case.path, params=params, json=case.body, headers=headers)
    return client.get(case.path, params=params, headers=headers)


def _client(case: Case, client: TestClient, raster_client: TestClient) -> TestClient:
    return raster_client if case.raster else client


def _check_geojson(response: Response, case: Case) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    if case.some_features:
        assert body["features"], case.name
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and not geometry.is_empty, (case.name, feature.get("id"))
        minx, miny, maxx, maxy = geometry.bounds  # lon/lat in Syria's neighbourhood
        assert 30 < minx <= maxx < 45 and 28 < miny <= maxy < 40, case.name
    return body


def _check_csv(response: Response, case: Case) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    rows = list(reader)
    assert reader.fieldnames, case.name
    if case.columns is not None:
        assert reader.fieldnames == case.columns
    return rows


@pytest.mark.parametrize("case", CASE_NAMES, indirect=True)
def test_every_answer_in_every_format(case: Case, client: TestClient,
                                      raster_client: TestClient) -> None:
    api = _client(case, client, raster_client)
    default = _call(api, case)
    assert default.status_code == 200, default.text
    assert default.headers["content-type"].startswith(
        "application/geo+json" if case.path == "/analysis/grid" else "application/json")
    as_json = _call(api, case, "json")
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert isinstance(as_json.json(), dict)
    assert "Accept" in as_json.headers["vary"]
    _check_csv(_call(api, case, "csv"), case)
    if case.geojson:
        _check_geojson(_call(api, case, "geojson"), case)
    else:
        wrong = _call(api, case, "geojson")
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize("case", CASE_NAMES, indirect=True)
def test_the_accept_header_chooses_when_f_is_absent(case: Case, client: TestClient,
                                                    raster_client: TestClient) -> None:
    api = _client(case, client, raster_client)
    _check_csv(_call(api, case, accept="text/csv"), case)
    if case.geojson:
        _check_geojson(_call(api, case, accept="application/geo+json, */*;q=0.1"), case)
    # f wins over Accept
    as_json = _call(api, case, "json", accept="text/csv")
    assert as_json.headers["content-type"].startswith("application/json")
    refused = _call(api, case, accept="image/png")
    assert refused.status_code == 406
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["code"] == "not_acceptable"


@pytest.mark.parametrize("case", CASE_NAMES, indirect=True)
def test_an_unknown_f_is_a_400_with_a_json_body(case: Case, client: TestClient,
                                               raster_client: TestClient) -> None:
    response = _call(_client(case, client, raster_client), case, "shapefile")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "invalid_parameter" and "f" in body["description"]


def test_deconfliction_on_the_map_draws_the_area_around_the_point(client: TestClient,
                                                                  rastan: Rastan) -> None:
    point = {"type": "Point", "coordinates": [rastan.lon, rastan.lat]}
    body = _check_geojson(client.post("/analysis/deconfliction?f=geojson", json={
        "geometry": point, "at": "2016-03-15T08:00:00Z", "distance_m": 2000}),
        Case("deconfliction", ""))
    as_json = client.post("/analysis/deconfliction", json={
        "geometry": point, "at": "2016-03-15T08:00:00Z", "distance_m": 2000}).json()
    hits = sum(len(as_json[layer]) for layer in ("areas", "settlements", "aid_deliveries"))
    assert len(body["features"]) == hits
    area = next(f for f in body["features"] if f["properties"]["layer"] == "areas"
                and f["properties"]["id"] == rastan.id)
    assert area["id"] == f"0/areas.{rastan.id}"
    assert area["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert shape(area["geometry"]).buffer(1e-9).contains(Point(rastan.lon, rastan.lat))
    assert area["properties"]["inside"] is True and area["properties"]["distance_m"] == 0
    assert body["at"].startswith("2016-03-15T08:00:00")
    for feature in body["features"]:
        if feature["properties"]["layer"] != "areas":
            assert feature["geometry"]["type"] == "Point"


def test_a_deconfliction_batch_as_a_table_numbers_each_geometry(client: TestClient,
                                                                 rastan: Rastan) -> None:
    point = {"type": "Point", "coordinates": [rastan.lon, rastan.lat]}
    far = {"type": "Point", "coordinates": [40.0, 33.0]}
    response = client.post("/analysis/deconfliction", headers={"Accept": "text/csv"}, json={
        "geometries": [far, point], "at": "2016-03-15T08:00:00Z"})
    rows = _check_csv(response, Case("batch", "", columns=analysis_output.DECONFLICTION_COLUMNS))
    assert {r["index"] for r in rows} == {"1"}  # nothing near the desert point
    assert any(r["layer"] == "areas" and r["id"] == str(rastan.id) and r["inside"] == "True"
               for r in rows)
    geo = client.post("/analysis/deconfliction?f=geojson", json={
        "geometries": [point, point], "at": "2016-03-15T08:00:00Z"}).json()
    ids = [f["id"] for f in geo["features"]]
    assert len(ids) == len(set(ids)) and {i.split("/")[0] for i in ids} == {"0", "1"}


def test_compliance_on_the_map_draws_every_signed_area(client: TestClient) -> None:
    body = _check_geojson(client.get("/analysis/areas/compliance",
                                     params={"at": AT, "f": "geojson"}),
                          Case("compliance", ""))
    as_json = client.get("/analysis/areas/compliance", params={"at": AT}).json()
    assert 10 <= len(body["features"]) == len(as_json["areas"]) <= 16  # signed ones of the 16
    assert [f["id"] for f in body["features"]] == [a["id"] for a in as_json["areas"]]
    assert all("geometry" not in a for a in as_json["areas"])
    assert body["sort"] == "risk"
    assert {f["geometry"]["type"] for f in body["features"]} <= {"Polygon", "MultiPolygon"}


def test_exposure_and_report_rows_match_their_json(raster_client: TestClient,
                                                   rastan: Rastan) -> None:
    params = {"area_id": rastan.id}
    answer = raster_client.get("/analysis/exposure", params=params).json()
    (row,) = list(csv.DictReader(io.StringIO(
        raster_client.get("/analysis/exposure", params={**params, "f": "csv"}).text)))
    assert float(row["people"]) == pytest.approx(answer["people"])
    assert row["raster_name"] == "population" and answer["people"] > 0
    zone = raster_client.get("/analysis/exposure", params={**params, "f": "geojson"}).json()
    (feature,) = zone["features"]
    assert feature["properties"]["people"] == answer["people"]
    report = raster_client.get(f"/analysis/areas/{rastan.id}/report",
                               params={"at": AT, "f": "geojson"}).json()
    layers = [f["properties"]["layer"] for f in report["features"]]
    assert layers[0] == "area" and set(layers[1:]) <= {"aid_deliveries"}
    assert report["features"][0]["properties"]["compliance"]["id"] == rastan.id


def test_the_openapi_shows_an_example_of_every_format(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    table_only = {"/analysis/timeseries"}
    for path, item in paths.items():
        if not path.startswith("/analysis/") or path.startswith("/analysis/grid/tiles"):
            continue
        op = item.get("get") or item["post"]
        content = op["responses"]["200"]["content"]
        assert "example" in content["application/json"], path
        assert content["text/csv"]["example"].count("\n") >= 2, path  # header and a row
        if path in table_only:
            assert "application/geo+json" not in content, path
        else:
            assert content["application/geo+json"]["example"]["type"] == "FeatureCollection", path
        params = {p["name"] for p in op.get("parameters", [])}
        assert "f" in params, path
