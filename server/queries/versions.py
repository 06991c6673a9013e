"""The per-layer data version (bumped by statement-level triggers): ETags, Last-Modified,
exact unfiltered counts and tile-cache keys all come from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class LayerVersion:
    layer: str
    version: int
    row_count: int
    changed_at: datetime


def get(layer: str, *, session: Session) -> LayerVersion | None:
    row = session.execute(
        text("SELECT version, row_count, changed_at FROM layer_versions WHERE layer = :layer"),
        {"layer": layer}).one_or_none()
    if row is None:
        return None
    return LayerVersion(layer, int(row[0]), int(row[1]), row[2])


def get_many(layers: list[str], *, session: Session) -> dict[str, LayerVersion]:
    rows = session.execute(
        text("SELECT layer, version, row_count, changed_at FROM layer_versions "
             "WHERE layer = ANY(:layers)"), {"layers": layers}).all()
    return {r[0]: LayerVersion(r[0], int(r[1]), int(r[2]), r[3]) for r in rows}
