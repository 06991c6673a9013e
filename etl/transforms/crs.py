"""Coordinates that are not lon/lat: told from what a run's points looked like
(checks.CoordinateTally), and turned into lon/lat when the user names their CRS (`--crs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl.records import AreaOfInterest

from .checks import CoordinateTally

# The projections a file not in lon/lat is most often in, tried in this order: Web Mercator
# (web maps' exports), World Mercator, UTM zones 36-38 north (the Levant and Mesopotamia).
KNOWN = (3857, 3395, 32636, 32637, 32638, 32635, 32639)
#: the share of the sampled points a projection must bring inside for it to explain them
EXPLAINS = 0.9


def parse(value: str) -> int:
    """`EPSG:3857` (or `3857`) -> 3857; ValueError naming the form expected."""
    raw = value.strip().upper().removeprefix("EPSG:")
    if not raw.isdecimal():
        raise ValueError(f"--crs {value!r}: give an EPSG code, e.g. --crs EPSG:3857")
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_epsg(int(raw))
    except CRSError:
        raise ValueError(f"--crs {value!r}: no such EPSG code") from None
    return int(raw)


def to_lon_lat(srid: int) -> Callable[[float, float], tuple[float, float]]:
    """(x, y) in EPSG:`srid` -> (lon, lat)."""
    from pyproj import Transformer

    transformer = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)

    def convert(x: float, y: float) -> tuple[float, float]:
        lon, lat = transformer.transform(x, y)
        return float(lon), float(lat)

    return convert


def _inside(aoi: AreaOfInterest | None, lon: Any, lat: Any) -> Any:
    import numpy as np
    import shapely

    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if aoi is None:
        return ok
    return ok & shapely.intersects_xy(aoi.geom("outer"), np.nan_to_num(lon), np.nan_to_num(lat))


def guess(samples: list[tuple[float, float]], aoi: AreaOfInterest | None) -> int | None:
    """The first known projection that puts nearly all `samples` inside the area (in lon/lat
    range when everywhere), else None."""
    if not samples:
        return None
    import numpy as np
    from pyproj import Transformer

    xy = np.array(samples, dtype=float)
    for srid in KNOWN:
        transformer = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
        if float(np.mean(_inside(aoi, np.asarray(lon), np.asarray(lat)))) >= EXPLAINS:
            return srid
    return None


def problem(tally: CoordinateTally, aoi: AreaOfInterest | None, name: str, read: int
            ) -> str | None:
    """Why the file's coordinates are not lon/lat, naming `--crs EPSG:XXXX`, or None: every point
    beyond lon/lat, or every point outside the area of interest as a known projection explains,
    in a file whose rows (at least half of the `read`) mostly give coordinates (rows placed by
    name do not count: a typo among them is only that row's problem)."""
    bad = tally.out_of_range + tally.outside
    if tally.judged == 0 or bad < tally.judged or tally.judged * 2 < read:
        return None
    srid = guess(tally.samples, aoi)
    if srid is not None:
        return (f"{name}: its coordinates are not lon/lat: they read as EPSG:{srid} "
                f"({'metres' if srid != 4326 else 'degrees'}); nothing was loaded. Load it with "
                f"--crs EPSG:{srid}")
    if tally.out_of_range == tally.judged:
        return (f"{name}: its coordinates are not lon/lat (every point is beyond "
                "[-180,180]x[-90,90]); nothing was loaded. Load it with --crs EPSG:XXXX, the "
                "code of the file's coordinate system")
    return None
