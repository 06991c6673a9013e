"""Which rasters this server serves and how: the configured sources (settings.raster.sources)
and the ETL catalogue, configured names first; style defaults per kind. No SQL, no FastAPI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from server.errors import InvalidQueryError, NotFoundError
from server.queries import rasters as q
from server.raster import tiles
from server.settings import Settings

DEFAULT_COLORMAP = {"population": "ylorrd"}


@dataclass(frozen=True)
class Raster:
    name: str
    path: Path
    kind: str | None  # from the catalogue; None for configured files


def available(settings: Settings, *, session: Session) -> list[Raster]:
    found = {name: Raster(name, Path(path), None)
             for name, path in settings.raster.sources.items()}
    for r in q.list_(session=session):
        found.setdefault(r.name, Raster(r.name, Path(r.path), r.kind))
    return [found[n] for n in sorted(found)]


def get(name: str, settings: Settings, *, session: Session) -> Raster:
    if name in settings.raster.sources:
        return Raster(name, Path(settings.raster.sources[name]), None)
    row = q.get(name, session=session)
    if row is None or not Path(row.path).exists():
        raise NotFoundError(f"no raster {name!r}; see /rasters",
                            rasters=[r.name for r in available(settings, session=session)])
    return Raster(row.name, Path(row.path), row.kind)


def style(r: Raster, rescale: str | None, colormap_name: str | None
          ) -> tuple[list[tuple[float, float]] | None, str | None]:
    """Parse `rescale=min,max[;min,max...]` (or repeated per band) and the colormap name; a
    population raster gets a colormap by default."""
    ranges = None
    if rescale:
        try:
            ranges = []
            for part in rescale.replace(";", "|").split("|"):
                low, high = (float(v) for v in part.split(","))
                ranges.append((low, high))
        except ValueError:
            raise InvalidQueryError("rescale must be min,max (numbers), e.g. rescale=0,500"
                                    ) from None
    name = colormap_name or DEFAULT_COLORMAP.get(r.kind or "")
    try:
        tiles.check_style(ranges, name)
    except tiles.BadStyleError as exc:
        raise InvalidQueryError(str(exc), colormaps=tiles.colormaps()) from None
    return ranges, name


def tilejson(r: Raster, *, base: str, query: str) -> dict[str, Any]:
    west, south, east, north = tiles.bounds(r.path)
    minzoom, maxzoom = tiles.zooms(r.path)
    suffix = f"?{query}" if query else ""
    return {
        "tilejson": "3.0.0", "name": r.name, "scheme": "xyz",
        "tiles": [f"{base}/rasters/{r.name}/tiles/{{z}}/{{x}}/{{y}}.png{suffix}"],
        "minzoom": minzoom, "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, minzoom],
    }
