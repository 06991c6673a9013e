"""The well-formed files the hostile generator mutates, made from the shipped samples (small
slices, so a whole campaign stays quick): the UCDP CSV, a generic incidents CSV, the illustrative
aid CSV and agreement areas, incidents as GeoJSON / GeoPackage / KML, the agreement areas as a
zipped shapefile and the OCHA admin-1 shapefile. Each is built once per process, as bytes."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from etl.sample import HERE as SAMPLE

UCDP_ROWS = 30
INCIDENT_ROWS = 20
AREA_FEATURES = 4
INCIDENT_HEADER = ["source_id", "occurred_at", "event_type", "fatalities", "lat", "lon",
                   "location_name", "notes"]
ADMIN1_MAPPING = {"source_id": "PCODE", "name": "NAME_EN"}


@cache
def ucdp_rows() -> tuple[list[str], list[list[str]]]:
    with open(SAMPLE / "ucdp" / "ged_syria_2016_H1.csv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [row for _, row in zip(range(UCDP_ROWS), reader, strict=False)]


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@cache
def ucdp_csv() -> bytes:
    return to_csv(*ucdp_rows())


@cache
def incidents() -> list[dict[str, str]]:
    """UCDP events as generic incidents: id, date, type, deaths, where."""
    header, rows = ucdp_rows()
    col = {name: i for i, name in enumerate(header)}
    return [{"source_id": f"H-{row[col['id']]}", "occurred_at": row[col["date_start"]],
             "event_type": "armed_clash", "fatalities": row[col["best"]],
             "lat": row[col["latitude"]], "lon": row[col["longitude"]],
             "location_name": row[col["where_coordinates"]], "notes": row[col["source_headline"]]}
            for row in rows[:INCIDENT_ROWS]]


@cache
def incidents_csv() -> bytes:
    return to_csv(INCIDENT_HEADER, [[r[k] for k in INCIDENT_HEADER] for r in incidents()])


def point_feature(props: dict[str, Any], lon: Any, lat: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


@cache
def incidents_geojson() -> bytes:
    features = [point_feature({k: v for k, v in r.items() if k not in ("lat", "lon")},
                              float(r["lon"]), float(r["lat"])) for r in incidents()]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@cache
def aid_csv() -> bytes:
    return (SAMPLE / "illustrative" / "aid_deliveries.csv").read_bytes()


@cache
def areas() -> list[dict[str, Any]]:
    data = json.loads((SAMPLE / "illustrative" / "agreement_areas.geojson").read_bytes())
    return list(data["features"][:AREA_FEATURES])


@cache
def areas_geojson() -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": areas()}).encode()


def kml_document(placemarks: list[str], head: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>incidents</name>\n'
            + "\n".join(placemarks) + "\n</Document></kml>\n").encode()


def kml_placemark(fields: dict[str, str], geometry: str) -> str:
    data = "".join(f'<Data name="{escape(k)}"><value>{escape(v)}</value></Data>'
                   for k, v in fields.items())
    return f"<Placemark><ExtendedData>{data}</ExtendedData>{geometry}</Placemark>"


def kml_point(lon: Any, lat: Any) -> str:
    return f"<Point><coordinates>{lon},{lat}</coordinates></Point>"


@cache
def incidents_kml() -> bytes:
    return kml_document([kml_placemark({k: v for k, v in r.items() if k not in ("lat", "lon")},
                                       kml_point(r["lon"], r["lat"])) for r in incidents()])


def _written(name: str, write: Any) -> dict[str, bytes]:
    """The files `write(folder / name)` makes, by name."""
    with tempfile.TemporaryDirectory(prefix="truce-hostile-") as folder:
        write(Path(folder) / name)
        return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def write_points(path: Path, rows: list[dict[str, str]], driver: str) -> None:
    import numpy as np
    import pyogrio
    import shapely

    geoms = [shapely.to_wkb(shapely.Point(float(r["lon"]), float(r["lat"]))) for r in rows]
    names = [k for k in INCIDENT_HEADER if k not in ("lat", "lon")]
    pyogrio.raw.write(str(path), np.array(geoms, dtype=object),
                      [np.array([r[k] for r in rows], dtype=object) for k in names], names,
                      driver=driver, geometry_type="Point", crs="EPSG:4326")


@cache
def incidents_gpkg() -> bytes:
    return _written("incidents.gpkg", lambda p: write_points(p, incidents(), "GPKG"))[
        "incidents.gpkg"]


def write_areas(path: Path, features: list[dict[str, Any]], driver: str,
                encoding: str | None = None) -> None:
    import numpy as np
    import pyogrio
    import shapely

    names = ["source_id", "name", "kind", "status", "effective_from"]
    geoms = [shapely.to_wkb(shapely.geometry.shape(f["geometry"])) for f in features]
    fields = [np.array([str(f["properties"].get(k) or "") for f in features], dtype=object)
              for k in names]
    pyogrio.raw.write(str(path), np.array(geoms, dtype=object), fields, names, driver=driver,
                      geometry_type="MultiPolygon", crs="EPSG:4326", promote_to_multi=True,
                      **({"encoding": encoding} if encoding else {}))


@cache
def areas_shapefile() -> dict[str, bytes]:
    """The agreement areas as a shapefile's parts (areas.shp, .shx, .dbf, .prj, .cpg)."""
    return _written("areas.shp", lambda p: write_areas(p, areas(), "ESRI Shapefile"))


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@cache
def admin1_shapefile() -> dict[str, bytes]:
    return {f"syr_admin1{s}": (SAMPLE / "cod_ab" / f"syr_admin1{s}").read_bytes()
            for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")}
