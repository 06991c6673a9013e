"""Every request's database work is bounded and stoppable (server.db.guard): a client that
disconnects has its statement cancelled in PostgreSQL within a second, on every path that runs
SQL (a session on a worker thread, the autocommit read pool, the event-loop reads), and a
request over its time budget gets a logged 503 query_timeout, from PostgreSQL's statement
timeout or from the server's own timer."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Engine, text

from server.db.async_reads import Statement
from server.deps import SessionDep
from server.main import create_app
from server.request_guard import RequestGuardMiddleware
from server.settings import DatabaseSettings
from tests.conftest import make_settings, serving


def _app(database_url: str, **database: Any) -> FastAPI:
    """The real app, plus test-only routes running a slow statement on each path."""
    settings = make_settings(database_url)
    settings.database = DatabaseSettings(url=database_url, **database)
    app = create_app(settings)

    @app.get("/test/sleep/session")
    def sleep_session(session: SessionDep, marker: str, seconds: float = 30) -> dict[str, Any]:
        session.execute(text(f"SELECT pg_sleep(:s) /* {marker} */"), {"s": seconds})
        return {"slept": seconds}

    @app.get("/analysis/test/sleep-twice")
    def sleep_twice(session: SessionDep, marker: str, seconds: float) -> dict[str, Any]:
        for _ in range(2):  # each under the statement timeout, both over the request's budget
            session.execute(text(f"SELECT pg_sleep(:s) /* {marker} */"), {"s": seconds})
        return {"slept": 2 * seconds}

    @app.get("/test/sleep/read")
    def sleep_read(request: Request, marker: str) -> dict[str, Any]:
        with request.app.state.read_sessionmaker() as session:
            session.execute(text(f"SELECT pg_sleep(30) /* {marker} */"))
        return {}

    @app.get("/test/sleep/async")
    async def sleep_async(request: Request, marker: str) -> dict[str, Any]:
        await request.app.state.async_reads.one(
            Statement(f"SELECT pg_sleep(30) /* {marker} */", ()))
        return {}

    return app


@pytest.fixture(scope="module")
def served(database_url: str, sample_loaded: list[object]) -> Iterator[str]:
    with serving(_app(database_url)) as base:
        yield base.removeprefix("http://")


def _running(engine: Engine, marker: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE :q AND pid <> pg_backend_pid()"), {"q": f"%/* {marker} */%"})
            .scalar_one())


def _wait_for(engine: Engine, marker: str, running: bool, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if bool(_running(engine, marker)) is running:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"the statement {marker} is {'not ' if running else 'still '}running "
                         f"after {seconds} s")


@pytest.mark.parametrize("path", ["session", "read", "async"])
def test_a_client_that_disconnects_has_its_statement_cancelled_within_a_second(
        served: str, engine: Engine, path: str) -> None:
    marker = f"guard-{uuid.uuid4().hex}"
    host, port = served.split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"GET /test/sleep/{path}?marker={marker} HTTP/1.1\r\nHost: {served}\r\n\r\n"
                 .encode())
    _wait_for(engine, marker, running=True, seconds=10)
    sock.close()
    took = _wait_for(engine, marker, running=False, seconds=1.0)
    assert took < 1.0


def test_the_servers_budget_stops_a_request_of_many_statements(
        database_url: str, sample_loaded: list[object], engine: Engine,
        caplog: pytest.LogCaptureFixture) -> None:
    """Two statements of 0.8 s: each under the 5 s statement timeout, together over the
    /analysis/ budget of 1 s: the second is cancelled by the server's timer."""
    from fastapi.testclient import TestClient

    app = _app(database_url, statement_timeout_ms=5_000, analysis_timeout_ms=5_000)
    guard = next(m for m in app.user_middleware if m.cls is RequestGuardMiddleware)
    guard.kwargs["analysis_ms"] = 1_000
    marker = f"budget-{uuid.uuid4().hex}"
    with TestClient(app) as client, caplog.at_level(logging.WARNING):
        start = time.monotonic()
        response = client.get("/analysis/test/sleep-twice",
                              params={"marker": marker, "seconds": 0.8})
        took = time.monotonic() - start
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "query_timeout"
    assert "took too long" in body["description"] and "1 s" in body["description"]
    assert took < 1.6
    assert any("query timeout" in r.getMessage() for r in caplog.records)
    assert _running(engine, marker) == 0


def test_the_analysis_class_has_its_own_statement_timeout_in_the_database(
        database_url: str, sample_loaded: list[object]) -> None:
    """PostgreSQL enforces the class's budget too: an /analysis/ request's transaction runs
    with the analysis statement timeout, any other with the connection's default."""
    from fastapi.testclient import TestClient

    app = _app(database_url, statement_timeout_ms=60_000, analysis_timeout_ms=2_500)

    def shown(session: SessionDep) -> str:
        return str(session.execute(text("SHOW statement_timeout")).scalar_one())

    app.get("/analysis/test/timeout")(shown)
    app.get("/test/timeout")(shown)
    with TestClient(app) as client:
        assert client.get("/analysis/test/timeout").json() == "2500ms"
        assert client.get("/test/timeout").json() == "1min"


def test_a_statement_timeout_is_a_logged_503(database_url: str, sample_loaded: list[object],
                                             caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    app = _app(database_url, statement_timeout_ms=300, analysis_timeout_ms=300)
    with TestClient(app) as client, caplog.at_level(logging.WARNING):
        start = time.monotonic()
        response = client.get("/test/sleep/session", params={"marker": "db", "seconds": 3})
        took = time.monotonic() - start
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "query_timeout"
    assert "took too long" in response.json()["description"]
    assert took < 1.5
    assert any("query timeout" in r.getMessage() for r in caplog.records)


def test_a_request_within_its_budget_is_answered(served: str) -> None:
    response = httpx.get(f"http://{served}/test/sleep/session",
                         params={"marker": "quick", "seconds": 0.05})
    assert response.status_code == 200
    assert response.json() == {"slept": 0.05}
