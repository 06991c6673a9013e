"""Each event once: every counting analysis counts a cross-source duplicate pair (linked by the
real ETL) once by default and twice with dedupe=false; an unlinked near-pair counts twice; the
report standing for an event is the better verified one; a public caller learns nothing of an
unreleased duplicate.

Hand-built in the desert south-east of Palmyra (no sample data there), in June 2019: an area
signed on 2019-06-01, two sources loaded through `truce etl`'s CSV job (5 km / 24 h matching):

    pair 1  A1 / B1   inside, 1 km apart, same day        linked; both confirmed: B1 superseded
    pair 2  A2 / B2   inside, same place, 48 h apart      NOT linked: both count
    pair 3  A3 / B3   2 and 2.5 km outside the area       linked; both confirmed: B3 superseded
    pair 4  A4 / B4   inside, 300 m apart                 linked; A4 rejected: A4 superseded
    pair 5  A5 / B5   inside, 300 m apart                 linked; A5 reported (unreleased):
                                                          A5 superseded for analysts, unseen
                                                          by the public
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from tests.server import analysis_data as data

LON, LAT = 39.53, 33.93  # empty desert inside Syria (the loader's area of interest)
SOURCES = ("test_dedupe_a", "test_dedupe_b")
PCODE = "TESTDEDUPE4"
WINDOW = "2019-05-01T00:00:00Z/2019-07-31T23:59:59Z"
BBOX = "39.3,33.7,39.9,34.2"
AT = "2019-08-01T00:00:00Z"
HEADER = "source_id,occurred_at,event_type,lat,lon,fatalities\n"


def _row(key: str, day: str, kind: str, point: tuple[float, float]) -> str:
    return f"{key},2019-06-{day},{kind},{point[1]:.7f},{point[0]:.7f},1\n"


@pytest.fixture(scope="module")
def world(engine: Engine, sample_loaded: list[object], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dedupe")
    _clean(engine)
    w: dict[str, Any] = {"area": data.add_area(engine, "dd-area", data.diamond(LON, LAT),
                                               signed_at="2019-06-01T00:00:00Z")}
    centre = (LON, LAT)
    east = (LON - 0.02, LAT)
    a2 = (LON + 0.02, LAT)
    a3 = data.project(engine, LON + 0.1, LAT, 2000, 90)
    a5 = (LON, LAT + 0.02)
    first = HEADER + "".join([
        _row("A1", "10", "battles", centre), _row("A2", "12", "shelling", a2),
        _row("A3", "20", "battles", a3), _row("A4", "25", "battles", east),
        _row("A5", "28", "battles", a5)])
    second = HEADER + "".join([
        _row("B1", "10", "state_based_violence", data.project(engine, *centre, 1000, 0)),
        _row("B2", "14", "shelling", a2),
        _row("B3", "20", "battles", data.project(engine, LON + 0.1, LAT, 2500, 90)),
        _row("B4", "25", "battles", data.project(engine, *east, 300, 0)),
        _row("B5", "28", "battles", data.project(engine, *a5, 300, 0))])
    for source, body in zip(SOURCES, (first, second), strict=True):
        path = tmp / f"{source}.csv"
        path.write_text(body)
        summary = run(find_job("incidents", "csv", path), path, engine, source=source)
        assert summary.status == "completed" and summary.loaded == 5, summary
    with engine.begin() as conn:
        ids = dict(conn.execute(text(
            "SELECT source_id, id FROM incidents WHERE source = ANY(:s)"), {"s": list(SOURCES)}
        ).all())
        conn.execute(text("""
            UPDATE incidents SET sensitivity = 'public',
              verification_status = CASE source_id WHEN 'A4' THEN 'rejected'
                                    WHEN 'A5' THEN 'reported' ELSE 'confirmed' END
            WHERE source = ANY(:s)"""), {"s": list(SOURCES)})
        links = conn.execute(text("""
            SELECT o.source_id || '-' || n.source_id FROM incident_duplicates d
            JOIN incidents n ON n.id = d.incident_id JOIN incidents o ON o.id = d.duplicate_of
            WHERE n.source = ANY(:s) ORDER BY 1"""), {"s": list(SOURCES)}).scalars().all()
        conn.execute(text("""
            INSERT INTO admin_areas (source, pcode, admin_level, name_en, geom)
            VALUES (:source, :p, 4, 'dedupe test',
                    ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.3)))"""),
            {"source": data.SOURCE, "p": PCODE, "x": LON, "y": LAT})
    assert links == ["A1-B1", "A3-B3", "A4-B4", "A5-B5"]  # A2 / B2: 48 h apart
    w["ids"] = ids
    w["delivery"] = data.add_delivery(engine, "dd-convoy", LON + 0.005, LAT,
                                      "2019-06-10T06:00:00Z")
    yield w
    _clean(engine)


def _clean(engine: Engine) -> None:
    data.clean(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = ANY(:s)"), {"s": list(SOURCES)})
        conn.execute(text("DELETE FROM admin_areas WHERE pcode = :p"), {"p": PCODE})




def _both(client: TestClient, url: str, **params: Any) -> tuple[Any, Any]:
    """The answer by default and with dedupe=false."""
    return data.get_json(client, url, **params), data.get_json(client, url, dedupe="false", **params)


def _zones(body: dict[str, Any]) -> tuple[int, int | None, int]:
    (area,) = body["areas"]
    near = area["near"]["total"] if "near" in area else None
    return area["inside"]["total"], near, area["inside"]["duplicates_merged"]


# --- per-area counts: every path (summary of whole days, live window, ring, one area, CSV) --------

@pytest.mark.parametrize("window", [None, WINDOW, "2019-05-01T12:00:00Z/2019-07-31T12:00:00Z"],
                         ids=["no window", "whole days (summary)", "part days (live)"])
def test_area_incidents_count_a_linked_pair_once(client: TestClient, world: dict[str, Any],
                                                 window: str | None) -> None:
    params: dict[str, Any] = {"distance_m": 5000, **({"datetime": window} if window else {})}
    one, every = _both(client, f"/analysis/areas/{world['area']}/incidents", **params)
    # inside: A1 B1 A2 B2 A4 B4 A5 B5; B1, A4 (rejected) and A5 (reported) are superseded
    assert _zones(every) == (8, 2, 0) and every["dedupe"] is False
    assert _zones(one) == (5, 1, 3) and one["dedupe"] is True
    inside = one["areas"][0]["inside"]
    assert inside["by_verification_status"] == {"confirmed": 5}  # the standing reports
    assert every["areas"][0]["inside"]["by_verification_status"] == {
        "confirmed": 6, "rejected": 1, "reported": 1}
    assert one["areas"][0]["near"]["duplicates_merged"] == 1  # B3
    assert inside["fatalities"] == 5 and inside["after_signing"] == 5
    assert inside["by_event_type"] == {"battles": 3, "shelling": 2}  # B4, B5 stand; A1 (not B1)
    listed = data.get_json(client, "/analysis/areas/incidents", area_id=str(world["area"]), **params)
    assert _zones(listed) == (5, 1, 3)
    listed_every = data.get_json(client, "/analysis/areas/incidents", area_id=str(world["area"]),
                        dedupe="false", **params)
    assert _zones(listed_every) == (8, 2, 0)


def test_a_verification_filter_counts_the_standing_report(client: TestClient,
                                                          world: dict[str, Any]) -> None:
    url = f"/analysis/areas/{world['area']}/incidents"
    one, every = _both(client, url, verification_status="confirmed")
    assert _zones(one)[0] == 5  # every event has a confirmed report standing for it
    assert every["areas"][0]["inside"]["total"] == 6
    rejected = data.get_json(client, url, verification_status="rejected")
    assert rejected["areas"][0]["inside"]["total"] == 0  # A4 is superseded by confirmed B4


def test_area_incidents_csv_says_whether_merged(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get("/analysis/areas/incidents", params={
        "area_id": str(world["area"]), "f": "csv", "distance_m": 5000})
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["inside_total"], row["near_total"], row["dedupe"]) == ("5", "1", "True")
    assert (row["inside_duplicates_merged"], row["near_duplicates_merged"]) == ("3", "1")


def test_compliance_counts_each_violation_once(client: TestClient, world: dict[str, Any]) -> None:
    one, every = _both(client, "/analysis/areas/compliance", area_id=str(world["area"]), at=AT)
    # violations (reported, under review, confirmed): A1 B1 A2 B2 B4 A5 B5; B1 and A5 merged
    assert every["areas"][0]["violations_after"] == 7 and every["dedupe"] is False
    assert every["areas"][0]["duplicates_merged"] == 0
    assert one["areas"][0]["violations_after"] == 5 and one["dedupe"] is True
    assert one["areas"][0]["duplicates_merged"] == 2
    assert one["areas"][0]["confirmed_after"] == 5
    assert one["areas"][0]["last_confirmed_day"] == "2019-06-28"


def test_the_area_report_counts_each_event_once(client: TestClient, world: dict[str, Any]) -> None:
    one, every = _both(client, f"/analysis/areas/{world['area']}/report", at=AT, distance_m=5000)
    assert (one["incidents"]["inside"]["total"], one["incidents"]["near"]["total"]) == (5, 1)
    assert (every["incidents"]["inside"]["total"], every["incidents"]["near"]["total"]) == (8, 2)
    assert one["incidents"]["dedupe"] is True and every["incidents"]["dedupe"] is False
    assert one["compliance"]["violations_after"] == 5
    assert every["compliance"]["violations_after"] == 7


# --- patterns: timeseries, grid (hexagon, square, admin, MVT), hotspots, aid risk --------------

def test_timeseries_counts_each_event_once(client: TestClient, world: dict[str, Any]) -> None:
    one, every = _both(client, "/analysis/timeseries", step="month", datetime=WINDOW, bbox=BBOX)
    assert [(s["period"], s["incidents"]) for s in every["series"]] == [
        ("2019-05-01", 0), ("2019-06-01", 10), ("2019-07-01", 0)]
    assert [s["incidents"] for s in one["series"]] == [0, 6, 0]  # B1 B3 A4 A5 merged
    assert (one["dedupe"], one["duplicates_merged"]) == (True, 4)
    assert (every["dedupe"], every["duplicates_merged"]) == (False, 0)
    in_area = data.get_json(client, "/analysis/timeseries", step="month", datetime=WINDOW,
                   area_id=world["area"])
    assert [s["incidents"] for s in in_area["series"]] == [0, 5, 0]
    cql = data.get_json(client, "/analysis/timeseries", step="month", datetime=WINDOW, bbox=BBOX,
               filter="event_type = 'battles'")
    assert [s["incidents"] for s in cql["series"]] == [0, 4, 0]  # A1 A3 B4 B5
    assert cql["duplicates_merged"] == 3  # A3's B3, A4, A5


@pytest.mark.parametrize(("kind", "extra"), [("square", {"size_m": 50000}),
                                             ("hexagon", {"size_m": 50000}),
                                             ("admin", {"level": 4})])
def test_grid_counts_each_event_once(client: TestClient, world: dict[str, Any], kind: str,
                                     extra: dict[str, Any]) -> None:
    params = {"kind": kind, "datetime": WINDOW, "bbox": BBOX, "f": "json", **extra}
    one, every = _both(client, "/analysis/grid", **params)

    def total(body: dict[str, Any]) -> int:
        cells = body["cells"]
        if kind == "admin":
            cells = [c for c in cells if c["cell"] == PCODE]
        return sum(int(c["incidents"]) for c in cells)

    assert (total(one), total(every)) == (6, 10)
    assert (one["dedupe"], one["duplicates_merged"], every["dedupe"]) == (True, 4, False)


def _tile(z: int, lon: float, lat: float) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def _tile_total(client: TestClient, **params: Any) -> int:
    z, y, x = _tile(7, LON, LAT)
    response = client.get(f"/analysis/grid/tiles/{z}/{y}/{x}",
                          params={"size_m": 100000, "datetime": WINDOW, **params})
    if response.status_code == 204:
        return 0
    assert response.status_code == 200, response.text
    layer = mapbox_vector_tile.decode(response.content)["grid"]
    return sum(int(f["properties"]["incidents"]) for f in layer["features"])


def test_grid_tiles_count_each_event_once(client: TestClient, world: dict[str, Any]) -> None:
    assert _tile_total(client) == 6
    assert _tile_total(client, dedupe="false") == 10


def test_hotspots_count_each_event_once(client: TestClient, world: dict[str, Any]) -> None:
    params = {"datetime": WINDOW, "bbox": BBOX, "eps_m": 3000, "minpoints": 2}
    one, every = _both(client, "/analysis/hotspots", **params)
    # the eight reports in the area and A3 + B3 outside; deduplicated, A3 is alone
    assert sorted(c["incidents"] for c in every["clusters"]) == [2, 8]
    assert sorted(c["incidents"] for c in one["clusters"]) == [5]
    assert (one["dedupe"], one["duplicates_merged"]) == (True, 4)


def test_aid_risk_counts_each_event_once(client: TestClient, world: dict[str, Any]) -> None:
    params = {"distance_m": 5000, "hours": 24, "datetime": "2019-06-10/2019-06-11"}
    one, every = _both(client, "/analysis/aid-risk", **params)
    mine = [d for d in every["deliveries"] if d["id"] == world["delivery"]]
    assert mine and mine[0]["incidents"] == 2  # A1 and B1
    (only,) = [d for d in one["deliveries"] if d["id"] == world["delivery"]]
    assert only["incidents"] == 1 and only["incident_ids"] == [world["ids"]["A1"]]
    assert one["dedupe"] is True and every["dedupe"] is False


# --- the standing report, and what a public caller may learn -----------------------------------

def test_duplicates_endpoint_counts_events_by_the_same_rule(client: TestClient,
                                                            world: dict[str, Any]) -> None:
    body = data.get_json(client, "/analysis/duplicates", datetime=WINDOW, bbox=BBOX)
    assert body["counts"] == {"incidents": 10, "duplicates": 4, "events": 6}


def _public_answers(public: TestClient, world: dict[str, Any]) -> list[Any]:
    area = world["area"]
    answers = []
    for dedupe in ("true", "false"):
        answers += [
            data.get_json(public, f"/analysis/areas/{area}/incidents", distance_m=5000, dedupe=dedupe),
            data.get_json(public, "/analysis/areas/incidents", area_id=str(area), datetime=WINDOW,
                 dedupe=dedupe),
            data.get_json(public, "/analysis/areas/compliance", area_id=str(area), at=AT, dedupe=dedupe),
            data.get_json(public, f"/analysis/areas/{area}/report", at=AT, dedupe=dedupe)["incidents"],
            data.get_json(public, "/analysis/timeseries", step="day", datetime=WINDOW, bbox=BBOX,
                 dedupe=dedupe),
            data.get_json(public, "/analysis/grid", kind="square", size_m=50000, datetime=WINDOW,
                 bbox=BBOX, f="json", dedupe=dedupe),
            data.get_json(public, "/analysis/hotspots", eps_m=3000, minpoints=2, datetime=WINDOW,
                 bbox=BBOX, dedupe=dedupe),
            data.get_json(public, "/analysis/duplicates", datetime=WINDOW, bbox=BBOX)["counts"],
            _tile_total(public, dedupe=dedupe),
        ]
    return answers


def test_a_public_caller_learns_nothing_of_an_unreleased_duplicate(
        public: TestClient, client: TestClient, engine: Engine, world: dict[str, Any]) -> None:
    area = world["area"]
    one, every = _both(public, f"/analysis/areas/{area}/incidents", datetime=WINDOW)
    # released: A1 B1 A2 B2 B4 B5 inside (A4 rejected, A5 reported are not); B1 merged; B5,
    # linked to the unreleased A5, stands for its event
    assert one["areas"][0]["inside"]["total"] == 5
    assert one["areas"][0]["inside"]["duplicates_merged"] == 1
    assert every["areas"][0]["inside"]["total"] == 6
    compliance = data.get_json(public, "/analysis/areas/compliance", area_id=str(area), at=AT)
    assert compliance["areas"][0]["violations_after"] == 5
    assert compliance["areas"][0]["duplicates_merged"] == 1
    series = data.get_json(public, "/analysis/timeseries", step="month", datetime=WINDOW, bbox=BBOX)
    assert [s["incidents"] for s in series["series"]] == [0, 6, 0]  # A1 A2 B2 A3 B4 B5
    assert series["duplicates_merged"] == 2  # B1, B3

    # the same answers whether or not A5 (unreleased) is linked to B5, or exists at all
    before = _public_answers(public, world)
    a5, b5 = world["ids"]["A5"], world["ids"]["B5"]
    with engine.begin() as conn:
        link = conn.execute(text("SELECT * FROM incident_duplicates WHERE incident_id = :b "
                                 "AND duplicate_of = :a"), {"a": a5, "b": b5}).mappings().one()
        conn.execute(text("DELETE FROM incident_duplicates WHERE incident_id = :b"), {"b": b5})
    try:
        assert _public_answers(public, world) == before
        with engine.begin() as conn:  # A5 restricted as well
            conn.execute(text("UPDATE incidents SET sensitivity = 'restricted' WHERE id = :a"),
                         {"a": a5})
        assert _public_answers(public, world) == before
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET sensitivity = 'public' WHERE id = :a"),
                         {"a": a5})
            conn.execute(text("""
                INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m,
                                                 hours_apart, score, reason, etl_run_id)
                VALUES (:incident_id, :duplicate_of, :distance_m, :hours_apart, :score,
                        :reason, :etl_run_id)"""), dict(link))
    # the analyst sees the link again: A5 (reported) superseded by B5 (confirmed)
    analyst = data.get_json(client, f"/analysis/areas/{area}/incidents", datetime=WINDOW)
    assert analyst["areas"][0]["inside"]["total"] == 5


def test_dedupe_must_be_a_boolean(client: TestClient, world: dict[str, Any]) -> None:
    for url in (f"/analysis/areas/{world['area']}/incidents", "/analysis/areas/compliance",
                "/analysis/timeseries", "/analysis/grid", "/analysis/hotspots",
                "/analysis/aid-risk", f"/analysis/areas/{world['area']}/report"):
        response = client.get(url, params={"dedupe": "maybe"})
        assert response.status_code == 400, (url, response.text)
        assert "dedupe" in response.text


def test_openapi_documents_dedupe_on_every_counting_endpoint(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    for path in ("/analysis/areas/incidents", "/analysis/areas/{area_id}/incidents",
                 "/analysis/areas/compliance", "/analysis/areas/{area_id}/report",
                 "/analysis/timeseries", "/analysis/grid", "/analysis/grid/tiles/{z}/{y}/{x}",
                 "/analysis/hotspots", "/analysis/aid-risk"):
        (param,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "dedupe"]
        assert param["schema"]["default"] is True, path
        assert "once" in param["description"], path


def test_the_sample_has_no_unexpected_merges(client: TestClient, world: dict[str, Any]) -> None:
    """On the real sample, deduplicated counts never exceed the counts of every report, and
    the difference is what the answer says it merged."""
    one, every = _both(client, "/analysis/timeseries", step="month",
                       datetime="2016-01-01/2016-12-31")
    merged = sum(e["incidents"] - o["incidents"] for o, e in zip(one["series"], every["series"],
                                                                 strict=True))
    assert merged == one["duplicates_merged"] >= 0


def test_the_last_confirmed_day_is_the_standing_reports(client: TestClient, engine: Engine,
                                                        world: dict[str, Any]) -> None:
    """Two confirmed reports of one event, the later-recorded one a day later (linked by hand):
    deduplicated, the last confirmed day is the first report's."""
    first = data.add_incident(engine, "dd-late-a", LON, LAT, "2019-07-01T23:00:00Z")
    second = data.add_incident(engine, "dd-late-b", LON + 0.001, LAT, "2019-07-02T10:00:00Z")
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m, hours_apart,
                                             score, reason)
            VALUES (:b, :a, 93, 11, 0.9, 'by hand')"""), {"a": first, "b": second})
    try:
        one, every = _both(client, "/analysis/areas/compliance", area_id=str(world["area"]),
                           at=AT)
        assert (every["areas"][0]["last_confirmed_day"], every["areas"][0]["violations_after"]
                ) == ("2019-07-02", 9)
        assert (one["areas"][0]["last_confirmed_day"], one["areas"][0]["violations_after"]
                ) == ("2019-07-01", 6)
        assert one["areas"][0]["duplicates_merged"] == 3
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incidents WHERE id IN (:a, :b)"),
                         {"a": first, "b": second})
