"""The job registry: for each (layer, format), which source reads it, which transform maps it,
and which table it loads into. The runner wires the stages; they never import each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from etl.loaders.spec import TableSpec
from etl.records import Accepted, Context, RawRecord, Rejected
from etl.sources.tabular import SourceError, read_csv, read_hxl
from etl.sources.vector import no_such_layer, read_vector, source_layers
from etl.transforms import (
    acled,
    agreement_areas,
    aid_deliveries,
    area_list,
    cod_ab,
    generic,
    geonames,
    hxl,
    ucdp,
)

from . import specs, sql_load

Reader = Callable[..., Iterator[RawRecord]]  # (path) or, vector files, (path, layer=name)
Transform = Callable[[RawRecord, Context], Accepted | Rejected]

VECTOR_FORMATS = ("geojson", "gpkg", "shp", "kml")


@dataclass(frozen=True)
class Job:
    name: str
    layer: str
    format: str
    read: Reader
    transform: Transform
    spec: TableSpec
    default_source: str
    # What the runner looks up in the database before the run: "gazetteer", "admin_pcodes".
    needs: tuple[str, ...] = ()
    # The set-based path (COPY + SQL rules), tried first; None from it means "use the row-wise
    # path" (the reference, which `transform` is).
    sql_load: Callable[..., Any] | None = None


read_ucdp = partial(read_csv, headers=specs.UCDP_HEADERS)
GAZ = ("gazetteer",)

JOBS: dict[tuple[str, str], Job] = {
    (j.layer, j.format): j
    for j in [
        Job("ucdp_ged", "incidents", "ucdp", read_ucdp, ucdp.to_incident, specs.INCIDENTS,
            "ucdp_ged", sql_load=partial(sql_load.ucdp_incidents, headers=specs.UCDP_HEADERS)),
        Job("acled", "incidents", "acled", read_csv, acled.to_incident, specs.INCIDENTS, "acled",
            GAZ, sql_load=sql_load.acled_incidents),
        Job("hxl_incidents", "incidents", "hxl", read_hxl, hxl.to_incident, specs.INCIDENTS,
            "hxl", GAZ, sql_load=sql_load.hxl_incidents),
        Job("incidents_csv", "incidents", "csv", read_csv, generic.to_incident, specs.INCIDENTS,
            "incidents", GAZ, sql_load=sql_load.generic_incidents),
        *[Job("incidents_vector", "incidents", fmt, read_vector, generic.to_incident,
              specs.INCIDENTS, "incidents", GAZ) for fmt in VECTOR_FORMATS],
        Job("geonames", "settlements", "csv", read_csv, geonames.to_settlement,
            specs.SETTLEMENTS, "geonames", GAZ),
        *[Job("cod_ab", "admin_areas", fmt, read_vector, cod_ab.to_admin_area,
              specs.ADMIN_AREAS, "ocha_cod_ab") for fmt in VECTOR_FORMATS],
        *[Job("agreement_areas", "agreement_areas", fmt, read_vector,
              agreement_areas.to_agreement_area, specs.AGREEMENT_AREAS, "agreement_areas")
          for fmt in VECTOR_FORMATS],
        Job("agreement_area_list", "agreement_areas", "csv", read_csv,
            area_list.to_agreement_area, specs.AGREEMENT_AREAS_BY_REFERENCE, "agreement_areas",
            ("gazetteer", "admin_pcodes")),
        Job("aid_csv", "aid_deliveries", "csv", read_csv, aid_deliveries.to_aid_delivery,
            specs.AID_DELIVERIES, "aid_deliveries", GAZ),
        Job("aid_hxl", "aid_deliveries", "hxl", read_hxl, hxl.to_aid_delivery,
            specs.AID_DELIVERIES, "aid_deliveries", GAZ, sql_load=sql_load.hxl_aid_deliveries),
        *[Job("aid_vector", "aid_deliveries", fmt, read_vector, aid_deliveries.to_aid_delivery,
              specs.AID_DELIVERIES, "aid_deliveries", GAZ) for fmt in VECTOR_FORMATS],
    ]
}

LAYERS = ("incidents", "agreement_areas", "aid_deliveries", "admin_areas", "settlements")
FORMATS = ("auto", "acled", "ucdp", "hxl", "csv", "geojson", "gpkg", "shp", "kml")


class UnknownFormatError(ValueError):
    pass


def detect_format(path: Path, layer: str) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("json", "geojson", "geojsonl", "ndjson", "geojsons"):
        return "geojson"
    if suffix in ("gpkg", "shp", "kml"):
        return suffix
    if suffix == "kmz":  # zipped KML
        return "kml"
    if suffix == "zip":
        return "shp"
    if suffix in ("csv", "tsv", "txt"):
        with open(path, "rb") as handle:
            raw = handle.read(4096)
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        head = raw.decode("utf-16" if utf16 else "utf-8", errors="replace").lower()
        if "where_prec" in head and "date_prec" in head:
            return "ucdp"
        if "event_id_cnty" in head:
            return "acled"
        if "\n#" in head or head.startswith("#") or ",#" in head:
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


def check_source_layer(job: Job, path: Path, name: str) -> None:
    """Before a run: `--source-layer` names a layer the vector file has (UnknownFormatError
    listing them otherwise). A file GDAL cannot open is left to the run, which records why."""
    if job.format not in VECTOR_FORMATS:
        raise UnknownFormatError(f"--source-layer picks a layer of a vector file "
                                 f"({', '.join(VECTOR_FORMATS)}); {path.name} is read as "
                                 f"{job.format}")
    try:
        names = source_layers(path)
    except SourceError:
        return
    if name not in names:
        raise UnknownFormatError(str(no_such_layer(path, name, names)))


# the columns (any one of each group) a file must have to be read as the format at all; checked
# before a run starts (`missing_columns`)
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "acled": [("event_id_cnty", "data_id", "event_id"), ("event_date",), ("event_type",),
              ("latitude",), ("longitude",)],
    "ucdp": [("id",), ("date_start",), ("latitude",), ("longitude",), ("type_of_violence",),
             ("best",)],
}
REQUIRED_TAGS: dict[str, list[tuple[str, ...]]] = {
    "incidents": [hxl.OCCURRED, hxl.EVENT_TYPE],
    "aid_deliveries": [hxl.DELIVERED],
}
HXL_HEAD_ROWS = 100


def missing_columns(job: Job, path: Path, *, encoding: str | None = None,
                    mapping: dict[str, Any] | None = None) -> list[str]:
    """The required columns (ACLED, UCDP) or hashtags (HXL) the file's header lacks (each named
    by its first alternative); [] for other formats or a file the run must judge itself."""
    import csv
    from itertools import chain, islice

    from etl.sources.encoding import text_lines
    from etl.sources.tabular import hxl_tags, sniff_csv

    if job.format not in ("acled", "ucdp", "hxl") or not path.is_file():
        return []
    try:
        layout = sniff_csv(path, specs.UCDP_HEADERS if job.format == "ucdp" else None, encoding)
    except SourceError:
        return []  # empty, unreadable: the run says why
    names = set(layout.columns) | {t for t, c in (mapping or {}).items() if c in layout.columns}
    if job.format == "acled":
        names = {acled.ALIASES.get(n.lower(), n.lower()) for n in names}
    if job.format != "hxl":
        return [group[0] for group in REQUIRED[job.format] if not names & set(group)]
    tags: list[str] = []
    rows = csv.reader(text_lines(path, layout.detected), delimiter=layout.delimiter)
    header = next(rows, [])
    for row in islice(chain([header], rows), HXL_HEAD_ROWS):
        found = hxl_tags(header, row)
        if found is not None:
            tags = [t for t in found[0] if t]
            break
    if not tags:
        return ["a hashtag row (#date, #event, #geo+lat ...)"]
    return [group[0] for group in REQUIRED_TAGS.get(job.layer, [])
            if not any(True for _ in hxl.tag_keys(tags, *group))]
