"""Admission control (server.admission): bounded places and queues per lane, an immediate 503
with Retry-After beyond them, heavy requests apart from light ones, and the probes and the
viewer's files never queued. Slow requests are held by a gate the test opens: no timing."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from server.admission import Lane
from server.main import create_app, per_worker
from server.security.limits import route_group
from server.settings import LIGHT_COST, ROUTE_COSTS, SecuritySettings
from tests.conftest import UNLIMITED, make_settings, serving
from tests.server.metrics import parse, value


def gated_app(database_url: str, gate: threading.Event, **api: Any) -> FastAPI:
    """The app with two test routes held until `gate` is set: a heavy one (an /analysis/ path)
    on the event loop and a light one on a worker thread (as the database routes run)."""
    app = create_app(make_settings(database_url, **api))

    async def heavy() -> dict[str, str]:
        while not gate.is_set():
            await asyncio.sleep(0.01)
        return {"done": "heavy"}

    def light() -> dict[str, str]:
        gate.wait(30)
        return {"done": "light"}

    app.add_api_route("/analysis/test-held", heavy)
    app.add_api_route("/test-held", light)
    return app


async def _until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        await asyncio.sleep(0.02)


def test_heavy_lane_sheds_at_once_and_light_requests_still_pass(database_url: str) -> None:
    gate = threading.Event()
    app = gated_app(database_url, gate, max_heavy_in_progress=2, max_heavy_queued=2,
                    max_queue_wait_seconds=30)
    heavy_lane = app.state.admission.heavy

    async def crowd(base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            held = [asyncio.ensure_future(client.get("/analysis/test-held")) for _ in range(4)]
            await _until(lambda: heavy_lane.in_progress == 2 and heavy_lane.queued == 2)
            refused = await client.get("/analysis/test-held")
            assert refused.status_code == 503
            assert refused.headers["retry-after"].isdigit()
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["code"] == "overloaded"
            assert "x-request-id" in refused.headers  # counted and logged like any answer
            # a real heavy request (an export) is refused too, before any query
            export = await client.get("/collections/incidents/items",
                                      params={"f": "csv", "limit": 10})
            assert export.status_code == 503 and export.json()["code"] == "overloaded"
            # light requests have places of their own: they pass while heavy ones saturate
            light = await asyncio.gather(*(client.get("/collections/incidents/items",
                                                      params={"limit": 2}) for _ in range(8)),
                                         client.get("/collections"),
                                         client.get("/tiles/WebMercatorQuad/6/25/38"))
            assert all(r.status_code in (200, 204) for r in light), [r.text for r in light]
            assert all(not t.done() for t in held)  # still held: none was dropped
            gate.set()
            answers = await asyncio.gather(*held)
            assert [r.status_code for r in answers] == [200] * 4
            metrics = parse((await client.get("/metrics")).text)
            assert value(metrics, "truce_admission_refused_total", lane="heavy",
                         reason="queue_full") == 2
            assert value(metrics, "truce_admission_limit", lane="heavy", kind="in_progress") == 2
            assert value(metrics, "truce_admission_in_progress", lane="light") >= 1  # /metrics
            assert value(metrics, "truce_admission_queued", lane="heavy") == 0

    with serving(app) as base:
        asyncio.run(crowd(base))


def test_light_lane_sheds_when_its_queue_is_full_or_waited_too_long(database_url: str) -> None:
    gate = threading.Event()
    app = gated_app(database_url, gate, max_in_progress=3, max_queued=2,
                    max_queue_wait_seconds=30)
    lane = app.state.admission.light

    async def crowd(base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            held = [asyncio.ensure_future(client.get("/test-held")) for _ in range(5)]
            await _until(lambda: lane.in_progress == 3 and lane.queued == 2)
            refused = await asyncio.gather(*(client.get("/conformance") for _ in range(3)))
            assert [r.status_code for r in refused] == [503] * 3
            assert all(r.headers["retry-after"] == "1" for r in refused)
            # never queued: the probes, the viewer's page and files
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200
            page = await client.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            script = await client.get("/static/app.js")
            assert script.status_code == 200
            again = await client.get("/static/app.js",
                                     headers={"If-None-Match": script.headers["etag"]})
            assert again.status_code == 304
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 5
            assert (await client.get("/conformance")).status_code == 200

    with serving(app) as base:
        asyncio.run(crowd(base))
    assert lane.in_progress == 0 and lane.queued == 0


def test_a_request_waiting_too_long_is_refused() -> None:
    async def run() -> None:
        lane = Lane("light", limit=1, queue=5, retry_after=1)
        assert await lane.enter(1.0)
        assert not await lane.enter(0.05)  # waited, never got the place
        assert lane.refused_wait == 1 and lane.queued == 0
        waiter = asyncio.ensure_future(lane.enter(5.0))
        await asyncio.sleep(0.01)
        assert lane.queued == 1
        lane.leave()  # the place passes to the waiter
        assert await waiter and lane.in_progress == 1
        cancelled = asyncio.ensure_future(lane.enter(5.0))
        await asyncio.sleep(0.01)
        cancelled.cancel()  # the client went away while waiting
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert lane.queued == 0
        lane.leave()
        assert lane.in_progress == 0

    asyncio.run(run())


def test_health_live_answers_while_dozens_of_slow_requests_hold_every_thread(
        database_url: str) -> None:
    """36 slow requests on worker threads (as many as the pool runs at once, nearly), a few
    more queued: /health/live, /health/ready (its cache, or a thread of its own) and the
    viewer's files still answer before any of them is released."""
    gate = threading.Event()
    app = gated_app(database_url, gate, max_in_progress=36, max_queued=12,
                    max_queue_wait_seconds=30, ready_cache_seconds=0)
    lane = app.state.admission.light

    async def crowd(base: str) -> None:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            held = [asyncio.ensure_future(client.get("/test-held")) for _ in range(42)]
            await _until(lambda: lane.in_progress == 36 and lane.queued == 6)
            for _ in range(5):
                live = await asyncio.wait_for(client.get("/health/live"), 10)
                assert live.status_code == 200 and live.json() == {"status": "live"}
                ready = await asyncio.wait_for(client.get("/health/ready"), 10)
                assert ready.status_code == 200 and ready.json()["ready"] is True
            static = await asyncio.wait_for(client.get("/static/style.css"), 10)
            assert static.status_code == 200
            assert not any(t.done() for t in held)
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 42

    with serving(app) as base:
        asyncio.run(crowd(base))


def test_each_worker_applies_its_share_of_the_rate_limits() -> None:
    security = SecuritySettings(**{**UNLIMITED, "rate_per_second": 20, "rate_burst": 200,
                                   "anonymous_rate_per_second": 20, "anonymous_burst": 401})
    assert per_worker(security, 1) is security
    shared = per_worker(security, 2)
    assert (shared.rate_per_second, shared.rate_burst) == (10, 100)
    assert (shared.anonymous_rate_per_second, shared.anonymous_burst) == (10, 200)
    assert shared.route_costs == security.route_costs


def test_large_pages_are_heavy_by_their_route_cost() -> None:
    def group(query: bytes) -> str:
        scope = {"path": "/collections/incidents/items", "query_string": query, "headers": []}
        return route_group(scope)

    assert group(b"limit=1000") == "pages"  # light: charged by its rows once answered
    assert group(b"limit=10000") == "large_pages"
    assert group(b"f=csv&limit=10000") == "exports"
    assert ROUTE_COSTS["large_pages"] > LIGHT_COST >= ROUTE_COSTS["default"]
    assert ROUTE_COSTS["tiles"] <= LIGHT_COST and ROUTE_COSTS["pages"] <= LIGHT_COST


def test_past_the_in_flight_cap_even_files_are_refused_but_not_the_probes(
        database_url: str) -> None:
    gate = threading.Event()
    app = gated_app(database_url, gate, max_in_flight=3, max_queue_wait_seconds=30)
    admission = app.state.admission

    async def crowd(base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            held = [asyncio.ensure_future(client.get("/test-held")) for _ in range(3)]
            await _until(lambda: admission.in_flight == 3)
            refused = await client.get("/static/app.js")
            assert refused.status_code == 503 and refused.json()["code"] == "overloaded"
            assert refused.headers["retry-after"] == "1"
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 3
            # a place is freed when the app returns, a moment after its answer was sent
            await _until(lambda: admission.in_flight == 0)
            assert (await client.get("/static/app.js")).status_code == 200
            metrics = parse((await client.get("/metrics")).text)
            assert value(metrics, "truce_requests_refused_in_flight_total") == 1
            assert value(metrics, "truce_requests_in_flight_limit") == 3

    with serving(app) as base:
        asyncio.run(crowd(base))
    assert admission.in_flight == 0
