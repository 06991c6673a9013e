"""A presented key is checked on EVERY path: 401 (the JSON error body) when it is unknown,
revoked or expired, never a silent fall back to anonymous.

Routes that judge the key themselves (those depending on `get_principal`, and the hot read
paths declaring `KEY_SECURITY`, which check it in their one statement) are left alone; every
other API route gets `key_guard` (an app-wide dependency: no work without a key), and the
routes outside FastAPI's routing (the OpenAPI document, its HTML page, the viewer's static
files) are wrapped in `KeyCheckedApp`. Without a key nothing changes: public stays public."""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.dependencies import (
    KEY_SECURITY,
    get_principal,
    presented_key,
    principal_for,
    remembered,
)


def _uses(dependant: Dependant, call: object) -> bool:
    return dependant.call is call or any(_uses(d, call) for d in dependant.dependencies)


def judges_keys_itself(route: object) -> bool:
    """Whether an API route checks a presented key on its own (so no second look-up)."""
    return isinstance(route, APIRoute) and (
        route.openapi_extra == KEY_SECURITY or _uses(route.dependant, get_principal))


def _check(request: Request, raw: str) -> None:
    with request.app.state.read_sessionmaker() as session:  # autocommit: one statement
        remembered(request, raw, principal_for(raw, session=session))


async def key_guard(request: Request) -> None:
    """App-wide dependency: a presented key is checked unless the route judges it itself."""
    raw = presented_key(request)
    if raw and not judges_keys_itself(request.scope.get("route")):
        await run_in_threadpool(_check, request, raw)


class KeyCheckedApp:
    """An ASGI app (a route's or a mount's) behind the same check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            raw = presented_key(request)
            if raw:
                await run_in_threadpool(_check, request, raw)
        await self.app(scope, receive, send)
