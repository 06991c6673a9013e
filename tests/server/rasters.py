"""Small GeoTIFFs written for the tests: a population grid with a nodata corner, and a uniform
population around 40E 33N."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

# 100 x 100 pixels of 0.01 degree over lon 36..37, lat 34..35; value = 1 + column index;
# the 10 x 10 block at the top-left corner is nodata
NODATA = -1.0


def population_grid(path: Path) -> Path:
    data = np.tile(np.arange(1, 101, dtype="float32"), (100, 1))
    data[:10, :10] = NODATA
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=NODATA,
                       transform=from_origin(36.0, 35.0, 0.01, 0.01)) as dst:
        dst.write(data, 1)
    return path


def uniform_population(path: Path) -> Path:
    """1 person per 0.01 degree pixel over 39.8..40.2 E, 32.8..33.2 N."""
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(39.8, 33.2, 0.01, 0.01),
                       nodata=-1) as dst:
        dst.write(np.ones((1, 40, 40), dtype="float32"))
        dst.update_tags(DATE="2016-01-01")
    return path
