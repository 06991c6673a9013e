"""/analysis/: the planners' questions across layers and time. Thin routes, one module per theme
(deconfliction, areas, aid, patterns, places), each parsing its parameters, calling a service and
replying as JSON, GeoJSON or CSV, chosen by `f=json|geojson|csv` or else the Accept header (see
server.services.analysis_output). This module joins them into one router."""

from __future__ import annotations

from fastapi import APIRouter

from server.routes import (
    analysis_aid,
    analysis_areas,
    analysis_deconfliction,
    analysis_duplicates,
    analysis_patterns,
    analysis_places,
)

router = APIRouter()
for _module in (analysis_deconfliction, analysis_areas, analysis_aid, analysis_patterns,
                analysis_places, analysis_duplicates):
    router.include_router(_module.router)
