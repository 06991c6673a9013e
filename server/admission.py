"""Admission control (plain ASGI middleware): each process works on a bounded number of requests
at once, keeps a short bounded queue, and refuses the rest at once with 503, `Retry-After` and
the JSON error body, instead of letting every request wait in one unbounded line (where light
requests wait behind heavy ones, clients give up, and the probes look dead).

Two lanes, by the route costs of the rate limits (`settings.ROUTE_COSTS`, `route_group`): light
requests (cost up to `LIGHT_COST`: pages, features, tiles, metadata) and heavy ones (exports,
analysis, situation maps, large pages), each with its own places and its own queue, so heavy
requests can never take the places of light ones. Not queued at all: the probes
(`/health/live`, `/health/ready`, cost 0), the viewer's files (`/static/`, answered from memory)
and the landing page `/`.

A place freed goes straight to the request that waited longest in its lane. A request that
waits longer than `max_queue_wait_seconds` is refused like one that found the queue full.

Outside all of it, `InFlightMiddleware` caps every request the process is answering at once
(`max_in_flight`, the viewer's files too): past it, 503 at once, so that a crowd larger than the
event loop can serve is told to come back rather than left in the loop's backlog."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from server.metrics import Exposition
from server.security.limits import app_path, route_group, send_json
from server.settings import LIGHT_COST, ApiSettings

#: paths never queued: answered from memory or by the probes
_UNQUEUED_PREFIXES = ("/static/",)
_UNQUEUED_PATHS = frozenset({"/"})


@dataclass
class Lane:
    """Places for `limit` requests at once and a queue of at most `queue` more."""

    name: str
    limit: int
    queue: int
    retry_after: int
    in_progress: int = 0
    admitted: int = 0
    refused_full: int = 0
    refused_wait: int = 0
    _waiting: deque[asyncio.Future[None]] = field(default_factory=deque)

    @property
    def queued(self) -> int:
        return len(self._waiting)

    async def enter(self, wait: float) -> bool:
        """Take a place, waiting at most `wait` seconds in the queue; False when refused."""
        if self.in_progress < self.limit and not self._waiting:
            self.in_progress += 1
            self.admitted += 1
            return True
        if len(self._waiting) >= self.queue:
            self.refused_full += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(wait):
                await waiter
        except TimeoutError:
            if not (waiter.done() and not waiter.cancelled()):  # else handed a place meanwhile
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
                self.refused_wait += 1
                return False
        except asyncio.CancelledError:  # the client went away while waiting
            if waiter.done() and not waiter.cancelled():
                self.leave()
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            raise
        self.admitted += 1
        return True

    def leave(self) -> None:
        """Free a place: it goes to the longest waiting request, if any."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes on: in_progress unchanged
                return
        self.in_progress -= 1


class Admission:
    """The two lanes of one process, from `ApiSettings`, and its count of requests in flight."""

    def __init__(self, api: ApiSettings) -> None:
        self.max_in_flight = api.max_in_flight
        self.in_flight = 0
        self.refused_in_flight = 0
        self.wait = api.max_queue_wait_seconds
        self.light = Lane("light", api.max_in_progress, api.max_queued, retry_after=1)
        self.heavy = Lane("heavy", api.max_heavy_in_progress, api.max_heavy_queued,
                          retry_after=5)

    def write(self, out: Exposition) -> None:
        lanes = (self.light, self.heavy)
        out.family("truce_requests_in_flight", "gauge",
                   "requests of any kind being answered (this process; probes apart)",
                   [({}, self.in_flight)])
        out.family("truce_requests_in_flight_limit", "gauge",
                   "requests in flight past which any is refused with 503 (this process)",
                   [({}, self.max_in_flight)])
        out.family("truce_requests_refused_in_flight_total", "counter",
                   "requests refused with 503 because too many were in flight (this process)",
                   [({}, self.refused_in_flight)])
        out.family("truce_admission_in_progress", "gauge",
                   "requests being worked on, by admission lane (this process)",
                   (({"lane": lane.name}, lane.in_progress) for lane in lanes))
        out.family("truce_admission_queued", "gauge",
                   "requests waiting for a place, by admission lane (this process)",
                   (({"lane": lane.name}, lane.queued) for lane in lanes))
        out.family("truce_admission_limit", "gauge",
                   "places and queue length, by admission lane (this process)",
                   (({"lane": lane.name, "kind": kind}, value) for lane in lanes
                    for kind, value in (("in_progress", lane.limit), ("queue", lane.queue))))
        out.family("truce_admission_admitted_total", "counter",
                   "requests admitted, by lane (this process)",
                   (({"lane": lane.name}, lane.admitted) for lane in lanes))
        out.family("truce_admission_refused_total", "counter",
                   "requests refused with 503, by lane and reason (queue_full, waited_too_long; "
                   "this process)",
                   (({"lane": lane.name, "reason": reason}, value) for lane in lanes
                    for reason, value in (("queue_full", lane.refused_full),
                                          ("waited_too_long", lane.refused_wait))))


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, admission: Admission, costs: dict[str, float]) -> None:
        self.app = app
        self.admission = admission
        self.costs = costs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        if path in _UNQUEUED_PATHS or path.startswith(_UNQUEUED_PREFIXES):
            await self.app(scope, receive, send)
            return
        cost = self.costs[route_group(scope)]
        if cost == 0:  # the probes
            await self.app(scope, receive, send)
            return
        lane = self.admission.heavy if cost > LIGHT_COST else self.admission.light
        if not await lane.enter(self.admission.wait):
            kind = "heavy " if lane is self.admission.heavy else ""
            await _overloaded(send, f"the server is busy with other {kind}requests",
                              lane.retry_after)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            lane.leave()


async def _overloaded(send: Send, why: str, retry_after: int) -> None:
    """503 with Retry-After: the one answer of a refused request, whichever limit refused it."""
    await send_json(send, 503, {"code": "overloaded",
                                "description": f"{why}; retry in {retry_after} s"},
                    [(b"retry-after", str(retry_after).encode())])


_PROBES = frozenset({"/health/live", "/health/ready"})


class InFlightMiddleware:
    """A cap on every request this process is answering at once, the viewer's files and pages
    included (the probes apart): past `max_in_flight` a request is refused at once with 503 and
    Retry-After, before any other work, so a crowd larger than the process can answer waits in
    its clients' Retry-After rather than in the event loop's backlog (where it would time out)."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        if path in _PROBES:
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if admission.in_flight >= admission.max_in_flight:
            admission.refused_in_flight += 1
            await _overloaded(send, "the server is answering as many requests as it can", 1)
            return
        admission.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            admission.in_flight -= 1
