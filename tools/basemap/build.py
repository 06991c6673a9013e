"""Build the shipped offline basemap (web/static/basemap/truce-region.pmtiles) from vendored data.

    .venv/bin/python tools/basemap/build.py        (or `make basemap`)

Inputs, all in the repository: tools/basemap/data/ (Natural Earth countries and borders, WDB II
rivers, GSHHG lakes: see its SOURCE.md), the OCHA COD-AB governorates and the GeoNames places in
etl/sample/. Names come from the same rule the ETL uses (etl/place_names.py), cross-checked with
OCHA's Arabic names where a place is the seat of a district of the same name. Tiles are made by
GDAL's MVT driver (ogr2ogr, into MBTiles) and repacked as PMTiles (the `pmtiles` package).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pmtiles.convert import mbtiles_to_pmtiles
from shapely.geometry import Point, box

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from etl.gazetteer import name_key  # noqa: E402
from etl.place_names import arabic_name, capitals, russian_name  # noqa: E402

DATA = Path(__file__).parent / "data"
SAMPLE = ROOT / "etl" / "sample"
OUT = ROOT / "web" / "static" / "basemap" / "truce-region.pmtiles"
BBOX = (24.0, 26.0, 52.0, 44.0)
MAXZOOM = 10

#: (min population, first zoom); governorate capitals from zoom 4.
PLACE_CLASSES = [(200_000, 5), (50_000, 6), (15_000, 7), (3_000, 8), (0, 9)]
#: the neighbouring countries' cities: (min population, first zoom); national capitals from zoom 4.
NEIGHBOUR_CLASSES = [(1_000_000, 5), (300_000, 6), (100_000, 7)]


def _countries() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    names = {r["name"]: r for r in csv.DictReader((DATA / "country_names.csv").open(encoding="utf-8"))}
    c = gpd.read_file(DATA / "countries.geojson").clip(box(*BBOX))
    c = c[~c.geometry.is_empty]
    c["name_en"] = c["name"]
    c["name_ar"] = [names.get(n, {}).get("name_ar") for n in c["name"]]
    c["name_ru"] = [names.get(n, {}).get("name_ru") for n in c["name"]]
    polys = c[["name_en", "name_ar", "name_ru", "geometry"]].copy()
    labels = polys.copy()
    metric = labels.to_crs(3857)
    labels["area"] = metric.geometry.area
    # a country's label at its largest part's inner point, or where the table puts it (Lebanon's
    # would sit on Beirut and hide the city's name)
    labels["geometry"] = [
        Point(float(names[n]["label_lon"]), float(names[n]["label_lat"]))
        if names.get(n, {}).get("label_lon") else
        max(getattr(g, "geoms", [g]), key=lambda p: p.area).representative_point()
        for n, g in zip(labels["name_en"], labels.geometry, strict=True)]
    labels = labels[labels["area"] > 2e9].drop(columns="area")
    return polys, labels


def _governorates() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    adm1 = gpd.read_file(SAMPLE / "cod_ab" / "syr_admin1.shp")
    lines = gpd.GeoDataFrame({"pcode": adm1["PCODE"]}, geometry=adm1.geometry.boundary, crs=adm1.crs)
    with (SAMPLE / "geonames" / "governorate_capitals.csv").open(encoding="utf-8") as f:
        russian = {r["pcode"]: r["governorate_ru"] for r in csv.DictReader(f)}
    labels = gpd.GeoDataFrame({"pcode": adm1["PCODE"], "name_en": adm1["NAME_EN"], "name_ar": adm1["NAME_AR"],
                               "name_ru": [russian.get(c) for c in adm1["PCODE"]]},
                              geometry=adm1.geometry.representative_point(), crs=adm1.crs)
    adm2 = gpd.read_file(SAMPLE / "cod_ab" / "syr_admin2.shp")
    return lines, labels, adm2


def _places(adm2: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    caps = capitals()
    rows = []
    with (SAMPLE / "geonames" / "sy_cities500_geonames.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            alts = [a for a in r["alternatenames"].split("|") if a]
            cap = caps.get(r["geonameid"])
            pt = Point(float(r["longitude"]), float(r["latitude"]))
            official_ar = cap["name_ar"] if cap else None
            if official_ar is None:  # the seat of the district of the same name: OCHA's Arabic name
                hit = adm2[adm2.contains(pt)]
                if len(hit) and name_key(str(hit.iloc[0]["NAME_EN"])) == name_key(r["name"]):
                    official_ar = str(hit.iloc[0]["NAME_AR"])
            rows.append({
                "name_en": cap["name_en"] if cap else r["name"],
                "name_ar": arabic_name(alts, official=official_ar, main=r["name"]),
                "name_ru": russian_name(alts, official=cap["name_ru"] if cap else None, main=r["name"]),
                "population": int(r["population"] or 0),
                "capital": 1 if cap else 0,
                "abroad": 0,
                "geometry": pt,
            })
    return gpd.GeoDataFrame(rows, crs=4326)


def _neighbour_places() -> gpd.GeoDataFrame:
    """The neighbouring countries' cities (tools/basemap/data/neighbour_places.csv), named by the
    same rule as Syria's places, a curated table (neighbour_names.csv) winning for capitals and
    the largest cities. A city GeoNames gives no Arabic or no Russian name is left out: those are
    city districts and suburbs that GeoNames lists as cities of their own."""
    with (DATA / "neighbour_names.csv").open(encoding="utf-8") as f:
        curated = {r["geonameid"]: r for r in csv.DictReader(f)}
    rows = []
    with (DATA / "neighbour_places.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            fixed = curated.get(r["geonameid"])
            if fixed and fixed["show"] != "1":
                continue
            alts = [a for a in r["alternatenames"].split("|") if a]
            name_ar = arabic_name(alts, official=fixed["name_ar"] if fixed else None, main=r["name"])
            name_ru = russian_name(alts, official=fixed["name_ru"] if fixed else None, main=r["name"])
            if not (name_ar and name_ru):
                continue
            rows.append({"name_en": r["name"], "name_ar": name_ar, "name_ru": name_ru,
                         "population": int(r["population"]), "capital": 0, "abroad": 1,
                         "national_capital": int(r["capital"]),
                         "geometry": Point(float(r["longitude"]), float(r["latitude"]))})
    return gpd.GeoDataFrame(rows, crs=4326)


def build(out: Path = OUT) -> Path:
    countries, country_labels = _countries()
    gov_lines, gov_labels, adm2 = _governorates()
    places = _places(adm2)
    rivers = gpd.read_file(DATA / "rivers.geojson").clip(box(*BBOX))
    lakes = gpd.read_file(DATA / "lakes.geojson").clip(box(*BBOX))
    borders = gpd.read_file(DATA / "borders.geojson").clip(box(*BBOX))
    land = gpd.GeoDataFrame(geometry=[countries.geometry.union_all()], crs=4326)
    # the sea as a polygon too, in the water layer: drawn above the relief picture, it hides the
    # picture's edges offshore
    sea = gpd.GeoDataFrame(geometry=[box(*BBOX).difference(land.geometry.iloc[0])], crs=4326)
    water = gpd.GeoDataFrame(pd.concat([sea, lakes[["geometry"]]], ignore_index=True), crs=4326)
    layers: dict[str, tuple[gpd.GeoDataFrame, str, int, int]] = {
        "land": (land, "land", 0, MAXZOOM),
        "countries": (countries, "countries", 0, MAXZOOM),
        "water": (water, "water", 0, MAXZOOM),
        "rivers": (rivers, "rivers", 5, MAXZOOM),
        "borders": (borders, "borders", 0, MAXZOOM),
        "governorates": (gov_lines, "governorates", 4, MAXZOOM),
        "country_labels": (country_labels, "country_labels", 2, MAXZOOM),
        "governorate_labels": (gov_labels, "governorate_labels", 6, MAXZOOM),
    }
    caps = places[places["capital"] == 1]
    layers["places_capitals"] = (caps, "places", 4, MAXZOOM)
    rest = places[places["capital"] == 0]
    upper = None
    for i, (least, zoom) in enumerate(PLACE_CLASSES):
        part = rest[rest["population"] >= least]
        if upper is not None:
            part = part[part["population"] < upper]
        layers[f"places_{i}"] = (part, "places", zoom, MAXZOOM)
        upper = least
    abroad = _neighbour_places()
    layers["places_abroad_capitals"] = (abroad[abroad["national_capital"] == 1].drop(
        columns="national_capital"), "places", 4, MAXZOOM)
    rest_abroad = abroad[abroad["national_capital"] == 0].drop(columns="national_capital")
    upper = None
    for i, (least, zoom) in enumerate(NEIGHBOUR_CLASSES):
        part = rest_abroad[rest_abroad["population"] >= least]
        if upper is not None:
            part = part[part["population"] < upper]
        layers[f"places_abroad_{i}"] = (part, "places", zoom, MAXZOOM)
        upper = least
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = Path(tmp) / "basemap.gpkg"
        conf = {}
        for name, (frame, target, minzoom, maxzoom) in layers.items():
            frame = frame.to_crs(4326)
            frame.to_file(gpkg, layer=name, driver="GPKG")
            conf[name] = {"target_name": target, "minzoom": minzoom, "maxzoom": maxzoom}
        mbtiles = Path(tmp) / "basemap.mbtiles"
        subprocess.run(
            ["ogr2ogr", "-f", "MBTiles", str(mbtiles), str(gpkg),
             "-dsco", f"MAXZOOM={MAXZOOM}", "-dsco", "MINZOOM=0", "-dsco", f"CONF={json.dumps(conf)}",
             "-dsco", "NAME=Truce region basemap", "-dsco", "TYPE=baselayer",
             "-dsco", "DESCRIPTION=Natural Earth, WDB II, GSHHG, OCHA COD-AB, GeoNames",
             "-dsco", "MAX_SIZE=500000", "-dsco", "SIMPLIFICATION=0.5"],
            check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        mbtiles_to_pmtiles(str(mbtiles), str(out), MAXZOOM)
    pd.DataFrame(places.drop(columns="geometry")).to_csv(Path(tempfile.gettempdir()) / "basemap_places.csv")
    return out


if __name__ == "__main__":
    print(build())
