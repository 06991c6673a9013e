"""Partner feeds and history: /collections/{id}/changes, /feeds/incidents.atom, and
/collections/{id}/items/{fid}/history (analysts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from server.deps import PolicyDep, SessionDep, base_url
from server.params import DateTime
from server.security.dependencies import PrincipalDep, require_roles
from server.security.principal import Principal, Role
from server.services import audit, changes

router = APIRouter(tags=["feeds and history"])
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.ADMIN))]


@router.get("/collections/{collection_id}/changes", response_class=Response,
            summary="Changes since a cursor: created, updated and deleted (tombstone) features "
            "as this key may see them; follow `next` to keep a mirror exact",
            responses={200: {"content": {"application/json": {}}}})
def get_changes(
    collection_id: str, request: Request, principal: PrincipalDep, policy: PolicyDep,
    session: SessionDep,
    since: Annotated[int, Query(ge=0, le=2**62, description="the `next` of the last page; "
                                                           "0 for everything")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> Response:
    body = changes.changes(collection_id, principal, policy, since=since,
                           limit=limit, base_url=f"{base_url(request)}/collections/{collection_id}"
                           "/changes", session=session)
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "no-store", "Vary": "Authorization, X-API-Key"})


@router.get("/feeds/incidents.atom", response_class=Response,
            summary="Atom (GeoRSS) feed of the newest incidents released to this key",
            responses={200: {"content": {"application/atom+xml": {}}}})
def incidents_atom(request: Request, principal: PrincipalDep, policy: PolicyDep,
                   session: SessionDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    body = changes.atom(principal, policy, limit=limit,
                        base_url=base_url(request), session=session)
    return Response(body, media_type="application/atom+xml",
                    headers={"Cache-Control": "no-cache", "Vary": "Authorization, X-API-Key"})


@router.get("/collections/{collection_id}/items/{feature_id}/history",
            summary="A feature's recorded changes (who, when, before, after); with asof, "
            "its state at that time (analysts)")
def feature_history(
    collection_id: str, feature_id: str, principal: Analyst, session: SessionDep,
    asof: Annotated[DateTime | None, Query(description="e.g. 2016-03-01T00:00:00Z")] = None,
) -> dict[str, Any]:
    return audit.history(collection_id, feature_id, asof, session=session)
