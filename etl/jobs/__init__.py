"""The job registry: for each (layer, format), which source reads it, which transform maps it,
and which table it loads into. The runner wires the stages; they never import each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from etl.loaders.spec import TableSpec
from etl.records import Accepted, Context, RawRecord, Rejected
from etl.sources.tabular import read_csv
from etl.sources.vector import read_vector
from etl.transforms import agreement_areas, aid_deliveries, cod_ab, geonames, ucdp

from . import specs

Reader = Callable[[Path], Iterator[RawRecord]]
Transform = Callable[[RawRecord, Context], Accepted | Rejected]


@dataclass(frozen=True)
class Job:
    name: str
    layer: str
    format: str
    read: Reader
    transform: Transform
    spec: TableSpec
    default_source: str


JOBS: dict[tuple[str, str], Job] = {
    (j.layer, j.format): j
    for j in [
        Job("ucdp_ged", "incidents", "ucdp", read_csv, ucdp.to_incident, specs.INCIDENTS,
            "ucdp_ged"),
        Job("geonames", "settlements", "csv", read_csv, geonames.to_settlement,
            specs.SETTLEMENTS, "geonames"),
        Job("cod_ab", "admin_areas", "shp", read_vector, cod_ab.to_admin_area,
            specs.ADMIN_AREAS, "ocha_cod_ab"),
        Job("cod_ab", "admin_areas", "gpkg", read_vector, cod_ab.to_admin_area,
            specs.ADMIN_AREAS, "ocha_cod_ab"),
        Job("cod_ab", "admin_areas", "geojson", read_vector, cod_ab.to_admin_area,
            specs.ADMIN_AREAS, "ocha_cod_ab"),
        *[Job("agreement_areas", "agreement_areas", fmt, read_vector,
              agreement_areas.to_agreement_area, specs.AGREEMENT_AREAS, "agreement_areas")
          for fmt in ("geojson", "gpkg", "shp", "kml")],
        Job("aid_csv", "aid_deliveries", "csv", read_csv, aid_deliveries.to_aid_delivery,
            specs.AID_DELIVERIES, "aid_deliveries"),
    ]
}

LAYERS = ("incidents", "agreement_areas", "aid_deliveries", "admin_areas", "settlements")
FORMATS = ("auto", "acled", "ucdp", "hxl", "csv", "geojson", "gpkg", "shp", "kml")


class UnknownFormatError(ValueError):
    pass


def detect_format(path: Path, layer: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("json", "geojson", "geojsonl", "ndjson"):
        return "geojson"
    if suffix in ("gpkg", "shp", "kml"):
        return suffix
    if suffix == "zip":
        return "shp"
    if suffix in ("csv", "tsv", "txt"):
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace").lower()
        if "where_prec" in head and "date_prec" in head:
            return "ucdp"
        if "event_id_cnty" in head:
            return "acled"
        if "\n#" in head or head.startswith("#"):
            return "hxl"
        return "csv"
    raise UnknownFormatError(f"cannot tell the format of {path.name}; pass --format")


def find_job(layer: str, fmt: str, path: Path) -> Job:
    if layer not in LAYERS:
        raise UnknownFormatError(f"unknown layer {layer!r}; one of {', '.join(LAYERS)}")
    chosen = detect_format(path, layer) if fmt == "auto" else fmt
    job = JOBS.get((layer, chosen))
    if job is None:
        known = sorted(f for (lay, f) in JOBS if lay == layer)
        raise UnknownFormatError(
            f"no job loads {chosen!r} files into {layer}; formats for it: {', '.join(known)}")
    return job
