"""Values of a raster at a point and statistics inside a polygon, with rio-tiler. Pure: a file
path and lon/lat or a GeoJSON geometry in, numbers out."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.features import bounds as geometry_bounds
from rasterio.warp import transform_bounds
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from rio_tiler.io import Reader
from shapely.errors import ShapelyError
from shapely.geometry import box as shapely_box
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from .tiles import ENV

MAX_PIXELS = 4_000_000  # a polygon covering more native pixels is read from an overview


class OutsideError(ValueError):
    pass


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def point(path: Path, lon: float, lat: float) -> list[float | None]:
    """Each band's value at lon/lat (None where the pixel has no data)."""
    with rasterio.Env(**ENV), Reader(str(path)) as src:
        try:
            found = src.point(lon, lat)
        except PointOutsideBounds as exc:
            raise OutsideError(f"{lon},{lat} is outside the raster") from exc
    data = np.ma.masked_invalid(found.array.astype("float64"))
    return [None if data.mask.ravel()[i] else _number(v) for i, v in enumerate(data.data.ravel())]


def statistics(path: Path, geometry: dict[str, Any]) -> dict[str, Any]:
    """Per band: count of valid pixels, sum, min, max, mean, std, median, 2nd/98th percentiles,
    over the pixels whose centre is inside the geometry (EPSG:4326 GeoJSON). The geometry is
    first clipped to the raster's extent, so a polygon far larger than the raster (the world)
    reads only the raster's own pixels."""
    with rasterio.Env(**ENV), Reader(str(path)) as src:
        extent = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        geometry = _clipped(geometry, (extent[0], extent[1], extent[2], extent[3]))
        feature = {"type": "Feature", "properties": {}, "geometry": geometry}
        try:
            box = _box(src, geometry)
            left, bottom, right, top = src.bounds
            if box[0] >= right or box[2] <= left or box[1] >= top or box[3] <= bottom:
                raise OutsideError("the geometry does not overlap the raster")
            res_x, res_y = src.dataset.res
            window_pixels = abs((box[2] - box[0]) / res_x) * abs((box[3] - box[1]) / res_y)
            max_size = None if window_pixels <= MAX_PIXELS else int(math.sqrt(MAX_PIXELS))
            image = src.feature(feature, max_size=max_size)
        except TileOutsideBounds as exc:
            raise OutsideError("the geometry does not overlap the raster") from exc
        bands = [_band(name, image.array[i]) for i, name in enumerate(image.band_names)]
    return {"bands": bands, "resampled": max_size is not None}


_STATS = ("min", "max", "mean", "std", "median", "percentile_2", "percentile_98")


def _band(name: str, pixels: np.ma.MaskedArray) -> dict[str, Any]:
    """One band's statistics, as rio-tiler's (population std; median and percentiles of the
    inverted CDF, its weighted quantiles with every weight 1), with numpy's linear-time
    selection for the quantiles instead of rio-tiler's three full sorts and its unique()."""
    data = np.ma.masked_invalid(pixels.astype("float64"))
    valid = data.compressed()
    out: dict[str, Any] = {"band": name, "valid_pixels": int(valid.size),
                           "masked_pixels": int(data.size - valid.size), "sum": 0.0}
    if not valid.size:
        return {**out, **dict.fromkeys(_STATS)}
    median, low, high = np.percentile(valid, [50, 2, 98], method="inverted_cdf")
    values = (valid.min(), valid.max(), valid.mean(), valid.std(), median, low, high)
    return {**out, "sum": _number(valid.sum()),
            **{k: _number(v) for k, v in zip(_STATS, values, strict=True)}}


def _clipped(geometry: dict[str, Any], bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """The part of the geometry inside `bounds` (lon/lat); OutsideError when none is."""
    try:
        shaped = shape(geometry)
        if not shaped.is_valid:
            shaped = shaped.buffer(0)
        part = shaped.intersection(shapely_box(*bounds))
    except (ShapelyError, AttributeError) as exc:
        raise ValueError(str(exc)) from None
    if part.is_empty or part.area == 0:
        raise OutsideError("the geometry does not overlap the raster")
    if part.geom_type == "GeometryCollection":  # polygons touching lines or points at the edge
        part = unary_union([g for g in part.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return dict(mapping(part))


def _box(src: Reader, geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """The geometry's bounding box in the raster's CRS."""
    box = transform_bounds("EPSG:4326", src.crs, *geometry_bounds(geometry), densify_pts=21)
    return (box[0], box[1], box[2], box[3])
