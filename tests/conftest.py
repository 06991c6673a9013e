"""The test suite runs against a real PostGIS: the project-local cluster (started here if needed),
in a database of its own (`truce_test`), built by the real migrations and loaded with the real
sample data through the real ETL jobs. `TRUCE_TEST_DATABASE_URL` points it at another server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from cli import config, pgcluster
from etl import sample
from server.db.migrate import upgrade
from server.main import create_app
from server.serving import uvicorn_options
from server.settings import (
    AlertSettings,
    ApiSettings,
    DatabaseSettings,
    RasterSettings,
    SecuritySettings,
    Settings,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database per test session (named by process, so parallel runs do not collide)."""
    explicit = os.environ.get("TRUCE_TEST_DATABASE_URL")
    if explicit:
        upgrade(DatabaseSettings(url=explicit).url)
        yield DatabaseSettings(url=explicit).url
        return
    server_url = pgcluster.up(pgcluster.default_cluster())
    name = f"truce_test_{os.getpid()}"
    url = pgcluster.create_database(server_url, name, recreate=True)
    upgrade(url)
    yield url
    pgcluster.drop_database(server_url, name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sample_loaded(engine: Engine) -> list[object]:
    """The real sample data, loaded once for the session through the ETL jobs."""
    summaries = sample.load_all(engine)
    failed = [s for s in summaries if s.status != "completed"]
    assert not failed, failed
    return list(summaries)


#: rate limits no test reaches (tests of other settings keep them: `SecuritySettings(**UNLIMITED, ...)`)
UNLIMITED: dict[str, Any] = {"rate_per_second": 100_000, "rate_burst": 1_000_000,
                             "anonymous_rate_per_second": 100_000, "anonymous_burst": 1_000_000}
LOOPBACK_WEBHOOK_HOSTS = ["127.0.0.1", "localhost"]


def make_settings(database_url: str, **api: object) -> Settings:
    return Settings(
        environment="test",
        database=DatabaseSettings(url=database_url),
        api=ApiSettings(web_dir=config.web_dir(), **api),  # type: ignore[arg-type]
        raster=RasterSettings(sources=config.sample_rasters()),
        # The whole suite shares one analyst key and one client address; on a fast machine it
        # outruns the production limits (20/s, burst 200 per key, 400 per address). The limiter
        # itself is tested with its own low limits.
        security=SecuritySettings(**UNLIMITED),
        # The webhook receivers of the tests listen on random loopback ports; the default
        # admits no loopback address at all (tested with the default settings).
        alerts=AlertSettings(webhook_hosts=LOOPBACK_WEBHOOK_HOSTS),
    )


@pytest.fixture(scope="session")
def app(database_url: str, sample_loaded: list[object]) -> FastAPI:
    return create_app(make_settings(database_url))


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, **options: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port (in a thread) while the block runs."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(database_url: str, sample_loaded: list[object]) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for real clients and the browser."""
    settings = make_settings(database_url)
    with serving(create_app(settings), **uvicorn_options(settings.api)) as base:
        yield base


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def analyst_key(engine: Engine, sample_loaded: list[object]) -> str:
    """A real analyst API key (reads everything), for tests about the data rather than about
    release rules: anonymous callers see only released incidents, snapped and bucketed."""
    from sqlalchemy.orm import Session

    from server.services import keys as key_service

    with Session(engine) as session:
        _, key = key_service.create("analyst", org=None, expires_at=None, label="tests:analyst",
                                    actor="tests", session=session)
    return key
