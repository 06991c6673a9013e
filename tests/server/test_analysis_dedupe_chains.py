"""Each group of linked reports once: three sources report one event, and the real ETL links
them as a chain (A-B and B-C, not A-C: A and C are 8 km apart, beyond the 5 km match), so every
counting analysis must count the group once, as its first-ranked report, whatever the caller
may see; the maintained groups (migration 13d_duplicate_groups) follow links and statuses.

Hand-built north of the Palmyra desert (no sample data there), on 2019-06-10, in an area signed
on 2019-06-01:

    A  (source a)  4 km west of the centre    confirmed, public
    B  (source b)  at the centre              confirmed, public (restricted in the public tests)
    C  (source c)  4 km east of the centre    confirmed, public
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from tests.server import analysis_data as data

LON, LAT = 38.9, 34.3
SOURCES = ("test_chain_a", "test_chain_b", "test_chain_c")
WINDOW = "2019-06-01T00:00:00Z/2019-06-30T23:59:59Z"
PART_DAYS = "2019-06-01T12:00:00Z/2019-06-30T12:00:00Z"
BBOX = "38.7,34.1,39.1,34.5"
AT = "2019-07-01T00:00:00Z"
HEADER = "source_id,occurred_at,event_type,lat,lon,fatalities\n"


@pytest.fixture(scope="module")
def chain(engine: Engine, sample_loaded: list[object],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("chain")
    _clean(engine)
    area = data.add_area(engine, "chain-area", data.diamond(LON, LAT),
                         signed_at="2019-06-01T00:00:00Z")
    points = {"A": data.project(engine, LON, LAT, 4000, 270), "B": (LON, LAT),
              "C": data.project(engine, LON, LAT, 4000, 90)}
    for key, source in zip("ABC", SOURCES, strict=True):
        x, y = points[key]
        path = tmp / f"{source}.csv"
        path.write_text(HEADER + f"{key},2019-06-10,battles,{y:.7f},{x:.7f},2\n")
        summary = run(find_job("incidents", "csv", path), path, engine, source=source)
        assert summary.status == "completed" and summary.loaded == 1, summary
    with engine.begin() as conn:
        ids: dict[str, int] = {r.source_id: r.id for r in conn.execute(text(
            "SELECT source_id, id FROM incidents WHERE source = ANY(:s)"), {"s": list(SOURCES)})}
        conn.execute(text("UPDATE incidents SET verification_status = 'confirmed', "
                          "sensitivity = 'public' WHERE source = ANY(:s)"), {"s": list(SOURCES)})
    assert _links(engine) == ["A-B", "B-C"]  # a chain: A and C are 8 km apart
    yield {"area": area, "ids": ids}
    _clean(engine)


def _clean(engine: Engine) -> None:
    data.clean(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE source = ANY(:s)"), {"s": list(SOURCES)})


def _links(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("""
            SELECT o.source_id || '-' || n.source_id FROM incident_duplicates d
            JOIN incidents n ON n.id = d.incident_id JOIN incidents o ON o.id = d.duplicate_of
            WHERE n.source = ANY(:s) ORDER BY 1"""), {"s": list(SOURCES)}).scalars())


def _kept(engine: Engine) -> dict[str, tuple[str, str]]:
    """The maintained groups: superseded report -> (group's smallest id, standing report)."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT i.source_id, g.source_id AS grp, st.source_id AS standing
            FROM incident_superseded s JOIN incidents i ON i.id = s.incident_id
            JOIN incidents g ON g.id = s.group_id JOIN incidents st ON st.id = s.standing_id
            WHERE i.source = ANY(:s)"""), {"s": list(SOURCES)}).all()
        # the summary's merged counts are those of the kept area rows, everywhere
        drift = conn.execute(text("""
            SELECT count(*) FROM area_incident_days d FULL JOIN (
              SELECT area_id, day, phase, event_type, count(*) AS n, sum(fatalities) AS f,
                     count(*) FILTER (WHERE verification_status = 'confirmed') AS confirmed
              FROM area_superseded_incidents GROUP BY 1, 2, 3, 4) s
            USING (area_id, day, phase, event_type)
            WHERE (d.m_n, d.m_fatalities, d.m_confirmed)
                  IS DISTINCT FROM (coalesce(s.n, 0), coalesce(s.f, 0), coalesce(s.confirmed, 0))
            """)).scalar_one()
    assert drift == 0
    return {r.source_id: (r.grp, r.standing) for r in rows}




def _counts(client: TestClient, area: int, dedupe: str = "true") -> dict[str, Any]:
    """Every counting answer over the chain's place, as (counted, merged) where it says both."""
    inside = {}
    for name, window in (("whole days", WINDOW), ("part days", PART_DAYS)):
        body = data.get_json(client, f"/analysis/areas/{area}/incidents", datetime=window, dedupe=dedupe)
        zone = body["areas"][0]["inside"]
        inside[name] = (zone["total"], zone["duplicates_merged"])
    ring = data.get_json(client, "/analysis/areas/incidents", area_id=str(area), distance_m=1,
                dedupe=dedupe)["areas"][0]["inside"]
    compliance = data.get_json(client, "/analysis/areas/compliance", area_id=str(area), at=AT,
                      dedupe=dedupe)["areas"][0]
    series = data.get_json(client, "/analysis/timeseries", step="month", datetime=WINDOW, bbox=BBOX,
                  dedupe=dedupe)
    grid = data.get_json(client, "/analysis/grid", kind="square", size_m=50000, datetime=WINDOW,
                bbox=BBOX, f="json", dedupe=dedupe)
    hotspots = data.get_json(client, "/analysis/hotspots", eps_m=5000, minpoints=1, datetime=WINDOW,
                    bbox=BBOX, dedupe=dedupe)
    return {
        **{f"inside, {k}": v for k, v in inside.items()},
        "inside, all time": (ring["total"], ring["duplicates_merged"]),
        "compliance": (compliance["violations_after"], compliance["duplicates_merged"]),
        "timeseries": (sum(s["incidents"] for s in series["series"]),
                       series["duplicates_merged"]),
        "grid": (sum(int(c["incidents"]) for c in grid["cells"]), grid["duplicates_merged"]),
        "hotspots": (sum(c["incidents"] for c in hotspots["clusters"]),
                     hotspots["duplicates_merged"]),
    }


def _all(counted: int, merged: int) -> dict[str, tuple[int, int]]:
    keys = ("inside, whole days", "inside, part days", "inside, all time", "compliance",
            "timeseries", "grid", "hotspots")
    return dict.fromkeys(keys, (counted, merged))


def _live_and_kept(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """The chain's counts from the groups computed live (a release that restricts nothing but
    is not unrestricted, so the live path runs over every row) and from the maintained ones."""
    from sqlalchemy.orm import Session

    from server.queries import analysis_duplicates
    from server.security.release import Release

    live = Release("TRUE", notes={"test": "live groups"}, alias="i")
    kept = Release("TRUE", alias="i")
    assert not live.unrestricted and kept.unrestricted
    box = (38.7, 34.1, 39.1, 34.5)
    with Session(engine) as session:
        live_counts, kept_counts = (
            analysis_duplicates.counts(rel, start=datetime(2019, 6, 1, tzinfo=UTC),
                                       end=datetime(2019, 6, 30, 23, 59, 59, tzinfo=UTC),
                                       bbox=box, session=session) for rel in (live, kept))
    return live_counts, kept_counts


def test_a_chain_of_three_reports_counts_once(client: TestClient, engine: Engine,
                                             chain: dict[str, Any]) -> None:
    assert _counts(client, chain["area"]) == _all(1, 2)
    assert _counts(client, chain["area"], dedupe="false") == _all(3, 0)
    body = data.get_json(client, "/analysis/duplicates", datetime=WINDOW, bbox=BBOX)
    assert body["counts"] == {"incidents": 3, "duplicates": 2, "events": 1}
    assert _live_and_kept(engine) == (body["counts"],) * 2
    # all confirmed: the first recorded (A) stands for the group, whose id is A's
    assert _kept(engine) == {"B": ("A", "A"), "C": ("A", "A")}


def test_the_group_counts_as_its_best_verified_report(client: TestClient, engine: Engine,
                                                      chain: dict[str, Any]) -> None:
    ids = chain["ids"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET verification_status = 'reported' "
                          "WHERE id IN (:a, :b)"), {"a": ids["A"], "b": ids["B"]})
    try:
        assert _kept(engine) == {"A": ("A", "C"), "B": ("A", "C")}  # the update regrouped
        # B, the worst ranked, sits between A and C: counting each report that a linked report
        # ranks before (pairwise) would leave A and C both standing
        assert _counts(client, chain["area"]) == _all(1, 2)
        assert _live_and_kept(engine) == ({"incidents": 3, "duplicates": 2, "events": 1},) * 2
        body = data.get_json(client, f"/analysis/areas/{chain['area']}/incidents", datetime=WINDOW)
        assert body["areas"][0]["inside"]["by_verification_status"] == {"confirmed": 1}
        compliance = data.get_json(client, "/analysis/areas/compliance", area_id=str(chain["area"]),
                          at=AT)["areas"][0]
        assert (compliance["violations_after"], compliance["confirmed_after"]) == (1, 1)
        assert compliance["last_confirmed_day"] == "2019-06-10"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET verification_status = 'confirmed' "
                              "WHERE id IN (:a, :b)"), {"a": ids["A"], "b": ids["B"]})
    assert _kept(engine) == {"B": ("A", "A"), "C": ("A", "A")}


def test_removing_the_middle_link_splits_the_group(client: TestClient, engine: Engine,
                                                   chain: dict[str, Any]) -> None:
    ids = chain["ids"]
    with engine.begin() as conn:
        link = conn.execute(text("SELECT * FROM incident_duplicates WHERE incident_id = :c"),
                            {"c": ids["C"]}).mappings().one()
        conn.execute(text("DELETE FROM incident_duplicates WHERE incident_id = :c"),
                     {"c": ids["C"]})
    try:
        assert _kept(engine) == {"B": ("A", "A")}
        assert _counts(client, chain["area"]) == _all(2, 1)
    finally:
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m,
                                                 hours_apart, score, reason, etl_run_id)
                VALUES (:incident_id, :duplicate_of, :distance_m, :hours_apart, :score,
                        :reason, :etl_run_id)"""), dict(link))
    assert _kept(engine) == {"B": ("A", "A"), "C": ("A", "A")}
    assert _counts(client, chain["area"]) == _all(1, 2)


def test_an_area_drawn_later_gets_the_groups_rows(client: TestClient, engine: Engine,
                                                  chain: dict[str, Any]) -> None:
    """An area inserted after the links, then moved away: its kept rows follow."""
    second = data.add_area(engine, "chain-area-2", data.diamond(LON, LAT, 0.2),
                           signed_at="2019-06-01T00:00:00Z")
    try:
        assert _counts(client, second)["inside, whole days"] == (1, 2)
        with engine.begin() as conn:
            conn.execute(text("UPDATE agreement_areas SET geom = ST_Translate(geom, 1, 0) "
                              "WHERE id = :a"), {"a": second})
        assert _counts(client, second)["inside, whole days"] == (0, 0)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM agreement_areas WHERE id = :a"), {"a": second})


def test_a_hidden_middle_report_neither_joins_nor_shows(public: TestClient, client: TestClient,
                                                        engine: Engine,
                                                        chain: dict[str, Any]) -> None:
    """B restricted: the public sees A and C, which no link joins, so both count; the answers
    are the same with B's links deleted. Analysts still count the group once."""
    ids = chain["ids"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET sensitivity = 'restricted' WHERE id = :b"),
                     {"b": ids["B"]})
    try:
        seen = _counts(public, chain["area"])
        assert seen == _all(2, 0)
        assert _counts(client, chain["area"]) == _all(1, 2)
        with engine.begin() as conn:
            links = [dict(r) for r in conn.execute(text(
                "SELECT * FROM incident_duplicates WHERE :b IN (incident_id, duplicate_of)"),
                {"b": ids["B"]}).mappings()]
            conn.execute(text("DELETE FROM incident_duplicates WHERE :b IN (incident_id, "
                              "duplicate_of)"), {"b": ids["B"]})
        try:
            assert _counts(public, chain["area"]) == seen
        finally:
            with engine.begin() as conn:
                for link in links:
                    conn.execute(text("""
                        INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m,
                                                         hours_apart, score, reason, etl_run_id)
                        VALUES (:incident_id, :duplicate_of, :distance_m, :hours_apart, :score,
                                :reason, :etl_run_id)"""), link)
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET sensitivity = 'public' WHERE id = :b"),
                         {"b": ids["B"]})
    # everything released again: the public counts the group once too, through the live groups
    assert _counts(public, chain["area"]) == _all(1, 2)


def test_a_reload_that_relinks_keeps_the_groups(engine: Engine, chain: dict[str, Any],
                                                tmp_path: Any) -> None:
    """Re-linking a run's rows (the ETL drops their links, then links again) leaves the same
    maintained groups."""
    from etl import dedupe

    with engine.begin() as conn:
        run_id = conn.execute(text("SELECT etl_run_id FROM incidents WHERE id = :b"),
                              {"b": chain["ids"]["B"]}).scalar_one()
        made = dedupe.link(conn, run_id=run_id, source=SOURCES[1], distance_m=5000, hours=24)
    assert made == 2
    assert _links(engine) == ["A-B", "B-C"]
    assert _kept(engine) == {"B": ("A", "A"), "C": ("A", "A")}


def test_a_deleted_report_leaves_its_group(client: TestClient, engine: Engine,
                                           chain: dict[str, Any]) -> None:
    """(Last: it deletes C.) The deletion cascades to C's link, which regroups A and B and takes
    C's merged counts away from the summary."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE id = :c"), {"c": chain["ids"]["C"]})
        kept_rows = conn.execute(text("SELECT count(*) FROM area_superseded_incidents "
                                      "WHERE incident_id = :c"), {"c": chain["ids"]["C"]})
        assert kept_rows.scalar_one() == 0
    assert _kept(engine) == {"B": ("A", "A")}
    assert _counts(client, chain["area"]) == _all(1, 1)


def test_the_area_summary_is_rebuilt_before_the_groups_rows(engine: Engine) -> None:
    """PostgreSQL fires triggers of the same event in name order: after an area's geometry
    changes, `area_days_areas_updated` (migration 05) must rebuild the area's summary rows
    before `duplicate_groups_areas_upd` (migration 13d) adds the groups' counts to them.
    Renaming either one out of that order breaks the merged counts: this says so at once."""
    with engine.connect() as conn:
        names = list(conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'agreement_areas'::regclass "
            "AND NOT tgisinternal AND tgtype & 16 = 16 "  # AFTER UPDATE triggers
            "ORDER BY tgname")).scalars())
    assert "area_days_areas_updated" in names and "duplicate_groups_areas_upd" in names, names
    assert names.index("area_days_areas_updated") < names.index("duplicate_groups_areas_upd")
