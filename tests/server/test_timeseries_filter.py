"""/analysis/timeseries with a CQL2 `filter` (text or JSON): the same incidents as the items
endpoint with that filter, so the viewer's histogram follows every filter the map applies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

SERIES = "/analysis/timeseries"
WINDOW = "2016-01-01T00:00:00Z/2016-12-31T23:59:59Z"


def _series(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(SERIES, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["series"])


def _count(engine: Engine, where: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            f"SELECT count(*) FROM incidents WHERE occurred_at >= '2016-01-01' AND "
            f"occurred_at < '2017-01-01' AND {where}")).scalar_one())


@pytest.mark.parametrize(("cql", "sql"), [
    ("fatalities >= 5", "fatalities >= 5"),
    ("fatalities BETWEEN 1 AND 3 AND event_type = 'state_based_violence'",
     "fatalities BETWEEN 1 AND 3 AND event_type = 'state_based_violence'"),
    ("casei(actor1) LIKE casei('%government%') OR casei(actor2) LIKE casei('%government%')",
     "(lower(actor1) LIKE '%government%' OR lower(actor2) LIKE '%government%')"),
    ("S_INTERSECTS(geom, BBOX(36.0, 34.0, 37.5, 35.5)) AND fatalities > 0",
     "geom && ST_MakeEnvelope(36.0, 34.0, 37.5, 35.5, 4326) AND fatalities > 0"),
])
def test_filtered_series_counts_what_the_filter_matches(
        client: TestClient, engine: Engine, sample_loaded: list[object], cql: str,
        sql: str) -> None:
    series = _series(client, step="month", datetime=WINDOW, filter=cql)
    expected = _count(engine, sql)
    assert 0 < expected < _count(engine, "TRUE")
    assert sum(r["incidents"] for r in series) == expected
    assert len(series) == 12  # the whole window, empty months as zeros


def test_filter_combines_with_the_other_parameters_and_cql2_json(
        client: TestClient, engine: Engine, sample_loaded: list[object]) -> None:
    text_ = _series(client, step="week", datetime=WINDOW, event_type="state_based_violence",
                    filter="fatalities >= 2")
    json_ = _series(client, step="week", datetime=WINDOW, event_type="state_based_violence",
                    filter='{"op": ">=", "args": [{"property": "fatalities"}, 2]}',
                    **{"filter-lang": "cql2-json"})
    assert text_ == json_
    expected = _count(engine, "event_type = 'state_based_violence' AND fatalities >= 2")
    assert sum(r["incidents"] for r in text_) == expected > 0


def test_without_a_window_the_series_spans_the_matches(
        client: TestClient, engine: Engine, sample_loaded: list[object]) -> None:
    with engine.connect() as conn:
        first, last = conn.execute(text(
            "SELECT to_char(min(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
            "to_char(max(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') "
            "FROM incidents WHERE fatalities >= 20")).one()
    series = _series(client, step="day", filter="fatalities >= 20")
    assert series[0]["period"] == first and series[-1]["period"] == last
    assert series[0]["incidents"] > 0 and series[-1]["incidents"] > 0


def test_a_filter_matching_nothing_gives_zeros_over_the_window(client: TestClient) -> None:
    series = _series(client, step="day", datetime="2016-03-01/2016-03-03",
                     filter="fatalities > 1000000")
    assert [(r["period"], r["incidents"]) for r in series] == [
        ("2016-03-01", 0), ("2016-03-02", 0), ("2016-03-03", 0)]
    assert _series(client, step="day", filter="fatalities > 1000000") == []


@pytest.mark.parametrize("params", [
    {"filter": "fatalities >"},
    {"filter": "no_such_property = 1"},
    {"filter": "sensitivity = 'restricted'"},
    {"filter": "fatalities = 'many'"},
    {"filter": "fatalities = 1; DROP TABLE incidents"},
    {"filter": "{not json", "filter-lang": "cql2-json"},
    {"filter": "fatalities = 1", "filter-lang": "sql"},
    {"filter-lang": "sql"},
])
def test_bad_filters_are_400_with_a_reason(client: TestClient, engine: Engine,
                                           params: dict[str, str]) -> None:
    before = _count(engine, "TRUE")
    response = client.get(SERIES, params={"step": "day", **params})
    assert response.status_code == 400, response.text
    assert response.json()["description"]
    assert _count(engine, "TRUE") == before
