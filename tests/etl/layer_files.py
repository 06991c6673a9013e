"""A GeoPackage of incident layers and the mapping that reads them, for the tests of multi-layer sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import shapely
from sqlalchemy import Engine, text

LAYERS = {"north": 2, "south": 3}


def write_layer(path: Path, layer: str, count: int, driver: str) -> None:
    pyogrio.raw.write(
        str(path), np.array([shapely.to_wkb(shapely.Point(36.70 + i / 100, 34.73))
                             for i in range(count)], dtype=object),
        [np.array([f"{layer}-{i}" for i in range(count)], dtype=object),
         np.array(["2016-06-03"] * count, dtype=object), np.array(["Shelling"] * count, dtype=object)],
        ["uid", "day", "kind"], driver=driver, layer=layer, geometry_type="Point", crs="EPSG:4326")


MAPPING = {"source_id": "uid", "occurred_at": "day", "event_type": "kind"}


def layer_uids(layer: str) -> list[str]:
    return [f"{layer}-{i}" for i in range(LAYERS[layer])]


def layers_gpkg(directory: Path, layers: tuple[str, ...] = ("north", "south")) -> Path:
    path = directory / "areas.gpkg"
    for layer in layers:
        write_layer(path, layer, LAYERS[layer], "GPKG")
    return path


def loaded_uids(engine: Engine, source: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT source_id FROM incidents WHERE source = :s "
                                      "ORDER BY source_id"), {"s": source}).scalars())
