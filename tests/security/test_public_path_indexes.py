"""The public path is index-friendly: release rules (time buckets, snapped points) are applied
as predicates on the exact columns that their indexes answer, and the answers stay the same.

50,000 synthetic incidents (source `etlt_public_path`) are inserted in a transaction that is
rolled back (triggers off in it, so nothing else changes), then ANALYZEd there: the planner sees
a table where an index pays. The statement an anonymous /items request runs is taken from the
route itself and EXPLAINed in that transaction; the pages of the query layer are compared there
with a reference written the plain way (filter and sort on the bucketed value)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS
from server.queries import features
from server.queries.features import ItemQuery
from server.security.principal import PUBLIC
from server.security.release import ReleasePolicy, release_for

ITEMS = "/collections/incidents/items"
SOURCE = "etlt_public_path"
ROWS = 50_000
WEEK = "2016-06-01T00:00:00Z/2016-06-07T23:59:59Z"
BBOX = "38.30,34.30,38.50,34.50"  # 0.2 degrees of a 6.7 x 5 degree spread


@pytest.fixture(scope="module")
def big(engine: Engine, sample_loaded: list[object]) -> Iterator[Connection]:
    """A connection in a transaction holding ROWS more incidents (a third of them released),
    ANALYZEd; rolled back after the test, and the table analysed and vacuumed again."""
    conn = engine.connect()
    tx = conn.begin()
    try:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                   verification_status, sensitivity, fatalities, geom)
            SELECT :source, i::text,
                   timestamptz '2016-01-01' + random() * interval '366 days',
                   'shelling', (ARRAY['reported', 'confirmed', 'under_review'])[1 + i % 3],
                   CASE WHEN i % 10 = 0 THEN 'restricted' ELSE 'public' END, i % 7,
                   ST_SetSRID(ST_MakePoint(35.7 + random() * 6.7, 32.3 + random() * 5.0), 4326)
            FROM generate_series(1, :rows) i"""), {"source": SOURCE, "rows": ROWS})
        conn.execute(text("ANALYZE incidents"))
        yield conn
    finally:
        tx.rollback()
        conn.close()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("VACUUM ANALYZE incidents"))


def _route_statement(app: FastAPI, params: dict[str, str]) -> tuple[str, Any]:
    """The page statement (and its values) an anonymous GET /items with `params` runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if "string_agg(p.feature" in statement:
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with TestClient(app) as anonymous:
            response = anonymous.get(ITEMS, params=params)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    assert len(seen) == 1, seen
    return seen[0]


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


def _plan_nodes(conn: Connection, statement: str, parameters: Any) -> list[dict[str, Any]]:
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()
    return list(_scans(plan[0]["Plan"]))


def _indexes_on(conn: Connection, column: str) -> set[str]:
    """The indexes of incidents over `column` (alone or with others)."""
    rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                             "WHERE tablename = 'incidents'")).all()
    return {name for name, definition in rows
            if column in re.split(r"[(), ]+", definition.split(" USING ", 1)[1])}


@pytest.mark.parametrize(("params", "column"), [
    ({"datetime": WEEK, "limit": "1000"}, "occurred_at"),
    ({"bbox": BBOX, "limit": "1000"}, "geom"),
])
def test_anonymous_datetime_and_bbox_pages_use_the_index(
        app: FastAPI, big: Connection, params: dict[str, str], column: str) -> None:
    statement, parameters = _route_statement(app, params)
    nodes = _plan_nodes(big, statement, parameters)
    seq = [n for n in nodes if n["Node Type"] == "Seq Scan"
           and n.get("Relation Name") == "incidents"]
    shape = [(n["Node Type"], n.get("Index Name") or n.get("Relation Name")) for n in nodes]
    assert not seq, f"a Seq Scan on incidents: {shape}"
    used = {n.get("Index Name") for n in nodes
            if n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")}
    assert used & _indexes_on(big, column), (
        f"no index on incidents.{column} used; plan: {shape}")


def _ids(page: features.Page) -> list[int]:
    return [f["id"] for f in orjson.loads(f"[{page.body}]")]


def _key(c: Any, q: ItemQuery, raw: list[Any]) -> tuple[Any, ...]:
    keys = features.page_keys(c, q)
    return tuple(datetime.fromisoformat(v) if name != c.id_column and v is not None else v
                 for (name, _), v in zip(keys, raw, strict=True))


def _reference(conn: Connection, bucket: str, lo: str, hi: str, *, desc: bool) -> list[int]:
    """The released ids in the window, filtered and sorted on the bucketed time itself."""
    b = f"date_trunc('{bucket}', occurred_at)"
    return list(conn.execute(text(  # noqa: S608 - constants only
        f"SELECT id FROM incidents WHERE verification_status = 'confirmed' "
        f"AND sensitivity = 'public' AND {b} >= CAST(:lo AS timestamptz) "
        f"AND {b} <= CAST(:hi AS timestamptz) ORDER BY {b} {'DESC' if desc else 'ASC'}, id"),
        {"lo": lo, "hi": hi}).scalars())


WINDOWS = [  # (bucket, start, end, session time zone): aligned and not, across DST changes
    ("day", "2016-06-01T00:00:00Z", "2016-06-07T23:59:59Z", "UTC"),
    ("day", "2016-03-24T13:31:07Z", "2016-04-02T06:00:00Z", "Europe/London"),
    ("hour", "2016-10-25T22:15:00Z", "2016-11-02T02:00:00Z", "Europe/London"),
    ("week", "2016-02-10T12:00:00Z", "2016-03-09T00:00:00Z", "UTC"),
    ("month", "2016-02-15T08:00:00Z", "2016-04-01T00:00:00Z", "America/New_York"),
]


@pytest.mark.parametrize(("bucket", "lo", "hi", "zone"), WINDOWS)
@pytest.mark.parametrize("desc", [False, True])
def test_bucketed_windows_page_exactly_like_the_bucketed_filter(
        big: Connection, bucket: str, lo: str, hi: str, zone: str, desc: bool) -> None:
    """Every page (cursor after cursor, then at offsets, then back with `prev` cursors) holds
    exactly the rows the plain filter on bucketed times holds, in its order."""
    big.execute(text("SELECT set_config('TimeZone', :zone, true)"), {"zone": zone})
    c = COLLECTIONS["incidents"]
    rel = release_for(PUBLIC, "incidents", ReleasePolicy(public_time_bucket=bucket))
    expected = _reference(big, bucket, lo, hi, desc=desc)
    assert len(expected) > 250, "the window should span several pages"
    limit = 120
    q = ItemQuery(start=datetime.fromisoformat(lo), end=datetime.fromisoformat(hi),
                  sortby=(("occurred_at", desc),), limit=limit)
    session = Session(bind=big)
    got: list[int] = []
    pages: list[features.Page] = []
    cursor_q = q
    while True:
        page = features.page(c, cursor_q, rel, session=session)
        got += _ids(page)
        pages.append(page)
        if not page.more:
            break
        assert page.last is not None
        cursor_q = replace(q, after=_key(c, q, page.last))
    assert got == expected
    for offset in (limit, 2 * limit + 7):
        at = features.page(c, replace(q, offset=offset), rel, session=session)
        assert _ids(at) == expected[offset:offset + limit]
    back = pages[-1]
    assert back.first is not None
    prev = features.page(c, replace(q, before=_key(c, q, back.first)), rel, session=session)
    assert _ids(prev) == expected[len(expected) - len(_ids(back)) - limit:
                                  len(expected) - len(_ids(back))]
    header, rows = features.rows(c, replace(q, limit=300), rel, session=session)
    assert [r[0] for r in rows] == expected[:300]
