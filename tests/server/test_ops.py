"""/metrics (Prometheus text format), /health/live, /health/ready and X-Request-Id."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cli import pgcluster
from server.main import create_app
from server.request_id import JsonLogFormatter
from server.services import keys as key_service
from server.settings import DatabaseSettings, SecuritySettings
from tests.conftest import UNLIMITED, make_settings, serving
from tests.server.metrics import parse, value

UNREACHABLE = "postgresql://nobody:x@127.0.0.1:1/none"


@pytest.fixture(scope="module")
def admin_key(database_url: str) -> str:
    engine = create_engine(database_url)
    with Session(engine) as session:
        _, key = key_service.create("admin", label="tests:ops", actor="tests", session=session)
    engine.dispose()
    return key


@pytest.fixture(scope="module")
def ops_app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url))


@pytest.fixture(scope="module")
def ops_client(ops_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(ops_app) as client:
        yield client


def test_metrics_count_requests_by_route_template(ops_client: TestClient, admin_key: str) -> None:
    admin = {"Authorization": f"Bearer {admin_key}"}
    first = ops_client.get("/metrics", headers=admin)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
    before = parse(first.text)
    for _ in range(3):
        assert ops_client.get("/collections/incidents").status_code == 200
    assert ops_client.get("/no/such/path/1").status_code == 404
    assert ops_client.get("/static/no-such-file.js").status_code == 404
    assert ops_client.request("BREW", "/collections").status_code == 405
    after = parse(ops_client.get("/metrics", headers=admin).text)

    route = {"method": "GET", "route": "/collections/{collection_id}", "status": "200"}
    assert value(after, "truce_http_requests_total", **route) == \
        value(before, "truce_http_requests_total", **route) + 3
    count = value(after, "truce_http_request_duration_seconds_count", **route)
    assert count >= 3
    assert value(after, "truce_http_request_duration_seconds_bucket", **route, le="+Inf") == count
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == "truce_http_request_duration_seconds_bucket"
                     and {**dict(k[1]), "le": ""} == {**route, "le": ""})
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert value(after, "truce_http_requests_total", method="GET", route="unmatched",
                 status="404") >= 1
    assert value(after, "truce_http_requests_total", method="GET", route="/static/{path}",
                 status="404") == 1
    assert value(after, "truce_http_requests_total", method="other", route="/collections",
                 status="405") == 1
    assert not any("/no/such" in dict(k[1]).get("route", "") for k in after)
    assert value(after, "truce_database_up") == 1
    assert value(after, "truce_db_pool_connections", pool="sessions", state="size") >= 1
    for family in ("truce_etl_runs gauge", "truce_etl_rows gauge", "truce_alerts gauge",
                   "truce_alert_delivery_attempts gauge", "truce_tile_cache_hits_total counter"):
        assert f"# TYPE {family}\n" in first.text


def test_metrics_need_an_admin_key_off_this_machine(ops_client: TestClient,
                                                   database_url: str) -> None:
    anonymous = ops_client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    engine = create_engine(database_url)
    with Session(engine) as session:
        _, analyst = key_service.create("analyst", label="tests:ops", actor="tests",
                                        session=session)
    engine.dispose()
    refused = ops_client.get("/metrics", headers={"X-API-Key": analyst})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_metrics_from_loopback_but_not_through_a_proxy(ops_app: FastAPI) -> None:
    with serving(ops_app) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
        proxied = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 401


def test_request_id_is_kept_when_safe_else_made(ops_client: TestClient,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="truce.access"):
        kept = ops_client.get("/health/live", headers={"X-Request-Id": "abc-123.x_y:z"})
        replaced = ops_client.get("/health/live", headers={"X-Request-Id": "bad id<script>"})
        missing = ops_client.get("/conformance")
    assert kept.headers["x-request-id"] == "abc-123.x_y:z"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", missing.headers["x-request-id"])
    lines = [json.loads(JsonLogFormatter().format(r)) for r in caplog.records
             if r.name == "truce.access"]
    assert {"request_id": "abc-123.x_y:z", "route": "/health/live", "status": 200,
            "method": "GET"}.items() <= lines[0].items()
    assert lines[1]["request_id"] == replaced.headers["x-request-id"]
    assert lines[2]["route"] == "/conformance" and lines[2]["level"] == "info"


def test_ready_when_migrated(ops_client: TestClient) -> None:
    answer = ops_client.get("/health/ready")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "ready": True, "database": "reachable",
                             "migrations": "current"}


def test_not_ready_until_migrated(database_url: str) -> None:
    server_url = pgcluster.up(pgcluster.default_cluster())
    name = f"truce_ops_{os.getpid()}"
    url = pgcluster.create_database(server_url, name, recreate=True)
    try:
        with TestClient(create_app(make_settings(url))) as client:
            answer = client.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json()["migrations"] == "behind"
        assert "truce migrate" in answer.json()["description"]
    finally:
        pgcluster.drop_database(server_url, name)


def test_live_without_a_database_and_never_rate_limited() -> None:
    settings = make_settings(UNREACHABLE)
    settings.database = DatabaseSettings(url=UNREACHABLE)
    settings.security = SecuritySettings(**{**UNLIMITED, "anonymous_burst": 1,
                                            "anonymous_rate_per_second": 0.001})
    settings.api.metrics_access = "open"
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        for _ in range(10):
            live = client.get("/health/live")
            assert live.status_code == 200 and live.json() == {"status": "live"}
        assert time.monotonic() - started < 5
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["code"] == "not_ready" and ready.json()["database"] == "unreachable"
        again = client.get("/health/ready")  # cached: the same answer, no new connection
        assert again.status_code == 503
        assert client.get("/health/ready").status_code == 503
        metrics = parse(client.get("/metrics").text)
        assert value(metrics, "truce_database_up") == 0
        assert client.get("/conformance").status_code == 429  # the others are limited
        assert client.get("/health/live").status_code == 200


def test_an_unexpected_error_keeps_its_request_id(database_url: str) -> None:
    app = create_app(make_settings(database_url))

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test/boom", boom)
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # formats as it is logged, as `truce serve` does
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("server.errors")
    logger.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/test/boom", headers={"X-Request-Id": "req-500"})
    finally:
        logger.removeHandler(handler)
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert answer.headers["x-request-id"] == "req-500"
    [line] = [json.loads(x) for x in written.getvalue().splitlines()]
    assert line["message"] == "unexpected error" and line["request_id"] == "req-500"
    assert "RuntimeError: boom" in line["error"]
