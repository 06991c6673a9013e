"""Cross-source duplicates: hand-built pairs of reports from two sources, linked when within 5 km
and 24 h with compatible event types, not linked just outside the distance or the window or with
an incompatible type; one link per report per other source; reruns change nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import RunSummary, run

HEADER = "source_id,occurred_at,event_type,lat,lon,fatalities\n"
# Latitudes 3,000 / 4,950 / 5,050 / 1,000 / 2,000 m north of 34.70 on the WGS84 ellipsoid.
FIRST = HEADER + "".join([
    "A1,2020-03-01,battles,34.7,36.2,1\n",
    "A2,2020-03-01,shelling,34.7,36.7,1\n",
    "A3,2020-03-01,shelling,34.7,37.2,1\n",
    "A4,2020-03-10,protests,34.7,37.7,0\n",
    "A5,2020-03-20,battles,34.7,38.2,2\n",
    "A6,2020-03-25,clash,34.7,38.7,3\n",
])
SECOND = HEADER + "".join([
    "B1,2020-03-02,state_based_violence,34.727043,36.2,1\n",  # 3 km, 24 h, same class: linked
    "B2,2020-03-01,shelling,34.744621,36.7,1\n",  # 4,950 m: linked
    "B3,2020-03-01,shelling,34.745522,37.2,1\n",  # 5,050 m: not linked
    "B4,2020-03-12,protests,34.7,37.7,0\n",  # same place, 48 h later: not linked
    "B5,2020-03-20,protests,34.7,38.2,0\n",  # same place and day, protests vs battles: not linked
    "B6a,2020-03-25,clash,34.709014,38.7,3\n",  # 1 km: A6's best match, linked
    "B6b,2020-03-25,clash,34.718029,38.7,3\n",  # 2 km: A6 is taken by B6a
])


def _load(engine: Engine, tmp_path: Path, name: str, body: str, source: str) -> RunSummary:
    path = tmp_path / f"{name}.csv"
    path.write_text(body)
    summary = run(find_job("incidents", "csv", path), path, engine, source=source)
    assert summary.status == "completed", summary.error
    return summary


def _links(engine: Engine) -> list[tuple[str, str, int, float, float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT dup.source_id, orig.source_id, round(d.distance_m)::int, d.hours_apart,
                   d.score, d.reason
            FROM incident_duplicates d
            JOIN incidents dup ON dup.id = d.incident_id
            JOIN incidents orig ON orig.id = d.duplicate_of
            WHERE dup.source LIKE 'etlt\\_dup\\_%' ORDER BY 1""")).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_true_duplicates_are_linked_and_near_misses_are_not(engine: Engine, sample_loaded: list,
                                                            tmp_path: Path) -> None:
    first = _load(engine, tmp_path, "first", FIRST, "etlt_dup_a")
    assert first.duplicates == 0
    second = _load(engine, tmp_path, "second", SECOND, "etlt_dup_b")
    assert (second.loaded, second.duplicates) == (7, 3)
    links = _links(engine)
    assert [(dup, orig) for dup, orig, *_ in links] == [("B1", "A1"), ("B2", "A2"), ("B6a", "A6")]
    by_dup = {dup: rest for dup, _orig, *rest in links}
    assert by_dup["B1"][0] == 3000 and by_dup["B1"][1] == 24.0
    assert by_dup["B2"][0] == 4950 and by_dup["B2"][1] == 0.0
    assert by_dup["B1"][3] == ("3000 m apart, 24.0 h between the reports, types battles and "
                               "state_based_violence are both political_violence")
    assert by_dup["B2"][3] == "4950 m apart, 0.0 h between the reports, same type shelling"
    assert by_dup["B6a"][2] > by_dup["B2"][2]  # closer scores higher
    assert all(0 < score <= 1 for *_, score, _reason in links)

    # a rerun writes nothing and changes no link
    again = _load(engine, tmp_path, "second", SECOND, "etlt_dup_b")
    assert (again.loaded, again.updated, again.duplicates) == (0, 0, 0)
    assert _links(engine) == links
    # an updated report is matched again: same links, made by the new run
    changed = _load(engine, tmp_path, "second", SECOND.replace("B1,2020-03-02,state_based_violence"
                                                               ",34.727043,36.2,1",
                                                               "B1,2020-03-02,state_based_violence"
                                                               ",34.727043,36.2,4"), "etlt_dup_b")
    assert (changed.updated, changed.duplicates) == (1, 1)
    assert _links(engine) == links
    # the first source reloaded with a change: its report keeps one link, to the same partner
    moved = _load(engine, tmp_path, "first", FIRST.replace("A6,2020-03-25,clash,34.7,38.7,3",
                                                           "A6,2020-03-25,clash,34.7,38.7,5"),
                  "etlt_dup_a")
    assert (moved.updated, moved.duplicates) == (1, 1)
    assert _links(engine) == links


def test_distance_and_window_are_configurable(engine: Engine, sample_loaded: list,
                                              tmp_path: Path) -> None:
    _load(engine, tmp_path, "first", FIRST, "etlt_dup_a")
    path = tmp_path / "second.csv"
    path.write_text(SECOND)
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_dup_b",
                  options={"duplicate_distance_m": 5100, "duplicate_hours": 48})
    # B3 (5,050 m) and B4 (48 h) now match too
    assert summary.duplicates == 5
    assert [(dup, orig) for dup, orig, *_ in _links(engine)] == [
        ("B1", "A1"), ("B2", "A2"), ("B3", "A3"), ("B4", "A4"), ("B6a", "A6")]


def test_deleting_a_report_drops_its_links(engine: Engine, sample_loaded: list, tmp_path: Path
                                           ) -> None:
    _load(engine, tmp_path, "first", FIRST, "etlt_dup_a")
    _load(engine, tmp_path, "second", SECOND, "etlt_dup_b")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = 'etlt_dup_a' AND source_id = 'A1'"))
    assert [(dup, orig) for dup, orig, *_ in _links(engine)] == [("B2", "A2"), ("B6a", "A6")]


def test_links_and_distinct_event_counts_in_the_api(engine: Engine, sample_loaded: list,
                                                    tmp_path: Path, client: TestClient,
                                                    analyst_key: str) -> None:
    _load(engine, tmp_path, "first", FIRST, "etlt_dup_a")
    _load(engine, tmp_path, "second", SECOND, "etlt_dup_b")
    analyst = {"X-API-Key": analyst_key}
    window = {"datetime": "2020-03-01/2020-03-31"}
    body = client.get("/analysis/duplicates", params=window, headers=analyst).json()
    assert body["counts"] == {"incidents": 13, "duplicates": 3, "events": 10}
    assert [(r["source_id"], r["duplicate_of_source_id"]) for r in body["links"]] == [
        ("B1", "A1"), ("B2", "A2"), ("B6a", "A6")]
    assert body["links"][0]["reason"].startswith("3000 m apart, 24.0 h")
    one = body["links"][1]
    only = client.get("/analysis/duplicates", params={"incident_id": one["duplicate_of"]},
                      headers=analyst).json()
    assert [r["incident_id"] for r in only["links"]] == [one["incident_id"]]
    # the incident itself links to its duplicates and to its history; following them works
    item = client.get(f"/collections/incidents/items/{one['duplicate_of']}", headers=analyst).json()
    related = {link["rel"]: link["href"] for link in item["links"]}
    followed = client.get("/" + related["related"].split("/", 3)[3], headers=analyst)
    assert [r["incident_id"] for r in followed.json()["links"]] == [one["incident_id"]]
    history = client.get("/" + related["version-history"].split("/", 3)[3], headers=analyst)
    assert history.status_code == 200
    geo = client.get("/analysis/duplicates", params={**window, "f": "geojson"},
                     headers=analyst).json()
    assert geo["features"][0]["geometry"]["type"] == "LineString"
    csv_text = client.get("/analysis/duplicates", params={**window, "f": "csv"},
                          headers=analyst).text
    assert csv_text.splitlines()[0].startswith("incident_id,duplicate_of,source") and "B6a" in csv_text
    # anonymous callers see released incidents only: these are unverified reports
    anonymous = client.get("/analysis/duplicates", params=window).json()
    assert anonymous["links"] == [] and anonymous["counts"]["incidents"] == 0
    bad = client.get("/analysis/duplicates", params={"datetime": "not a time"}, headers=analyst)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/")
    assert "datetime" in bad.text


def test_analysis_counts_each_event_once_with_dedupe(engine: Engine, sample_loaded: list,
                                                     tmp_path: Path, client: TestClient,
                                                     analyst_key: str) -> None:
    _load(engine, tmp_path, "first", FIRST, "etlt_dup_a")
    _load(engine, tmp_path, "second", SECOND, "etlt_dup_b")
    analyst = {"X-API-Key": analyst_key}
    params = {"datetime": "2020-03-01T00:00:00Z/2020-03-31T00:00:00Z", "step": "month"}

    def total(path: str, key: str, **extra: str) -> int:
        body = client.get(path, params={**params, **extra}, headers=analyst).json()
        assert "series" in body or "cells" in body, body
        return sum(int(r[key]) for r in body.get("series") or body.get("cells"))

    # each event once by default; dedupe=false counts every report
    assert total("/analysis/timeseries", "incidents", dedupe="false") == 13
    assert total("/analysis/timeseries", "incidents") == 10
    assert total("/analysis/grid", "incidents", kind="square", size_m="20000", f="json",
                 dedupe="false") == 13
    assert total("/analysis/grid", "incidents", kind="square", size_m="20000", f="json") == 10
    def clusters(**extra: str) -> list[int]:
        body = client.get("/analysis/hotspots", params={
            "datetime": params["datetime"], "eps_m": "2500", "minpoints": "2", **extra},
            headers=analyst).json()
        return sorted(c["incidents"] for c in body["clusters"])

    # A4+B4, A5+B5 (not duplicates) and A6+B6a+B6b; without B6a, the duplicate of A6: 2, 2, 2
    assert clusters(dedupe="false") == [2, 2, 3]
    assert clusters() == [2, 2, 2]


def test_time_spans_match_within_them_and_vague_reports_are_left_alone(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    _load(engine, tmp_path, "spans_a", HEADER + "S1,2020-04-01,battles,34.7,36.2,1\n"
          "S2,2020-04-01,battles,34.7,36.7,1\n", "etlt_dup_spans_a")
    with engine.begin() as conn:  # S1 spans 3 days; S2 a month (dated to the month only)
        conn.execute(text("UPDATE incidents SET occurred_until = occurred_at + "
                          "CASE source_id WHEN 'S1' THEN interval '3 days' ELSE interval '30 days' END "
                          "WHERE source = 'etlt_dup_spans_a'"))
    second = _load(engine, tmp_path, "spans_b", HEADER + "T1,2020-04-04,battles,34.7,36.2,1\n"
                   "T2,2020-04-01,battles,34.7,36.7,1\n", "etlt_dup_spans_b")
    assert second.duplicates == 1
    assert [(dup, orig, hours) for dup, orig, _d, hours, *_ in _links(engine)] == [
        ("T1", "S1", 0.0)]
