"""Hostile files for `truce etl load`, made from the shipped samples with a fixed seed: damaged
bytes (bit flips, truncation, NUL bytes), other encodings, value edge cases, broken structure,
XML entities, zip tricks, files disguised as another format and URLs inside values.

`cases(seed)` is pure: the same seed gives the same cases (ids, parameters, bytes). A case's
files are written only by `Case.write(folder, env)`, where the placeholders `@CANARY@` (a local
file the loader must never read) and `@LISTENER@` (a local HTTP server it must never call) take
the test's values."""

from __future__ import annotations

import random
from collections.abc import Callable

from . import bases, classes, content, structure
from .case import CANARY_TEXT, Case, Env, ValueCheck, one

__all__ = ["CANARY_TEXT", "Case", "Env", "ValueCheck", "cases"]

#: name, layer, file name, its files, mapping: the bases the byte-level mutations start from
BASES: list[tuple[str, str, str, Callable[[], dict[str, bytes]], dict[str, str] | None]] = [
    ("ucdp", "incidents", "ucdp.csv", one(bases.ucdp_csv, "ucdp.csv"), None),
    ("incidents_csv", "incidents", "incidents.csv", one(bases.incidents_csv, "incidents.csv"),
     None),
    ("aid_csv", "aid_deliveries", "aid.csv", one(bases.aid_csv, "aid.csv"), None),
    ("areas_geojson", "agreement_areas", "areas.geojson",
     one(bases.areas_geojson, "areas.geojson"), None),
    ("incidents_geojson", "incidents", "incidents.geojson",
     one(bases.incidents_geojson, "incidents.geojson"), None),
    ("incidents_gpkg", "incidents", "incidents.gpkg", one(bases.incidents_gpkg, "incidents.gpkg"),
     None),
    ("incidents_kml", "incidents", "incidents.kml", one(bases.incidents_kml, "incidents.kml"),
     None),
    ("areas_shp_zip", "agreement_areas", "areas.zip",
     lambda: {"areas.zip": bases.zipped(bases.areas_shapefile())}, None),
    ("admin1_shp", "agreement_areas", "syr_admin1.shp", bases.admin1_shapefile,
     bases.ADMIN1_MAPPING),
]
TEXT_BASES = ("ucdp", "incidents_csv", "aid_csv", "areas_geojson", "incidents_geojson",
              "incidents_kml")


def cases(seed: int = 21, scale: int = 1) -> list[Case]:
    """Every hostile case for `seed`; `scale` multiplies the random (byte-level) ones."""
    rng = random.Random(seed)
    out: list[Case] = []
    out += classes.bitflips(rng, BASES, 2 * scale)
    out += classes.truncations(rng, BASES, 2 * scale)
    out += classes.nul_bytes(rng, [b for b in BASES if b[0] in TEXT_BASES], 2 * scale)
    out += classes.encodings()
    out += content.values()
    out += structure.structure()
    out += classes.xml_entities()
    out += classes.zip_tricks()
    out += classes.disguised()
    out += structure.urls_in_values()
    ids = [c.id for c in out]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return out
