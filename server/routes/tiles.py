"""Vector tiles (OGC API - Tiles, WebMercatorQuad) built by ST_AsMVT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.errors import InvalidQueryError
from server.params import parse_datetime
from server.queries.features import ItemQuery
from server.queries.tiles import mvt_tile
from server.services import features

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
    response_class=Response, responses={200: {"content": {MVT: {}}}, 204: {}},
    summary="A vector tile (z/row/col); 204 when empty",
)
def get_tile(
    collection_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    z: Annotated[int, Path(ge=0, le=24)],
    y: Annotated[int, Path(ge=0)],
    x: Annotated[int, Path(ge=0)],
    datetime: Annotated[str | None, Query()] = None,
) -> Response:
    if z > settings.api.tile_max_zoom:
        raise InvalidQueryError(f"zoom must be at most {settings.api.tile_max_zoom}")
    if x >= 2**z or y >= 2**z:
        raise InvalidQueryError(f"tile {z}/{y}/{x} is outside the WebMercatorQuad matrix")
    c = features.collection(collection_id)
    start, end = parse_datetime(datetime)
    query = ItemQuery(start=start, end=end,
                      equals=features.property_filters(c, dict(request.query_params)))
    data = mvt_tile(c, z, x, y, query, cap=settings.api.tile_feature_cap, session=session)
    headers = {"Cache-Control": "public, max-age=60"}
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
