"""The area of interest of a load: a polygon, buffered, that rows must lie in.

TRUCE_ETL_AREA_OF_INTEREST says which: unset, the loaded admin level 0 areas (the country);
admin P-codes (`SY,LB`, any level), the union of those areas; a GeoJSON file (a geometry, a
Feature or a FeatureCollection in lon/lat), its geometries; or `everywhere` (no check). The
polygon is buffered by TRUCE_ETL_AREA_OF_INTEREST_BUFFER_KM (default 5): a point within that
distance of the border is inside. With no admin level 0 area loaded and nothing configured the
load checks nothing (everywhere) and says so in its warnings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from etl.records import AreaOfInterest
from etl.sources.tabular import SourceError

EVERYWHERE = "everywhere"
NO_COUNTRY = ("no admin level 0 area is loaded, so rows are not checked against an area of "
              "interest: load the country boundary (truce etl load --layer admin_areas) or set "
              "TRUCE_ETL_AREA_OF_INTEREST")

_cache: dict[Any, AreaOfInterest] = {}


def _from_file(path: Path) -> bytes:
    import shapely
    from shapely.geometry import shape

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if data.get("type") == "FeatureCollection":
            shapes = [shape(f["geometry"]) for f in data.get("features") or [] if f.get("geometry")]
        elif data.get("type") == "Feature":
            shapes = [shape(data["geometry"])]
        else:
            shapes = [shape(data)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(f"TRUCE_ETL_AREA_OF_INTEREST={path}: not a GeoJSON polygon file "
                          f"({exc}); give admin P-codes, a GeoJSON file or `everywhere`") from exc
    geom = shapely.union_all(shapes) if shapes else None
    if geom is None or geom.is_empty or geom.area <= 0:
        raise SourceError(f"TRUCE_ETL_AREA_OF_INTEREST={path}: holds no polygon")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise SourceError(f"TRUCE_ETL_AREA_OF_INTEREST={path}: its coordinates are not lon/lat")
    return bytes(shapely.to_wkb(shapely.make_valid(geom)))


_BUFFERED = """
    SELECT ST_AsBinary(g.core), ST_AsBinary(ST_Buffer(g.core::geography, :m)::geometry),
           ST_AsBinary(CASE WHEN :m > 0 THEN ST_Buffer(g.core::geography, -:m)::geometry
                            ELSE g.core END)
    FROM (SELECT {core} AS core) g WHERE g.core IS NOT NULL AND NOT ST_IsEmpty(g.core)
"""


def resolve(conn: Connection, setting: str | None, buffer_km: float
            ) -> tuple[AreaOfInterest | None, str | None]:
    """The area of interest (None: everywhere) and a warning to give, if any. SourceError for a
    setting that names nothing usable (unknown P-codes, a file that is not a polygon)."""
    value = (setting or "").strip()
    if value.lower() == EVERYWHERE:
        return None, None
    meters = max(0.0, buffer_km) * 1000.0
    params: dict[str, Any] = {"m": meters}
    if not value:
        stamp = conn.execute(text(
            "SELECT count(*), max(updated_at), max(id) FROM admin_areas WHERE admin_level = 0")
        ).one()
        if not stamp[0]:
            return None, NO_COUNTRY
        core = "(SELECT ST_Union(geom) FROM admin_areas WHERE admin_level = 0)"
        key: Any = ("admin0", tuple(stamp), meters)
        label = "the loaded admin level 0 areas"
    elif value.lower().endswith((".json", ".geojson")) or Path(value).is_file():
        path = Path(value)
        params["wkb"] = _from_file(path)
        core = "ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)"
        key = ("file", bytes(params["wkb"]), meters)
        label = str(path)
    else:
        pcodes = sorted({p.strip() for p in value.split(",") if p.strip()})
        found = set(conn.execute(text("SELECT pcode FROM admin_areas WHERE pcode = ANY(:p)"),
                                 {"p": pcodes}).scalars())
        unknown = [p for p in pcodes if p not in found]
        if unknown:
            raise SourceError(f"TRUCE_ETL_AREA_OF_INTEREST names admin areas that are not loaded: "
                              f"{', '.join(unknown)}; load them, or give a GeoJSON file or "
                              "`everywhere`")
        params["p"] = pcodes
        core = "(SELECT ST_Union(geom) FROM admin_areas WHERE pcode = ANY(:p))"
        stamp = conn.execute(text("SELECT max(updated_at), max(id) FROM admin_areas "
                                  "WHERE pcode = ANY(:p)"), params).one()
        key = ("pcodes", tuple(pcodes), tuple(stamp), meters)
        label = ", ".join(pcodes)
    cached = _cache.get(key)
    if cached is not None:
        return cached, None
    row = conn.execute(text(_BUFFERED.format(core=core)), params).one()  # noqa: S608 - constants
    area = AreaOfInterest(bytes(row[0]), bytes(row[1]), bytes(row[2]), buffer_km, label)
    _cache.clear()
    _cache[key] = area
    return area, None
