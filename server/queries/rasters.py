"""The ETL's raster catalogue (`rasters`, written by `truce etl raster`), when the table exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CatalogRaster:
    name: str
    kind: str
    path: str


def list_(*, session: Session) -> list[CatalogRaster]:
    if session.execute(text("SELECT to_regclass('rasters')")).scalar() is None:
        return []
    rows = session.execute(text("SELECT name, kind, path FROM rasters ORDER BY name")).all()
    return [CatalogRaster(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def get(name: str, *, session: Session) -> CatalogRaster | None:
    if session.execute(text("SELECT to_regclass('rasters')")).scalar() is None:
        return None
    row = session.execute(text("SELECT name, kind, path FROM rasters WHERE name = :name"),
                          {"name": name}).one_or_none()
    return CatalogRaster(str(row[0]), str(row[1]), str(row[2])) if row else None
