"""Rasters (e.g. the shaded-relief basemap, population): XYZ PNG/WebP tiles with rescaling and
a colormap, TileJSON, the value at a point and statistics inside a polygon. Rasters come from
settings.raster.sources and from the ETL's `rasters` catalogue."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep, base_url
from server.errors import InvalidQueryError, NotFoundError
from server.raster import query, tiles
from server.routes import caching
from server.services import rasters as service

router = APIRouter(tags=["rasters"])
MEDIA = {"png": "image/png", "webp": "image/webp"}
CACHE = {"Cache-Control": "public, max-age=3600"}
RescaleQuery = Annotated[str | None, Query(
    description="min,max stretched to 0-255 (one pair per band, separated by ';')")]
ColormapQuery = Annotated[str | None, Query(
    description="a rio-tiler colormap name, e.g. viridis, ylorrd (population default)")]
GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}


@router.get("/rasters", summary="The rasters this server serves")
def list_rasters(request: Request, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    base = base_url(request)
    return {"rasters": [
        {"name": r.name, "kind": r.kind,
         "tiles": f"{base}/rasters/{r.name}/tiles/{{z}}/{{x}}/{{y}}.png",
         "tilejson": f"{base}/rasters/{r.name}/tilejson.json",
         "point": f"{base}/rasters/{r.name}/point", "statistics": f"{base}/rasters/{r.name}/statistics"}
        for r in service.available(settings, session=session)
    ], "colormaps": tiles.colormaps()}


@router.get("/rasters/{name}/tiles/{z}/{x}/{y}.{fmt}", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/webp": {}}}, 204: {}},
            summary="An XYZ raster tile")
async def get_raster_tile(
    name: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    fmt: str,
    rescale: RescaleQuery = None,
    colormap_name: ColormapQuery = None,
) -> Response:
    if fmt not in MEDIA:
        raise InvalidQueryError("tile format must be png or webp")
    if x >= 2**z or y >= 2**z:
        raise InvalidQueryError(f"tile {z}/{x}/{y} does not exist")
    r = service.get(name, settings, session=session)
    ranges, cmap = service.style(r, rescale, colormap_name)
    # rendered once, then from memory; revalidated by an ETag of what shapes the tile
    rendered = _rendered(request)
    key = rendered.key(r.path, z, x, y, fmt, ranges, cmap)
    headers = {**CACHE, "ETag": rendered.etag(key)}
    if caching.matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    data = rendered.get(key)
    if data is None:
        try:
            data = await run_in_threadpool(tiles.tile, r.path, z, x, y, fmt=fmt.upper(),
                                           rescale=ranges, colormap_name=cmap)
        except tiles.OutsideBoundsError:
            data = b""
        rendered.put(key, data)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MEDIA[fmt], headers=headers)


def _rendered(request: Request) -> tiles.RenderedTiles:
    found = getattr(request.app.state, "raster_tiles", None)
    if found is None:
        found = request.app.state.raster_tiles = tiles.RenderedTiles()
    return found  # type: ignore[no-any-return]


@router.get("/rasters/{name}/tilejson.json", summary="TileJSON 3.0 for a raster")
def get_raster_tilejson(name: str, request: Request, session: SessionDep,
                        settings: SettingsDep, rescale: RescaleQuery = None,
                        colormap_name: ColormapQuery = None) -> dict[str, Any]:
    r = service.get(name, settings, session=session)
    service.style(r, rescale, colormap_name)
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k in ("rescale", "colormap_name")]
    return service.tilejson(r, base=base_url(request), query=urlencode(keep))


@router.get("/rasters/{name}/point", summary="Each band's value at a point (lon/lat)")
async def get_raster_point(
    name: str, session: SessionDep, settings: SettingsDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    r = service.get(name, settings, session=session)
    try:
        values = await run_in_threadpool(query.point, r.path, lon, lat)
    except query.OutsideError as exc:
        raise NotFoundError(str(exc)) from None
    return {"raster": r.name, "coordinates": [lon, lat], "values": values}


@router.post("/rasters/{name}/statistics",
             summary="Statistics of each band inside a GeoJSON (Multi)Polygon (EPSG:4326)",
             description="Over the pixels whose centre is inside the polygon, clipped to the "
                         "raster's extent first. A polygon covering more than 4,000,000 native "
                         "pixels is read at a coarser resolution (`resampled`: true), so every "
                         "answer reads a bounded number of pixels.")
async def post_raster_statistics(
    name: str, session: SessionDep, settings: SettingsDep,
    body: Annotated[dict[str, Any], Body(description="a GeoJSON geometry or Feature")],
) -> dict[str, Any]:
    geometry = body.get("geometry") if body.get("type") == "Feature" else body
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES \
            or not isinstance(geometry.get("coordinates"), list):
        raise InvalidQueryError("the body must be a GeoJSON Polygon or MultiPolygon "
                                "(or a Feature with one), in lon/lat")
    r = service.get(name, settings, session=session)
    try:
        stats = await run_in_threadpool(query.statistics, r.path, geometry)
    except query.OutsideError as exc:
        raise NotFoundError(str(exc)) from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidQueryError(f"unusable geometry: {exc}") from None
    return {"raster": r.name, **stats}
