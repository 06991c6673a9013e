"""GET /health: database reachable, PostGIS version, rows per layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.deps import SessionDep
from server.queries import health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version and row counts per layer")
def get_health(session: SessionDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "database": "reachable",
        "postgis": health.postgis_version(session=session),
        "layers": health.row_counts(session=session),
    }
