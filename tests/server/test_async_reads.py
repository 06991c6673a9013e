"""The hot reads on the event loop (`server.db.async_reads`): psycopg2's asynchronous
connections, prepared once per connection, bounded, and nothing reused that failed or was cut
off. Then the routes that use it: by id and an unfiltered page, with a key and without."""

from __future__ import annotations

import asyncio
import socket
import time

import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from server.db.async_reads import AsyncReadPool, Statement
from server.queries import prepared
from server.settings import DatabaseSettings


def _pool(database_url: str, **settings: object) -> AsyncReadPool:
    return AsyncReadPool(DatabaseSettings(url=database_url, **settings))  # type: ignore[arg-type]


def _backends(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'truce-read-async' "
            "AND datname = current_database()")).scalars())


def test_a_statement_is_prepared_once_per_connection(database_url: str) -> None:
    sql = "SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(36, 35), 4326), :srid), 0)"

    async def run() -> tuple[str, str, list[str]]:
        pool = _pool(database_url, pool_size=1)
        try:
            first = await prepared.one_async(pool, sql, {"srid": 3857})
            second = await prepared.one_async(pool, sql, {"srid": 32637})
            listed = await pool.one(Statement(
                "SELECT array_agg(name::text) FROM pg_prepared_statements", ()))
            return first[0], second[0], listed[0]
        finally:
            await pool.close()

    first, second, listed = asyncio.run(run())
    assert first == "POINT(4007502 4163881)" and second.startswith("POINT(2")
    assert listed == [prepared.statement(sql, {"srid": 3857}).name]  # one, used twice


def test_unpreparable_statements_run_as_plain_sql(database_url: str) -> None:
    async def run() -> list[object]:
        pool = _pool(database_url, pool_size=1)
        try:
            return [(await prepared.one_async(pool, sql, params))[0] for sql, params in (
                ("SELECT :a + 1", {"a": "1"}),  # $1 declared text: refused, '1' + 1 works
                ("SELECT :a + 1", {"a": "1"}),
                ("SELECT CAST(:v AS int)", {"v": None}),  # no type to declare
                ("SELECT '100%' || :s", {"s": "!"}))]  # a literal % in the text
        finally:
            await pool.close()

    assert asyncio.run(run()) == [2, 2, None, "100%!"]


def test_the_pool_is_bounded(database_url: str, engine: Engine) -> None:
    before = set(_backends(engine))  # the test app's own pool

    async def run() -> int:
        pool = _pool(database_url, pool_size=2)
        try:
            started = time.perf_counter()
            await asyncio.gather(*(pool.one(Statement("SELECT pg_sleep(0.2)", ()))
                                   for _ in range(4)))
            assert time.perf_counter() - started >= 0.35  # two at a time
            return len(set(_backends(engine)) - before)
        finally:
            await pool.close()

    assert asyncio.run(run()) == 2


def test_a_connection_gone_while_idle_is_replaced(database_url: str, engine: Engine) -> None:
    async def run() -> object:
        pool = _pool(database_url, pool_size=1)
        try:
            await pool.one(Statement("SELECT 1", ()))
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE application_name = 'truce-read-async' "
                                  "AND datname = current_database()"))
            await asyncio.sleep(0.1)
            return (await pool.one(Statement("SELECT 42", ())))[0]
        finally:
            await pool.close()

    assert asyncio.run(run()) == 42


def test_a_cancelled_statement_is_stopped_and_its_connection_dropped(
        database_url: str, engine: Engine) -> None:
    def sleeping() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query = 'SELECT pg_sleep(31)'")).scalar_one())

    async def run() -> tuple[object, int, int]:
        pool = _pool(database_url, pool_size=1)
        try:
            slow = asyncio.create_task(pool.one(Statement("SELECT pg_sleep(31)", ())))
            await asyncio.sleep(0.3)
            running = sleeping()
            slow.cancel()  # e.g. the client went away
            with pytest.raises(asyncio.CancelledError):
                await slow
            await asyncio.sleep(0.2)
            return (await pool.one(Statement("SELECT 7", ())))[0], running, sleeping()
        finally:
            await pool.close()

    value, running, left = asyncio.run(run())
    assert value == 7
    assert running == 1 and left == 0  # the statement was stopped, not left running


def test_the_statement_timeout_applies(database_url: str) -> None:
    async def run() -> None:
        pool = _pool(database_url, pool_size=1, statement_timeout_ms=100)
        try:
            await pool.one(Statement("SELECT pg_sleep(2)", ()))
        finally:
            await pool.close()

    with pytest.raises(psycopg2.extensions.QueryCanceledError):
        asyncio.run(run())


def test_by_id_and_a_page_are_read_on_the_event_loop(client: TestClient, engine: Engine,
                                                      analyst_key: str) -> None:
    for headers in ({}, {"X-API-Key": analyst_key}):
        for _ in range(2):  # the first request of a key is checked on its own (a thread)
            assert client.get("/collections/incidents/items/1", headers=headers).status_code \
                in (200, 404)
            page = client.get("/collections/incidents/items", params={"limit": 3},
                              headers=headers)
            assert page.status_code == 200 and page.json()["numberReturned"] == 3
    assert _backends(engine)  # the async pool's connections answered


def test_by_id_survives_its_connections_being_killed(client: TestClient, engine: Engine,
                                                     analyst_key: str) -> None:
    headers = {"X-API-Key": analyst_key}
    assert client.get("/collections/incidents/items/1", headers=headers).status_code == 200
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'truce-read-async' "
                          "AND datname = current_database()"))
    time.sleep(0.1)
    response = client.get("/collections/incidents/items/1", headers=headers)
    assert response.status_code == 200 and response.json()["id"] == 1


def test_an_unreachable_database_is_a_503_with_a_json_body(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    from server.main import create_app
    from tests.conftest import make_settings

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = make_url(database_url).set(port=port).render_as_string(hide_password=False)
    with TestClient(create_app(make_settings(dead)), raise_server_exceptions=False) as client:
        for path in ("/collections/incidents/items/1",  # anonymous: the async pool
                     "/collections/incidents/items?limit=2"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "database_unavailable"


@pytest.mark.parametrize("query", [{"limit": 10}, {"limit": 10, "after": (3,)},
                                   {"limit": 10, "offset": 20}])
def test_a_prepared_page_keeps_its_plan(database_url: str, sample_loaded: list[object],
                                        query: dict[str, object]) -> None:
    """PostgreSQL plans an unfiltered page once per connection, not on every request (with its
    LIMIT bound, a generic plan assumed 10% of the rows and lost to a new custom plan each
    time)."""
    from server.db.collections import COLLECTIONS
    from server.queries import features
    from server.security.release import Release
    from server.services.features import COUNT_CAP

    c = COLLECTIONS["incidents"]
    sql, params = features._page_with_meta_sql(c, features.ItemQuery(**query),  # type: ignore[arg-type]
                                               Release("TRUE"), None, count_cap=COUNT_CAP)
    name = prepared.statement(sql, params).name

    async def run() -> tuple[int, int]:
        pool = _pool(database_url, pool_size=1)
        try:
            for _ in range(10):
                await prepared.one_async(pool, sql, params)
            row = await pool.one(Statement(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE name = %s", (name,)))
            return int(row[0]), int(row[1])
        finally:
            await pool.close()

    generic, custom = asyncio.run(run())
    if query.get("offset"):  # a deep offset page is planned for its offset: still prepared
        assert generic + custom == 10
    else:
        assert generic >= 5 and custom <= 5, (generic, custom)
