"""Database health: reachability, PostGIS version and row counts per layer."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS


def postgis_version(*, session: Session) -> str:
    return str(session.execute(text("SELECT postgis_lib_version()")).scalar_one())


def row_counts(*, session: Session) -> dict[str, int]:
    parts = " UNION ALL ".join(
        f"SELECT '{c.id}', count(*) FROM {c.table}" for c in COLLECTIONS.values()  # noqa: S608
    )
    return {str(k): int(v) for k, v in session.execute(text(parts)).all()}
