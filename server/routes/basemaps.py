"""Basemaps: the shipped vector basemap and operator-added PMTiles extracts, as XYZ vector tiles
with TileJSON, plus the SDF glyph ranges their labels are drawn with. All from local files."""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server import basemaps
from server.deps import SettingsDep, base_url
from server.errors import NotFoundError
from server.settings import Settings

router = APIRouter(tags=["basemaps"])
MVT = "application/vnd.mapbox-vector-tile"
PBF = "application/x-protobuf"
CACHE = {"Cache-Control": "public, max-age=86400"}
FONTS = FilePath("basemap") / "fonts"
RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")
NameParam = Annotated[str, Path(description="basemap name (see /basemaps)",
                                pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


def _catalogue(settings: Settings) -> dict[str, basemaps.Basemap]:
    return basemaps.catalogue(settings.api.web_dir, settings.basemap.directory)


def _get(settings: Settings, name: str) -> basemaps.Basemap:
    found = _catalogue(settings).get(name)
    if found is None:
        raise NotFoundError(f"no basemap named {name!r}; see /basemaps")
    return found


def _entry(base: str, b: basemaps.Basemap) -> dict[str, Any]:
    return {"name": b.name, "shipped": b.shipped, "default": b.name == basemaps.SHIPPED,
            "min_zoom": b.min_zoom, "max_zoom": b.max_zoom, "bounds": list(b.bounds),
            "attribution": b.attribution, "vector_layers": list(b.vector_layers),
            "tilejson": f"{base}/basemaps/{b.name}/tilejson.json"}


@router.get("/basemaps", summary="The basemaps this server serves (vector tiles, local files)")
async def list_basemaps(request: Request, settings: SettingsDep) -> dict[str, Any]:
    base = base_url(request)
    found = await run_in_threadpool(_catalogue, settings)
    return {"basemaps": [_entry(base, b) for b in found.values()],
            "glyphs": f"{base}/basemaps/fonts/{{fontstack}}/{{range}}.pbf"}


@router.get("/basemaps/{name}/tilejson.json", summary="TileJSON of a basemap")
async def basemap_tilejson(name: NameParam, request: Request, settings: SettingsDep) -> dict[str, Any]:
    b = await run_in_threadpool(_get, settings, name)
    base = base_url(request)
    return {"tilejson": "3.0.0", "name": b.name, "attribution": b.attribution,
            "tiles": [f"{base}/basemaps/{b.name}/tiles/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": b.min_zoom, "maxzoom": b.max_zoom, "bounds": list(b.bounds),
            "center": list(b.center), "vector_layers": [{"id": i, "fields": {}} for i in b.vector_layers]}


@router.get("/basemaps/{name}/tiles/{z}/{x}/{y}.mvt", summary="A basemap vector tile; 204 when empty",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}})
async def basemap_tile(name: NameParam, z: Annotated[int, Path(ge=0, le=24)],
                       x: Annotated[int, Path(ge=0)], y: Annotated[int, Path(ge=0)],
                       settings: SettingsDep) -> Response:
    b = await run_in_threadpool(_get, settings, name)
    if x >= 2**z or y >= 2**z:
        raise NotFoundError(f"tile {z}/{x}/{y} is outside the tile matrix")
    data = await run_in_threadpool(basemaps.tile, b, z, x, y)
    if not data:
        return Response(status_code=204, headers=CACHE)
    return Response(data, media_type=MVT, headers=CACHE)


@router.get("/basemaps/fonts/{fontstack}/{glyph_range}.pbf",
            summary="SDF glyphs of a font for a range of 256 code points (empty when the font has none)",
            responses={200: {"content": {PBF: {}}}})
async def glyphs(fontstack: Annotated[str, Path(pattern=r"^[A-Za-z0-9 ,_-]{1,120}$")],
                 glyph_range: Annotated[str, Path(pattern=r"^\d{1,5}-\d{1,5}$")],
                 settings: SettingsDep) -> Response:
    m = RANGE.match(glyph_range)
    assert m is not None
    start, end = int(m.group(1)), int(m.group(2))
    if start % 256 or end != start + 255 or end > 65535:
        raise NotFoundError(f"{glyph_range} is not a glyph range (N*256 to N*256+255)")
    folder = FilePath(settings.api.web_dir or "") / FONTS
    available = {p.name for p in folder.iterdir()} if settings.api.web_dir and folder.is_dir() else set()
    # a font stack "A,B": the first font that has a file for the range
    for font in (f.strip() for f in fontstack.split(",")):
        if font in available:
            path = folder / font / f"{start}-{end}.pbf"
            if path.is_file():
                return Response(path.read_bytes(), media_type=PBF, headers=CACHE)
    # no glyphs for the range: an empty glyph set (MapLibre draws nothing rather than failing)
    name = fontstack.encode()
    rng = glyph_range.encode()
    stack = b"\x0a" + bytes([len(name)]) + name + b"\x12" + bytes([len(rng)]) + rng
    return Response(b"\x0a" + bytes([len(stack)]) + stack, media_type=PBF, headers=CACHE)
