"""Database health: reachability, PostGIS version and row counts per layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS
from server.security.release import Release


def postgis_version(*, session: Session) -> str:
    return str(session.execute(text("SELECT postgis_lib_version()")).scalar_one())


def row_counts(releases: Mapping[str, Release], *, session: Session) -> dict[str, int]:
    """Rows per layer that the caller may see: each layer counted under `releases[layer]`'s
    predicate (TRUE where the caller sees every row), so no count reveals unreleased rows."""
    params: dict[str, Any] = {}
    parts = []
    for c in COLLECTIONS.values():
        rel = releases[c.id]
        params.update(rel.params)
        parts.append(f"SELECT '{c.id}', count(*) FROM {c.table} {rel.alias} "  # noqa: S608
                     f"WHERE {rel.predicate}")
    return {str(k): int(v) for k, v in session.execute(text(" UNION ALL ".join(parts)),
                                                       params).all()}
