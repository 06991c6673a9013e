"""Release rules on every output path, against the running API with real keys: items, single
items, CSV/HXL exports, vector tiles (per collection, multi-layer, the cell pyramid, the tile
cache and ETags), the change feed, analysis counts and aggregates, and the sitrep map.

Planted rows (removed after the package, see conftest): a report-created incident (reported,
restricted), a confirmed but restricted incident, a confirmed public one at exact coordinates
(the public sees it snapped to the grid and bucketed in time), and a partner's own report."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.main import create_app
from server.settings import SecuritySettings
from tests.conftest import UNLIMITED, make_settings
from tests.security.conftest import Headers
from tests.security.reports import submit

ITEMS = "/collections/incidents/items"
SECRET = "+963-555-0777 (Release Test Witness)"
EXACT = (36.71234, 34.73456)  # the confirmed public incident's exact point
HIDDEN_EXACT = (36.71871, 34.73919)  # the confirmed restricted incident's point


def _tile(z: int, lon: float, lat: float) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def _insert(engine: Engine, source_id: str, lon: float, lat: float, status: str,
            sensitivity: str) -> int:
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:release', true)"))
        return int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                   location_name, notes, verification_status, sensitivity, geom)
            VALUES ('report', :sid, '2016-03-02T06:31:17Z', 'state_based_violence', 3,
                    'Release test place', 'planted by the release tests', :status, :sens,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"sid": source_id, "status": status, "sens": sensitivity,
                               "lon": lon, "lat": lat}).scalar_one())


@pytest.fixture(scope="module")
def planted(client: TestClient, auth: Headers, engine: Engine) -> dict[str, int]:
    reported = submit(client, auth, "reporter", contact=SECRET,
                      reporting_party="Secret release witness")
    partner = submit(client, auth, "partner_a")
    return {
        "reported": int(reported["incident_id"]),
        "partner_a": int(partner["incident_id"]),
        "restricted": _insert(engine, "release-restricted", *HIDDEN_EXACT, "confirmed",
                              "restricted"),
        "released": _insert(engine, "release-public", *EXACT, "confirmed", "public"),
    }


def _hidden(planted: dict[str, int]) -> set[int]:
    return {planted["reported"], planted["restricted"], planted["partner_a"]}


def _released_count(engine: Engine, where: str = "TRUE") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM incidents WHERE verification_status = 'confirmed' AND "
            f"sensitivity = 'public' AND {where}")).scalar_one())


def _all_count(engine: Engine, where: str = "TRUE") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM incidents WHERE {where}"))
                   .scalar_one())


BBOX = "36.6,34.6,36.8,34.8"


# --- items, single items, exports -----------------------------------------------------------------

def test_public_items_never_show_unreleased_rows_and_snap_the_rest(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    public = client.get(ITEMS, params={"bbox": BBOX, "limit": 10000})
    assert public.status_code == 200
    assert "Authorization" in public.headers["vary"] and "X-API-Key" in public.headers["vary"]
    features = {f["id"]: f for f in public.json()["features"]}
    assert not _hidden(planted) & set(features)
    assert all(f["properties"]["verification_status"] == "confirmed" for f in features.values())
    mine = features[planted["released"]]
    assert mine["geometry"]["coordinates"] == [36.7, 34.7]
    assert mine["properties"]["location_obfuscated"].startswith("snapped to a 0.1 degree")
    assert mine["properties"]["occurred_at"].startswith("2016-03-02T00:00:00")
    assert mine["properties"]["time_bucket"] == "day"
    assert SECRET not in public.text and "Secret release witness" not in public.text
    everything = client.get(ITEMS, params={"bbox": BBOX, "limit": 10000},
                            headers=auth("analyst")).json()["features"]
    by_id = {f["id"]: f for f in everything}
    assert _hidden(planted) <= set(by_id)
    assert by_id[planted["released"]]["geometry"]["coordinates"] == list(EXACT)
    assert "location_obfuscated" not in by_id[planted["released"]]["properties"]
    assert SECRET not in str(everything)  # identity lives only in reports


def test_public_count_and_filters_never_reach_unreleased_rows(
        client: TestClient, engine: Engine, planted: dict[str, int]) -> None:
    body = client.get(ITEMS, params={"limit": 1}).json()
    assert body.get("numberMatched") in (None, _released_count(engine))
    for params in ({"id": planted["restricted"]}, {"id": planted["reported"]},
                   {"verification_status": "reported"},
                   {"filter": f"id = {planted['restricted']}"},
                   {"filter": "verification_status <> 'confirmed'"},
                   {"filter": f"S_INTERSECTS(geom, POINT({HIDDEN_EXACT[0]} {HIDDEN_EXACT[1]}))"},
                   # the exact point of a released row is not an oracle either: its released
                   # geometry is the snapped one
                   {"bbox": f"{EXACT[0] - 1e-4},{EXACT[1] - 1e-4},{EXACT[0] + 1e-4},"
                            f"{EXACT[1] + 1e-4}"}):
        response = client.get(ITEMS, params={**params, "limit": 100})
        assert response.status_code == 200, (params, response.text)
        assert response.json()["features"] == [], params
    snapped = client.get(ITEMS, params={"bbox": "36.69,34.69,36.71,34.71", "limit": 1000})
    assert planted["released"] in {f["id"] for f in snapped.json()["features"]}


def test_single_item_hidden_rows_are_404_like_missing_ones(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    missing = client.get(f"{ITEMS}/999999999")
    assert missing.status_code == 404
    for name in ("reported", "restricted", "partner_a"):
        hidden = client.get(f"{ITEMS}/{planted[name]}")
        assert hidden.status_code == 404, name
        assert hidden.json()["code"] == missing.json()["code"]
        assert set(hidden.json()) == set(missing.json())
        assert client.get(f"{ITEMS}/{planted[name]}", headers=auth("analyst")).status_code == 200
    shown = client.get(f"{ITEMS}/{planted['released']}")
    assert shown.status_code == 200 and shown.json()["geometry"]["coordinates"] == [36.7, 34.7]
    assert "Authorization" in shown.headers["vary"]


def test_partner_reads_its_own_report_but_not_another_organisations(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    own = planted["partner_a"]
    assert client.get(f"{ITEMS}/{own}", headers=auth("partner_a")).status_code == 200
    assert client.get(f"{ITEMS}/{own}", headers=auth("partner_b")).status_code == 404
    for who, visible in (("partner_a", True), ("partner_b", False)):
        ids = {f["id"] for f in client.get(ITEMS, params={"bbox": BBOX, "limit": 10000},
                                           headers=auth(who)).json()["features"]}
        assert (own in ids) is visible, who
        assert planted["restricted"] not in ids and planted["reported"] not in ids
        csv_ids = _csv_ids(client.get(ITEMS, params={"bbox": BBOX, "f": "csv"},
                                      headers=auth(who)).text)
        assert (own in csv_ids) is visible, who
    tile = _decode(client.get(_tile_url(*_tile(14, 36.71, 34.73)), headers=auth("partner_b")))
    assert own not in {f["properties"].get("id", f.get("id")) for f in tile}


def _csv_ids(body: str) -> set[int]:
    rows = list(csv.DictReader(io.StringIO(body)))
    return {int(r["id"]) for r in rows if r["id"].isdigit()}


@pytest.mark.parametrize("fmt", ["csv", "hxl"])
def test_public_csv_and_hxl_exports_release_only_snapped_rows(
        client: TestClient, auth: Headers, planted: dict[str, int], fmt: str) -> None:
    body = client.get(ITEMS, params={"bbox": BBOX, "f": fmt}).text
    assert SECRET not in body
    ids = _csv_ids(body)
    assert planted["released"] in ids and not _hidden(planted) & ids
    rows = [r for r in csv.DictReader(io.StringIO(body)) if r["id"] == str(planted["released"])]
    assert float(rows[0]["lon"]) == pytest.approx(36.7) and float(rows[0]["lat"]) == \
        pytest.approx(34.7)
    assert rows[0]["location_obfuscated"].startswith("snapped")
    assert str(EXACT[0]) not in body
    full = _csv_ids(client.get(ITEMS, params={"bbox": BBOX, "f": fmt},
                               headers=auth("analyst")).text)
    assert _hidden(planted) <= full


# --- tiles ------------------------------------------------------------------------------------------

def _tile_url(z: int, y: int, x: int) -> str:
    return f"/collections/incidents/tiles/WebMercatorQuad/{z}/{y}/{x}"


def _decode(response: Any, layer: str = "incidents") -> list[dict[str, Any]]:
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return list(mapbox_vector_tile.decode(response.content).get(layer, {}).get("features", []))


def _ids(features: list[dict[str, Any]]) -> set[int]:
    return {int(f.get("id") or f["properties"].get("id")) for f in features}


@pytest.mark.parametrize("z", [14, 16])
def test_public_tiles_hold_no_unreleased_row_and_snapped_points(
        client: TestClient, auth: Headers, planted: dict[str, int], z: int) -> None:
    zyx = _tile(z, 36.7, 34.7)
    client.get(_tile_url(*zyx), headers=auth("analyst"))  # fills the tile cache first
    public = client.get(_tile_url(*zyx))  # after the analyst: the cache must not answer
    feats = _decode(public)
    assert "Authorization" in public.headers["vary"]
    assert not _hidden(planted) & _ids(feats)
    mine = [f for f in feats if int(f.get("id") or f["properties"]["id"]) == planted["released"]]
    assert mine and mine[0]["properties"]["location_obfuscated"].startswith("snapped")
    assert mine[0]["properties"]["occurred_at"].startswith("2016-03-02T00:00:00")
    analyst = _decode(client.get(_tile_url(*_tile(z, *HIDDEN_EXACT)), headers=auth("analyst")))
    assert planted["restricted"] in _ids(analyst)
    hidden_tile = _decode(client.get(_tile_url(*_tile(z, *HIDDEN_EXACT))))
    assert not _hidden(planted) & _ids(hidden_tile)


def test_public_multi_layer_tile_hides_unreleased_rows(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    url = "/tiles/WebMercatorQuad/{}/{}/{}".format(*_tile(14, *HIDDEN_EXACT))
    analyst = _decode(client.get(url, headers=auth("analyst")))
    public = client.get(url)
    assert planted["restricted"] in _ids(analyst)
    assert not _hidden(planted) & _ids(_decode(public))
    assert "agreement_areas" in mapbox_vector_tile.decode(public.content)


@pytest.mark.parametrize("z", [6, 14])
def test_public_multi_layer_tile_per_layer_filters_reach_only_released_rows(
        client: TestClient, auth: Headers, planted: dict[str, int], z: int) -> None:
    url = "/tiles/WebMercatorQuad/{}/{}/{}".format(*_tile(z, *HIDDEN_EXACT))
    asks = [{"incidents.filter": f"id IN ({planted['restricted']}, {planted['reported']}, "
                                 f"{planted['partner_a']}, {planted['released']})"},
            {"incidents.verification_status": "reported"},
            {"incidents.filter": "verification_status <> 'confirmed'"},
            {"incidents.event_type": "state_based_violence", "datetime": "2016-03-02"}]
    for ask in asks:
        params = {"collections": "incidents,agreement_areas", **ask}
        client.get(url, params=params, headers=auth("analyst"))  # fills the tile cache first
        public = client.get(url, params=params)
        assert public.status_code in (200, 204, 400), public.text
        if public.status_code == 400:
            continue
        assert "Authorization" in public.headers["vary"]
        feats = _decode(public)
        assert not _hidden(planted) & _ids(feats), ask
        assert str(HIDDEN_EXACT[0]) not in public.text
        for f in feats:
            if int(f.get("id") or f["properties"]["id"]) == planted["released"]:
                assert f["properties"]["location_obfuscated"].startswith("snapped")
                assert f["properties"]["occurred_at"].startswith("2016-03-02T00:00:00")
    analyst = _decode(client.get(url, params={"collections": "incidents",
                                              "incidents.filter": f"id = {planted['restricted']}"},
                                 headers=auth("analyst")))
    if z == 14:
        assert planted["restricted"] in _ids(analyst)


def test_public_multi_layer_tile_snaps_released_points(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    url = "/tiles/WebMercatorQuad/{}/{}/{}".format(*_tile(16, *EXACT))
    params = {"collections": "incidents", "incidents.filter": f"id = {planted['released']}"}
    exact = _decode(client.get(url, params=params, headers=auth("analyst")))
    assert _ids(exact) == {planted["released"]}
    public = client.get(url, params=params)  # the snapped point lies in another z16 tile
    assert not _decode(public) or "location_obfuscated" in _decode(public)[0]["properties"]
    snapped = "/tiles/WebMercatorQuad/{}/{}/{}".format(*_tile(16, 36.7, 34.7))
    mine = _decode(client.get(snapped, params=params))
    assert _ids(mine) == {planted["released"]}
    assert mine[0]["properties"]["location_obfuscated"].startswith("snapped")


def test_pyramid_tiles_count_only_released_incidents(
        client: TestClient, auth: Headers, engine: Engine, planted: dict[str, int]) -> None:
    z, y, x = _tile(6, 36.7, 34.7)
    box = f"ST_Transform(ST_TileEnvelope({z}, {x}, {y}), 4326)"
    public = _decode(client.get(_tile_url(z, y, x)))
    analyst = _decode(client.get(_tile_url(z, y, x), headers=auth("analyst")))

    def total(feats: list[dict[str, Any]]) -> int:
        return sum(int(f["properties"].get("point_count", 1)) for f in feats)

    assert total(public) == _released_count(engine, f"geom && {box}")
    assert total(analyst) == _all_count(engine, f"geom && {box}")
    assert total(public) < total(analyst)


def test_etags_and_validators_are_per_principal(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    for url in (_tile_url(*_tile(14, *HIDDEN_EXACT)), f"{ITEMS}?bbox={BBOX}"):
        analyst = client.get(url, headers=auth("analyst"))
        public = client.get(url)
        assert analyst.headers["etag"] != public.headers["etag"]
        assert analyst.headers["cache-control"].startswith("private")
        replay = client.get(url, headers={"If-None-Match": analyst.headers["etag"]})
        assert replay.status_code != 304
        assert client.get(url, headers={"If-None-Match": public.headers["etag"]}
                          ).status_code == 304


# --- change feed, analysis, sitrep ----------------------------------------------------------------

def test_public_change_feed_holds_no_unreleased_row(
        client: TestClient, planted: dict[str, int]) -> None:
    seen: set[int] = set()
    since = 0
    while True:
        page = client.get("/collections/incidents/changes",
                          params={"since": since, "limit": 10000}).json()
        seen |= {int(c["id"]) for c in page["changes"]}
        assert SECRET not in str(page["changes"])
        if not page["more"]:
            break
        since = int(page["next"])
    assert not _hidden(planted) & seen and planted["released"] in seen


def test_analysis_counts_only_released_incidents(
        client: TestClient, auth: Headers, engine: Engine, planted: dict[str, int]) -> None:
    def series_total(headers: dict[str, str]) -> int:
        rows = client.get("/analysis/timeseries", params={"step": "month"},
                          headers=headers).json()["series"]
        return sum(r["incidents"] or 0 for r in rows)

    assert series_total({}) == _released_count(engine)
    assert series_total(auth("analyst")) == _all_count(engine)
    # a CQL2 filter on the series sees the released rows and values only
    for cql, public_where in (
            (f"id = {planted['restricted']}", "FALSE"),
            (f"id IN ({planted['reported']}, {planted['partner_a']})", "FALSE"),
            ("verification_status <> 'confirmed'", "FALSE"),
            (f"id = {planted['released']}", f"id = {planted['released']}"),
            ("S_INTERSECTS(geom, BBOX(36.71, 34.73, 36.72, 34.74))", "FALSE"),  # exact spot
            ("S_INTERSECTS(geom, BBOX(36.69, 34.69, 36.71, 34.71))",  # the snapped one
             "ST_SnapToGrid(geom, 0.1) && ST_MakeEnvelope(36.69, 34.69, 36.71, 34.71, 4326)")):
        rows = client.get("/analysis/timeseries", params={"step": "month", "filter": cql}).json()
        assert sum(r["incidents"] or 0 for r in rows["series"]) == _released_count(
            engine, public_where), cql
    analyst = client.get("/analysis/timeseries", params={
        "step": "month", "filter": f"id = {planted['restricted']}"}, headers=auth("analyst"))
    assert sum(r["incidents"] or 0 for r in analyst.json()["series"]) == 1
    for kind in ("square", "hexagon"):
        cells = client.get("/analysis/grid", params={"kind": kind, "size_m": 20000,
                                                     "f": "json"}).json()["cells"]
        assert sum(c["incidents"] for c in cells) == _released_count(engine)
        everything = client.get("/analysis/grid", params={"kind": kind, "size_m": 20000,
                                                          "f": "json"},
                                headers=auth("analyst")).json()["cells"]
        assert sum(c["incidents"] for c in everything) == _all_count(engine)
    # a public bbox applies to the released (snapped) points
    snapped = "ST_SnapToGrid(geom, 0.1) && ST_MakeEnvelope(36.6, 34.6, 36.8, 34.8, 4326)"
    cells = client.get("/analysis/grid", params={"kind": "square", "size_m": 20000,
                                                 "bbox": BBOX, "f": "json"}).json()["cells"]
    assert sum(c["incidents"] for c in cells) == _released_count(engine, snapped)
    clusters = client.get("/analysis/hotspots", params={"eps_m": 100000, "minpoints": 1,
                                                        "f": "geojson"}).json()
    assert sum(f["properties"]["incidents"] for f in clusters["features"]) == \
        _released_count(engine)
    assert str(HIDDEN_EXACT[0]) not in str(clusters) and str(EXACT[0]) not in str(clusters)
    areas = client.get("/analysis/areas/incidents", params={"distance_m": 5000}).json()["areas"]
    statuses = {s for a in areas for z in ("inside", "near")
                for s in a[z]["by_verification_status"]}
    assert statuses <= {"confirmed"}
    risk = client.get("/analysis/aid-risk", params={"distance_m": 50000, "hours": 24 * 365}
                      ).json()["deliveries"]
    assert not _hidden(planted) & {i for d in risk for i in d["incident_ids"]}
    compliance = client.get("/analysis/areas/compliance",
                            params={"at": "2016-12-31T00:00:00Z"}).json()["areas"]
    full = client.get("/analysis/areas/compliance", params={"at": "2016-12-31T00:00:00Z"},
                      headers=auth("analyst")).json()["areas"]
    assert sum(a["violations_after"] for a in compliance) <= \
        sum(a["violations_after"] for a in full)


def test_grid_tile_and_exposure_ignore_unreleased_incidents(
        client: TestClient, auth: Headers, planted: dict[str, int]) -> None:
    ids = ",".join(str(planted[n]) for n in ("restricted", "reported"))
    public = client.get("/analysis/exposure", params={"incident_id": ids, "distance_m": 1000})
    assert public.status_code in (200, 404)
    if public.status_code == 200:  # a population raster is configured
        assert public.json()["incidents"] == 0
        analyst = client.get("/analysis/exposure", params={"incident_id": ids,
                                                           "distance_m": 1000},
                             headers=auth("analyst")).json()
        assert analyst["incidents"] == 2
    z, y, x = _tile(12, *HIDDEN_EXACT)
    url = f"/analysis/grid/tiles/{z}/{y}/{x}"
    public_cells = _decode(client.get(url, params={"size_m": 100}), "grid")
    analyst_cells = _decode(client.get(url, params={"size_m": 100}, headers=auth("analyst")),
                            "grid")
    assert sum(f["properties"]["incidents"] for f in public_cells) < \
        sum(f["properties"]["incidents"] for f in analyst_cells)


def test_small_counts_are_suppressed_when_configured(
        database_url: str, auth: Headers, engine: Engine, planted: dict[str, int]) -> None:
    settings = make_settings(database_url)
    settings = settings.model_copy(update={"security": SecuritySettings(**UNLIMITED,
                                                                         min_released_count=5)})
    with TestClient(create_app(settings)) as limited:
        cells = limited.get("/analysis/grid", params={"kind": "square", "size_m": 1000,
                                                      "f": "json"}).json()["cells"]
        assert cells and all(c["incidents"] >= 5 for c in cells)
        series = limited.get("/analysis/timeseries", params={"step": "day"}).json()["series"]
        assert all(r["incidents"] is None or r["incidents"] == 0 or r["incidents"] >= 5
                   for r in series)
        full = limited.get("/analysis/grid", params={"kind": "square", "size_m": 1000,
                                                     "f": "json"},
                           headers=auth("analyst")).json()["cells"]
        assert any(c["incidents"] < 5 for c in full)


def _sitrep_area(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT id FROM agreement_areas WHERE ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, 40000) ORDER BY id LIMIT 1"),
            {"x": EXACT[0], "y": EXACT[1]}).scalar_one())


def test_sitrep_map_shows_only_released_incidents_snapped(
        client: TestClient, auth: Headers, engine: Engine, planted: dict[str, int]) -> None:
    area = _sitrep_area(engine)
    params = {"start": "2016-03-01", "end": "2016-03-03", "buffer": 50000}
    public = client.get(f"/reports/areas/{area}/map.html", params=params)
    analyst = client.get(f"/reports/areas/{area}/map.html", params=params,
                         headers=auth("analyst"))
    assert public.status_code == analyst.status_code == 200
    assert str(EXACT[0]) in analyst.text and str(EXACT[0]) not in public.text
    assert "snapped to a 0.1 degree grid" in public.text
    for text_ in (public.text, analyst.text):
        assert SECRET not in text_ and str(HIDDEN_EXACT[0]) not in text_
    assert "Authorization" in public.headers["vary"]


# --- keys, injection --------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["revoked", "expired"])
def test_revoked_and_expired_keys_get_401_on_items_and_tiles(
        client: TestClient, auth: Headers, planted: dict[str, int], who: str) -> None:
    z, y, x = _tile(14, *EXACT)
    for url in (ITEMS, f"{ITEMS}/{planted['released']}", _tile_url(z, y, x),
                f"/tiles/WebMercatorQuad/{z}/{y}/{x}", "/analysis/timeseries",
                f"/reports/areas/{_sitrep_area_id(client)}/map.html"):
        assert client.get(url, headers=auth(who)).status_code == 401, url
        assert client.get(url, headers={"X-API-Key": auth(who)["Authorization"][7:]}
                          ).status_code == 401, url


def _sitrep_area_id(client: TestClient) -> int:
    return int(client.get("/collections/agreement_areas/items?limit=1").json()
               ["features"][0]["id"])


INJECTIONS = [
    ("fatalities", "1 OR 1=1"),
    ("fatalities", "1; DROP TABLE incidents"),
    ("sortby", "occurred_at; DROP TABLE incidents"),
    ("sortby", "(SELECT 1)"),
    ("properties", "id,(SELECT password FROM api_keys)"),
    ("properties", "event_type; DELETE FROM incidents"),
    ("filter", "event_type = 'x' OR 1=1; DROP TABLE incidents"),
    ("filter", "pg_sleep(1) = 1"),
    ("filter", "sensitivity = 'restricted'"),
    ("bbox", "36,34,37,35); DROP TABLE incidents; --"),
    ("bbox", "1,2,3"),
    ("datetime", "2016-01-01'; DROP TABLE incidents; --"),
    ("crs", "EPSG:4326'; DROP TABLE incidents; --"),
    ("bbox-crs", "EPSG:3857) OR (1=1"),
    ("sortby", "-notes' --"),
    ("occurred_at", "2016-01-01' OR '1'='1"),
    ("id' OR '1'='1", "1"),
]


@pytest.mark.parametrize(("name", "value"), INJECTIONS)
def test_injection_in_every_filter_parameter_is_400_and_changes_nothing(
        client: TestClient, auth: Headers, engine: Engine, name: str, value: str) -> None:
    before = _all_count(engine)
    for headers in ({}, auth("analyst")):
        response = client.get(ITEMS, params={name: value}, headers=headers)
        assert response.status_code == 400, (name, value, response.text)
        assert response.json()["code"] in ("invalid_query", "invalid_parameter")
    assert _all_count(engine) == before


@pytest.mark.parametrize(("url", "params"), [
    ("/collections/incidents/tiles/WebMercatorQuad/6/25/38", {"filter": "1=1; DROP TABLE x"}),
    ("/collections/incidents/tiles/WebMercatorQuad/6/25/38", {"datetime": "x' OR '1'='1"}),
    ("/collections/incidents/tiles/WebMercatorQuad/6/25/38", {"fatalities": "1 OR 1=1"}),
    ("/tiles/WebMercatorQuad/6/25/38", {"collections": "incidents;DROP TABLE incidents"}),
    ("/analysis/timeseries", {"bbox": "1,2,3,4) OR (1=1"}),
    ("/analysis/grid", {"verification_status": "confirmed' OR '1'='1"}),
    ("/analysis/hotspots", {"datetime": "2016'; DROP TABLE incidents; --"}),
])
def test_injection_in_tile_and_analysis_parameters_is_400(
        client: TestClient, engine: Engine, url: str, params: dict[str, str]) -> None:
    before = _all_count(engine)
    response = client.get(url, params=params)
    assert response.status_code == 400, (url, params, response.text)
    assert _all_count(engine) == before


def test_a_quoted_text_value_is_a_bound_value_not_sql(
        client: TestClient, engine: Engine) -> None:
    before = _all_count(engine)
    response = client.get(ITEMS, params={"event_type": "x' OR '1'='1", "limit": 5})
    assert response.status_code == 200 and response.json()["features"] == []
    assert _all_count(engine) == before
