"""Keyset paging on /items: next/prev links carry an opaque cursor (the page-order key of the
last/first feature), so following them visits every matching feature exactly once in the page
order, whatever the sort keys (ties, NULLs, descending); `offset` still works for older clients;
bad cursors are 400."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

ITEMS = "/collections/incidents/items"


def _rel(links: list[dict[str, Any]], rel: str) -> str | None:
    return next((link["href"] for link in links if link["rel"] == rel), None)


def _walk(client: TestClient, params: dict[str, Any]) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow next links from the first page; the ids in order and every page's body."""
    pages = [client.get(ITEMS, params=params).json()]
    while (nxt := _rel(pages[-1]["links"], "next")) is not None:
        assert len(pages) < 200, "next links do not end"
        response = client.get(nxt)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return [f["id"] for p in pages for f in p["features"]], pages


def _all(client: TestClient, params: dict[str, Any]) -> list[int]:
    body = client.get(ITEMS, params={**params, "limit": 10000}).json()
    assert _rel(body["links"], "next") is None
    return [f["id"] for f in body["features"]]


def test_next_links_carry_a_cursor_and_visit_every_feature_once(client: TestClient) -> None:
    ids, pages = _walk(client, {"limit": 1000})
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == pages[0]["numberMatched"] == 6155
    assert len(pages) == 7 and pages[-1]["numberReturned"] == 155
    query = parse_qs(urlparse(_rel(pages[0]["links"], "next") or "").query)
    assert "cursor" in query and "offset" not in query and query["limit"] == ["1000"]
    assert _rel(pages[0]["links"], "prev") is None


@pytest.mark.parametrize("sortby", ["-occurred_at,fatalities", "actor2", "-actor2,-id",
                                    "occurred_until,-fatalities"])
def test_sorted_pages_follow_the_sort_with_ties_and_nulls(client: TestClient, sortby: str) -> None:
    """occurred_at has many ties (the id breaks them); actor2 and occurred_until hold NULLs."""
    ids, _ = _walk(client, {"limit": 500, "sortby": sortby})
    assert ids == _all(client, {"sortby": sortby})


@pytest.mark.parametrize("params", [
    {"datetime": "2016-03-01T00:00:00Z/2016-06-30T23:59:59Z"},
    {"bbox": "36.0,34.5,37.5,36.5"},
    {"event_type": "state_based_violence", "filter": "fatalities >= 1"},
])
def test_filtered_pages_visit_every_match_once(client: TestClient, params: dict[str, Any]) -> None:
    ids, pages = _walk(client, {**params, "limit": 300})
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(_all(client, params))
    assert len(pages) > 1 and pages[-1]["numberReturned"] > 0  # no empty page at the end


def test_prev_links_go_back_page_by_page(client: TestClient) -> None:
    params = {"limit": 50, "sortby": "-occurred_at"}
    first = client.get(ITEMS, params=params).json()
    second = client.get(_rel(first["links"], "next") or "").json()
    third = client.get(_rel(second["links"], "next") or "").json()
    back = client.get(_rel(third["links"], "prev") or "").json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in second["features"]]
    start = client.get(_rel(back["links"], "prev") or "").json()
    assert [f["id"] for f in start["features"]] == [f["id"] for f in first["features"]]
    assert _rel(start["links"], "prev") is None  # nothing before the first page
    forward = client.get(_rel(start["links"], "next") or "").json()
    assert [f["id"] for f in forward["features"]] == [f["id"] for f in second["features"]]


def test_offset_still_works_and_links_on_with_cursors(client: TestClient) -> None:
    everything = _all(client, {})
    page = client.get(ITEMS, params={"offset": 100, "limit": 10}).json()
    assert [f["id"] for f in page["features"]] == everything[100:110]
    nxt = client.get(_rel(page["links"], "next") or "").json()
    assert [f["id"] for f in nxt["features"]] == everything[110:120]
    prev = client.get(_rel(page["links"], "prev") or "").json()
    assert [f["id"] for f in prev["features"]] == everything[90:100]
    past = client.get(ITEMS, params={"offset": 10**6, "limit": 10}).json()
    assert past["features"] == [] and _rel(past["links"], "next") is None


def test_csv_export_honours_the_cursor(client: TestClient) -> None:
    first = client.get(ITEMS, params={"limit": 5}).json()
    cursor = parse_qs(urlparse(_rel(first["links"], "next") or "").query)["cursor"][0]
    rows = client.get(ITEMS, params={"f": "csv", "limit": 5, "cursor": cursor}).text.splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == _all(client, {})[5:10]


def test_bad_cursors_are_400(client: TestClient) -> None:
    first = client.get(ITEMS, params={"limit": 5}).json()
    cursor = parse_qs(urlparse(_rel(first["links"], "next") or "").query)["cursor"][0]
    body, _, digest = cursor.partition(".")
    tampered = ("A" if body[0] != "A" else "B") + body[1:] + "." + digest
    for params in ({"cursor": "garbage"}, {"cursor": tampered}, {"cursor": cursor + "x"},
                   {"cursor": cursor, "sortby": "-fatalities"},  # made for another order
                   {"cursor": cursor, "offset": "10"}, {"cursor": "...."}, {"cursor": "e30.AAAA"}):
        response = client.get(ITEMS, params=params)
        assert response.status_code == 400, (params, response.text)
        assert "cursor" in response.json()["description"]


def test_sorting_the_matches_gives_the_same_pages_as_walking_the_ids(engine: Engine) -> None:
    """`sort_matches` (chosen when the planner expects few matches) changes the plan only."""
    from server.db.collections import COLLECTIONS
    from server.queries import features as q
    from server.security.release import Release
    from server.services.features import item_query

    c = COLLECTIONS["incidents"]
    everything = Release("TRUE")
    query = item_query(c, {"bbox": "36.0,34.5,37.5,36.5", "limit": "40"}, default_limit=10,
                       max_limit=10000)
    with Session(engine) as session:
        walked = q.page(c, query, everything, session=session)
        sorted_ = q.page(c, replace(query, sort_matches=True), everything, session=session)
        assert walked == sorted_ and walked.more and walked.last is not None
        after = replace(query, after=tuple(walked.last))
        assert (q.page(c, after, everything, session=session)
                == q.page(c, replace(after, sort_matches=True), everything, session=session))
        assert q.estimate(c, query, everything, session=session) > 0
