"""/analysis/deconfliction: agreement areas in force, settlements and recent aid near a geometry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.routes.analysis_common import (
    AcceptDep,
    Format,
    csv_reply,
    geojson_reply,
    json_reply,
)
from server.schemas import analysis as ex
from server.schemas.analysis import DeconflictionRequest, DeconflictionResponse
from server.services import analysis
from server.services import analysis_output as output

router = APIRouter(prefix="/analysis", tags=["analysis"])


_DECONFLICTION_META = {"at": "2016-03-15T08:00:00+00:00", "distance_m": 2000, "nearby_m": 5000,
                       "recent_days": 14}
_DECONFLICTION_ROWS = [
    {"index": 0, "layer": "areas", **ex.AREA_HIT_EXAMPLE},
    {"index": 0, "layer": "settlements", **ex.SETTLEMENT_EXAMPLE},
    {"index": 0, "layer": "aid_deliveries", **ex.AID_EXAMPLE}]


DECONFLICTION_RESPONSES = ex.responses(
    ex.DECONFLICTION_EXAMPLE,
    geojson={"type": "FeatureCollection", **_DECONFLICTION_META, "features": [
        {"type": "Feature", "id": f"0/{r['layer']}.{r['id']}",
         "geometry": ex.AREA_POLYGON_EXAMPLE if r["layer"] == "areas" else
         {"type": "Point", "coordinates": [r["lon"], r["lat"]]}, "properties": r}
        for r in _DECONFLICTION_ROWS]},
    csv_text=ex.csv_example(_DECONFLICTION_ROWS, output.DECONFLICTION_COLUMNS),
    extra={413: {"description": "more geometries than the batch limit"}})
DECONFLICTION_RESPONSES[200]["model"] = DeconflictionResponse


@router.post(
    "/deconfliction", response_class=Response,
    summary="Deconfliction check: agreement areas in force, settlements and recent aid near a "
            "geometry (or a batch of up to 1,000)",
    description=(analysis.__doc__ or "") + "\n\nAs GeoJSON or CSV: one feature (row) per hit, "
                "with `index` (the input geometry) and `layer` (areas with their polygons, "
                "settlements and aid_deliveries as points).\n\nLimits: at most max_batch "
                "geometries (1,000 by default; more is a 413), max_vertices per geometry and "
                "max_total_vertices in all; distance_m and nearby_m at most max_distance_m; at "
                "most max_rows settlements and max_rows deliveries per request (10,000 by "
                "default), shared by a batch's geometries: a longer list is a 400 (lower "
                "nearby_m or split the batch), never a shortened one.",
    responses=DECONFLICTION_RESPONSES,
)
def deconfliction(body: DeconflictionRequest, session: SessionDep, settings: SettingsDep,
                  f: Format = None, accept: AcceptDep = None) -> Response:
    fmt = output.negotiate(f, accept)
    batch = body.geometries is not None
    geometries: list[Any] = body.geometries if body.geometries is not None else [body.geometry]
    answer = analysis.deconfliction(
        geometries=geometries, batch=batch, at=body.at, distance_m=body.distance_m,
        nearby_m=body.nearby_m, recent_days=body.recent_days, crs=body.crs,
        limits=settings.analysis, session=session)
    if fmt == "json":
        return json_reply(answer)
    meta = {k: answer[k] for k in ("at", "distance_m", "nearby_m", "recent_days", "rule")}
    if fmt == "csv":
        return csv_reply(output.deconfliction_rows(answer), output.DECONFLICTION_COLUMNS,
                         "deconfliction")
    return geojson_reply(output.deconfliction_features(answer, session=session), meta=meta,
                         id_key="fid")
