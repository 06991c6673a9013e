"""Downloads of /items: CSV (lon/lat and WKT), HXL-tagged CSV, GeoPackage, FlatGeobuf.

Tabular exports come from plain rows; GeoPackage and FlatGeobuf are written by GDAL (ogr2ogr)
from the same GeoJSON the API serves, so geometry and attributes match it exactly."""

from __future__ import annotations

import csv
import io
import subprocess
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.errors import InvalidQueryError, NotAcceptableError
from server.queries import features as q
from server.security.csv_cells import safe_cell
from server.security.release import Release

FORMATS = {
    "json": "application/geo+json", "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8", "hxl": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3", "fgb": "application/flatgeobuf",
}
_OGR = {"gpkg": ("GPKG", "gpkg"), "fgb": ("FlatGeobuf", "fgb")}
_ACCEPT = [("application/geo+json", "json"), ("application/json", "json"),
           ("text/csv", "csv"), ("application/geopackage+sqlite3", "gpkg"),
           ("application/flatgeobuf", "fgb")]

HXL_TAGS: dict[str, dict[str, str]] = {
    "incidents": {
        "id": "#event+id", "source_id": "#event+code", "occurred_at": "#date+occurred",
        "occurred_until": "#date+end", "time_precision": "#date+precision",
        "event_type": "#event+type", "sub_event_type": "#event+type+sub",
        "actor1": "#org+actor1", "actor2": "#org+actor2", "fatalities": "#affected+killed",
        "fatalities_low": "#affected+killed+min", "fatalities_high": "#affected+killed+max",
        "geo_precision": "#geo+precision", "location_name": "#loc+name",
        "admin1_pcode": "#adm1+code", "notes": "#description",
        "verification_status": "#status+verification", "source": "#meta+source",
        "etl_run_id": "#meta+run", "updated_at": "#date+updated",
        "lon": "#geo+lon", "lat": "#geo+lat", "wkt": "#geo+wkt",
        "location_obfuscated": "#geo+precision+note", "time_bucket": "#date+precision+note",
    },
    "aid_deliveries": {
        "id": "#activity+id", "source_id": "#activity+code", "delivered_at": "#date+delivered",
        "method": "#activity+type+method", "cargo_type": "#item+type", "quantity": "#item+num",
        "unit": "#item+unit", "organisation": "#org+name", "location_name": "#loc+name",
        "settlement_id": "#loc+settlement+id", "agreement_area_id": "#loc+agreement+id",
        "source": "#meta+source", "etl_run_id": "#meta+run", "updated_at": "#date+updated",
        "lon": "#geo+lon", "lat": "#geo+lat", "wkt": "#geo+wkt",
    },
}


def negotiate(f: str | None, accept: str | None) -> str:
    """The output format from `f=` first, else the Accept header; default GeoJSON."""
    if f:
        fmt = f.lower()
        if fmt not in FORMATS:
            raise InvalidQueryError(f"unknown format f={f!r}", formats=sorted(FORMATS))
        return "json" if fmt == "geojson" else fmt
    if accept:
        for part in accept.split(","):
            media = part.split(";")[0].strip().lower()
            for known, fmt in _ACCEPT:
                if media == known:
                    return fmt
            if media in ("*/*", "application/*", "text/html", ""):
                return "json"
        if "json" in accept or "*" in accept or "html" in accept:
            return "json"
        raise NotAcceptableError("no acceptable format; use GeoJSON, CSV, GeoPackage or "
                                 "FlatGeobuf", formats=sorted(FORMATS))
    return "json"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return safe_cell(";".join(str(v) for v in value))
    return safe_cell(value)


def table(c: Collection, query: q.ItemQuery, rel: Release, *, hxl: bool,
          session: Session) -> bytes:
    if hxl and c.id not in HXL_TAGS:
        raise InvalidQueryError(f"HXL export is available for {', '.join(sorted(HXL_TAGS))}")
    header, rows = q.rows(c, query, rel, session=session)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    if hxl:
        writer.writerow([HXL_TAGS[c.id].get(name, "") for name in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode()


#: OGR SQL types of the collections' property kinds; strings and arrays are left as GDAL
#: reads them (String, StringList, whatever the values: a CAST AS character would declare a
#: width of 1)
_OGR_TYPES = {"datetime": "timestamp", "integer": "integer", "number": "float"}


def typed_select(c: Collection, query: q.ItemQuery, rel: Release, layer: str) -> str:
    """OGR SQL selecting every output property cast to its type in the collection's schema
    (`features.property_schema`): GDAL would otherwise guess each column's type from the
    values, so a filter leaving a column empty would turn its dates into text."""
    wanted = query.properties if query.properties is not None else tuple(c.properties)
    names = [p for p in dict.fromkeys(wanted) if p in c.properties and p not in rel.hidden]
    columns = []
    for name in names:
        kind = _OGR_TYPES.get(c.properties[name])
        columns.append(f'CAST("{name}" AS {kind}) AS "{name}"' if kind else f'"{name}"')
    columns += [f'"{name}"' for name in sorted(rel.notes)]
    return f'SELECT {", ".join(columns) or "*"} FROM "{layer}"'  # noqa: S608 - names from the Collection whitelist


def ogr(c: Collection, query: q.ItemQuery, rel: Release, fmt: str, *, session: Session) -> bytes:
    driver, ext = _OGR[fmt]
    returned, body = q.list_page(c, replace(query, srid=4326, flip=False, decimals=7), rel,
                                 session=session)
    with tempfile.TemporaryDirectory(prefix="truce-export-") as tmp:
        src = Path(tmp) / "features.geojson"
        dst = Path(tmp) / f"{c.id}.{ext}"
        src.write_text('{"type":"FeatureCollection","features":[' + body + "]}")
        cmd = ["ogr2ogr", "-f", driver, str(dst), str(src), "-nln", c.id,
               "-a_srs", "EPSG:4326"]
        if returned:  # (an empty page has no columns to cast)
            cmd += ["-dialect", "OGRSQL", "-sql", typed_select(c, query, rel, "features")]
        if query.srid != 4326:
            cmd += ["-t_srs", f"EPSG:{query.srid}"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if done.returncode != 0 or not dst.exists():
            raise InvalidQueryError(f"export to {driver} failed: {done.stderr.strip()[:300]}")
        return dst.read_bytes()
