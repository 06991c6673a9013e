"""Probes and metrics: GET /health/live, /health/ready, /metrics."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.deps import SettingsDep
from server.errors import ForbiddenError, UnauthorizedError
from server.metrics import CONTENT_TYPE
from server.security.dependencies import PrincipalDep
from server.security.principal import Role
from server.services import ops

router = APIRouter(tags=["operations"])
_NO_STORE = {"Cache-Control": "no-store"}
_READY_THREAD = ThreadPoolExecutor(1, thread_name_prefix="truce-ready")


@router.get("/health/live", summary="The process answers (no database involved)",
            description="For a liveness probe: always 200 while the server runs. Never rate "
                        "limited; needs no key.")
async def live() -> JSONResponse:
    # on the event loop: no worker thread, no database, no admission queue
    return JSONResponse({"status": "live"}, headers=_NO_STORE)


@router.get("/health/ready", summary="Ready to serve: the database answers and its schema is "
            "at the migrations' head",
            description="For a readiness probe: 200 when ready, else 503 with the reason. The "
                        "check is cached for `TRUCE_API_READY_CACHE_SECONDS`. Needs no key.",
            responses={503: {"description": "not ready (database unreachable or not migrated)"}})
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    answer = state.readiness.cached()
    if answer is None:  # a thread of its own: never behind the requests' worker threads
        answer = await asyncio.get_running_loop().run_in_executor(
            _READY_THREAD, state.readiness.check, state.probe_sessionmaker)
    if answer["ready"]:
        return JSONResponse({"status": "ready", **answer}, headers=_NO_STORE)
    body = {"code": "not_ready", **answer}
    return JSONResponse(body, 503, headers={**_NO_STORE, "Retry-After": "5"})


def _loopback(request: Request, trusted: list[str]) -> bool:
    """A direct call from this machine: a loopback peer that is no listed proxy and forwards
    nothing (a reverse proxy on the same host would make every visitor look local)."""
    peer = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if not address.is_loopback or any(address in ipaddress.ip_network(c, strict=False)
                                      for c in trusted):
        return False
    return not any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip"))


@router.get("/metrics", summary="Metrics in the Prometheus text format",
            description="Who may read it is `TRUCE_API_METRICS_ACCESS`: `admin_or_loopback` "
                        "(default: an admin key, or a direct call from this machine), `admin` "
                        "(an admin key only) or `open`.",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}}, 401: {}, 403: {}})
def metrics(request: Request, settings: SettingsDep, principal: PrincipalDep) -> Response:
    access = settings.api.metrics_access
    allowed = (access == "open" or principal.role is Role.ADMIN
               or (access == "admin_or_loopback"
                   and _loopback(request, settings.security.trusted_proxies)))
    if not allowed:
        where = " or a direct call from this machine" if access == "admin_or_loopback" else ""
        if principal.role is Role.PUBLIC:
            raise UnauthorizedError(f"/metrics needs an admin key{where}")
        raise ForbiddenError(f"a {principal.role.value} key may not read /metrics; it needs an "
                             f"admin key{where}")
    return Response(ops.metrics_text(request.app.state), media_type=CONTENT_TYPE,
                    headers=_NO_STORE)
