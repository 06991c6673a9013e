"""A page in id order does not walk a running load's rows: while a load's transaction holds
20,000 uncommitted incidents, the page statements the query layer builds (newest first, and the
page after the last committed row) read about as many buffers as with no load at all, and answer
the committed rows. Without the bound at the highest committed id
(`layer_versions.max_id`) each would check every one of the load's index entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from server.db.collections import COLLECTIONS
from server.queries import features
from server.queries.features import ItemQuery
from server.security.principal import PUBLIC, Principal, Role
from server.security.release import release_for

SOURCE = "etlt_running_load"
ROWS = 20_000


@contextmanager
def running_load(engine: Engine) -> Iterator[Connection]:
    """A load's open transaction: ROWS incidents inserted with every trigger on, not committed."""
    conn = engine.connect()
    tx = conn.begin()
    try:
        conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                   verification_status, sensitivity, geom)
            SELECT :source, i::text, timestamptz '2016-06-01' + i * interval '1 minute',
                   'shelling', 'confirmed', 'public', ST_SetSRID(ST_MakePoint(36.7, 34.7), 4326)
            FROM generate_series(1, :rows) i"""), {"source": SOURCE, "rows": ROWS})
        yield conn
    finally:
        tx.rollback()
        conn.close()


def _buffers(plan: dict[str, Any]) -> int:
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


def _page(engine: Engine, q: ItemQuery, principal: Principal) -> tuple[int, list[int]]:
    """The page statement's buffers (EXPLAIN ANALYZE) and the ids it answers."""
    c = COLLECTIONS["incidents"]
    params: dict[str, Any] = {}
    statement = features._page_sql(c, q, release_for(principal, "incidents"), params)
    with engine.connect() as reader:
        plan = reader.execute(text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement),
                              params).scalar_one()[0]
        body = reader.execute(text(statement), params).one()[1]
    ids = [int(part.split(",", 1)[0]) for part in body.split('{"type":"Feature","id":')[1:]]
    return _buffers(plan["Plan"]) + _buffers(plan.get("Planning", {})), ids


@pytest.mark.parametrize("principal", [Principal(Role.ANALYST), PUBLIC], ids=["analyst", "public"])
def test_id_ordered_pages_skip_a_running_loads_rows(engine: Engine, sample_loaded: list[object],
                                                    principal: Principal) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE incidents"))  # plans as on a served table, not a fresh one
        top = conn.execute(text("SELECT max(id) FROM incidents")).scalar_one()
    pages = {"newest first": ItemQuery(limit=10, sortby=(("id", True),)),
             "after the last row": ItemQuery(limit=10, after=(top,))}
    idle = {name: _page(engine, q, principal) for name, q in pages.items()}
    with running_load(engine):
        loading = {name: _page(engine, q, principal) for name, q in pages.items()}
    for name in pages:
        assert loading[name][1] == idle[name][1], name
        assert loading[name][0] <= idle[name][0] + 50, (name, idle[name][0], loading[name][0])
    assert idle["after the last row"][1] == []
    assert len(idle["newest first"][1]) == 10

