"""Raster tiles (XYZ PNG/WebP) from the configured rasters, e.g. the shaded-relief basemap."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.deps import SettingsDep
from server.errors import InvalidQueryError, NotFoundError
from server.raster import tiles

router = APIRouter(tags=["rasters"])
MEDIA = {"png": "image/png", "webp": "image/webp"}


def _raster(name: str, settings: Any) -> FilePath:
    path = settings.raster.sources.get(name)
    if path is None:
        raise NotFoundError(f"no raster {name!r}", rasters=sorted(settings.raster.sources))
    return FilePath(path)


@router.get("/rasters", summary="The rasters this server tiles")
def list_rasters(request: Request, settings: SettingsDep) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {"rasters": [
        {"name": name, "tiles": f"{base}/rasters/{name}/tiles/{{z}}/{{x}}/{{y}}.png"}
        for name in sorted(settings.raster.sources)
    ]}


@router.get("/rasters/{name}/tiles/{z}/{x}/{y}.{fmt}", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/webp": {}}}, 204: {}},
            summary="An XYZ raster tile")
async def get_raster_tile(
    name: str,
    settings: SettingsDep,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    fmt: str,
) -> Response:
    if fmt not in MEDIA:
        raise InvalidQueryError("tile format must be png or webp")
    if x >= 2**z or y >= 2**z:
        raise InvalidQueryError(f"tile {z}/{x}/{y} does not exist")
    path = _raster(name, settings)
    try:
        data = await run_in_threadpool(tiles.tile, path, z, x, y, fmt=fmt.upper())
    except tiles.OutsideBoundsError:
        return Response(status_code=204)
    return Response(data, media_type=MEDIA[fmt], headers={"Cache-Control": "public, max-age=3600"})
