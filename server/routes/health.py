"""GET /health: database reachable, PostGIS version, rows per layer (those the caller may see)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from server.db.collections import COLLECTIONS
from server.deps import PolicyDep, SessionDep
from server.queries import health
from server.security.dependencies import VARY, PrincipalDep
from server.security.release import release_for

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version and row counts per layer",
            description="The counts are of the rows the caller may see: without a key, released "
                        "incidents only (as on every other output path).")
def get_health(session: SessionDep, policy: PolicyDep, principal: PrincipalDep,
               response: Response) -> dict[str, Any]:
    releases = {c: release_for(principal, c, policy) for c in COLLECTIONS}
    response.headers["Vary"] = VARY
    return {
        "status": "ok",
        "database": "reachable",
        "postgis": health.postgis_version(session=session),
        "layers": health.row_counts(releases, session=session),
    }
