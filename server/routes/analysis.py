"""/analysis/: the planners' questions across layers and time. Thin: parse, call a service, reply
as JSON, GeoJSON (`f=geojson`) or CSV (`f=csv`)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.schemas.analysis import DeconflictionRequest, DeconflictionResponse
from server.services import analysis
from server.services.analysis_input import json_default

router = APIRouter(prefix="/analysis", tags=["analysis"])
JSON = "application/json"


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body, default=json_default), media_type=JSON)


@router.post(
    "/deconfliction", response_class=Response,
    summary="Deconfliction check: agreement areas in force, settlements and recent aid near a "
            "geometry (or a batch of up to 1,000)",
    description=analysis.__doc__ or "",
    responses={200: {"model": DeconflictionResponse}, 400: {}, 413: {}},
)
def deconfliction(body: DeconflictionRequest, session: SessionDep,
                  settings: SettingsDep) -> Response:
    batch = body.geometries is not None
    geometries: list[Any] = body.geometries if body.geometries is not None else [body.geometry]
    return _json(analysis.deconfliction(
        geometries=geometries, batch=batch, at=body.at, distance_m=body.distance_m,
        nearby_m=body.nearby_m, recent_days=body.recent_days, crs=body.crs,
        limits=settings.analysis, session=session))
