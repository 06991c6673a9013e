"""`truce etl raster`: validate a raster, write it as a COG in the raster directory, record it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from etl.loaders import postgis
from etl.sources.raster import describe, to_cog
from etl.sources.tabular import SourceError

KINDS = ("population", "terrain", "imagery")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def load_raster(path: Path, engine: Engine, *, name: str, kind: str, directory: Path,
                sha256: str | None = None) -> dict[str, Any]:
    if kind not in KINDS:
        raise SourceError(f"unknown raster kind {kind!r}; one of {', '.join(KINDS)}")
    if not _NAME.match(name):
        raise SourceError(f"bad raster name {name!r}: lower-case letters, digits, - and _")
    info = describe(path)
    target = to_cog(path, directory.resolve() / f"{name}.tif")
    info.update(name=name, kind=kind, path=str(target), source_path=str(path), sha=sha256)
    with engine.begin() as conn:
        info["id"] = postgis.record_raster(conn, info)
    return info
