"""Incident writes for OGC API - Features Part 4 (create, replace, update, delete). Never commits.

Column names come only from the `COLUMNS` whitelist; every value is a bound parameter. The audit
triggers (migrations 07/09) record each write under the actor set for the transaction, and the
statement-level triggers bump the layer version and keep the tile pyramid current, exactly as
for ETL and workflow writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS

#: the columns a Part 4 write sets (besides geom), read from the table; workflow columns are not
#: among them
COLUMNS = COLLECTIONS["incidents"].written
SOURCE = "api"
_POINT = "ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)"


def _admin(level: int) -> str:
    """SQL: the given pcode, else the pcode of the level-`level` area containing the point."""
    return (f"coalesce(:admin{level}_pcode, (SELECT a.pcode FROM admin_areas a "  # noqa: S608
            f"WHERE a.admin_level = {int(level)} AND ST_Intersects(a.geom, {_POINT}) "
            "ORDER BY a.pcode LIMIT 1))")


def _value(column: str) -> str:
    if column.startswith("admin") and column.endswith("_pcode"):
        return _admin(int(column[5]))
    return f":{column}"


def _params(values: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    return {**{c: values.get(c) for c in COLUMNS}, "lon": lon, "lat": lat}


def unknown_pcodes(pcodes: dict[int, str], *, session: Session) -> list[int]:
    """The admin levels whose given pcode names no admin area of that level."""
    if not pcodes:
        return []
    rows = session.execute(text("""
        SELECT g.level FROM unnest(CAST(:levels AS int[]), CAST(:codes AS text[])) g(level, pcode)
        WHERE NOT EXISTS (SELECT 1 FROM admin_areas a
                          WHERE a.pcode = g.pcode AND a.admin_level = g.level)
        ORDER BY g.level
    """), {"levels": list(pcodes), "codes": list(pcodes.values())})
    return [int(r) for r in rows.scalars()]


def lock(feature_id: int, *, session: Session) -> dict[str, Any] | None:
    """The incident's writable values, position and workflow state, row-locked; None if absent."""
    cols = ", ".join(COLUMNS)
    row = session.execute(text(f"""
        SELECT {cols}, verification_status, sensitivity, source,
               ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM incidents WHERE id = :id FOR UPDATE
    """), {"id": feature_id}).mappings().one_or_none()  # noqa: S608 - whitelisted columns
    return dict(row) if row else None


def insert(values: dict[str, Any], lon: float, lat: float, *, session: Session) -> int:
    """A new incident (source 'api', reported, restricted); its id. A missing source_id becomes
    'api-<id>'; missing admin pcodes come from the admin areas containing the point."""
    cols = [c for c in COLUMNS if c != "source_id"]
    sql = f"""
        WITH n AS (SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id)
        INSERT INTO incidents (id, source, source_id, {", ".join(cols)}, verification_status,
                               sensitivity, geom)
        SELECT n.id, :source, coalesce(:source_id, 'api-' || n.id),
               {", ".join(_value(c) for c in cols)}, 'reported', 'restricted', {_POINT}
        FROM n
        RETURNING id
    """  # noqa: S608 - whitelisted columns
    return int(session.execute(text(sql), {**_params(values, lon, lat), "source": SOURCE}
                               ).scalar_one())


def replace(feature_id: int, values: dict[str, Any], lon: float, lat: float, *,
            session: Session) -> None:
    """Every writable column and the position set from `values` (absent ones to NULL; a missing
    source_id keeps the current one)."""
    sets = [f"{c} = {_value(c)}" for c in COLUMNS if c != "source_id"]
    sql = f"""
        UPDATE incidents SET source_id = coalesce(:source_id, source_id), {", ".join(sets)},
                             geom = {_POINT}, updated_at = clock_timestamp()
        WHERE id = :id
    """  # noqa: S608 - whitelisted columns
    session.execute(text(sql), {**_params(values, lon, lat), "id": feature_id})


def delete(feature_id: int, *, session: Session) -> bool:
    return bool(session.execute(text("DELETE FROM incidents WHERE id = :id RETURNING id"),
                                {"id": feature_id}).scalar())
