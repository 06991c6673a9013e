"""Every repair a load makes to a row, kept per row (etl_repairs): the run, the line, the
field, the value before and after, and the rule. The row-wise path records what its
transforms repaired; the set-based path records the same from its checked rows in SQL."""

# ruff: noqa: S608 - identifiers are constants and TableSpec names; values are bound

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, text

from etl.loaders.spec import TableSpec

SWAPPED = "swapped_lat_lon_repaired"  # checks.SWAPPED_REPAIR (loaders do not import transforms)
GEOCODED = "geocoded_from_gazetteer"  # checks.GEOCODED
MADE_VALID = "invalid_geometry_repaired"
#: checks.OUTSIDE_ALLOWED: not a repair but a flag, kept with the repairs so that `truce etl
#: runs show` lists every row loaded outside the area of interest (--allow-outside)
OUTSIDE_ALLOWED = "outside_area_of_interest_allowed"
POINT_FIELD = "lon,lat"
_POLYGON = "ST_SetSRID(ST_GeomFromWKB(decode(s.geom_wkb, 'hex')), s.srid::int)"


def _number(value: Any) -> str:
    return repr(float(value))


def describe(rules: tuple[str, ...], values: dict[str, Any], number: int
             ) -> list[dict[str, Any]]:
    """The repairs of one accepted row (its transform's rule codes) as etl_repairs rows; an
    area (no lon/lat) flagged OUTSIDE_ALLOWED names its geometry."""
    out = []
    lon, lat = values.get("lon"), values.get("lat")
    point = (f"{_number(lon)},{_number(lat)}" if lon is not None and lat is not None else None)
    for rule in rules:
        before: str | None = None
        if rule == SWAPPED and point is not None:
            before = f"{_number(lat)},{_number(lon)}"  # as the file gave them
        field = POINT_FIELD if rule in (SWAPPED, GEOCODED) else ""
        if rule == OUTSIDE_ALLOWED:
            field = POINT_FIELD if point is not None else "geometry"
        out.append({"number": number, "source_id": values.get("source_id"), "field": field,
                    "before": before, "after": point, "rule": rule})
    return out


def record(conn: Connection, rows: list[dict[str, Any]], *, run_id: int) -> None:
    if not rows:
        return
    conn.execute(text("""
        INSERT INTO etl_repairs (etl_run_id, record_number, source_id, field, value_before,
                                 value_after, rule)
        VALUES (:run_id, :number, :source_id, :field, :before, :after, :rule)
    """), [{**r, "run_id": run_id} for r in rows])


def from_checked(conn: Connection, checked: str, *, run_id: int | None) -> dict[str, int]:
    """The set-based path's repairs among the accepted rows of `checked` (columns line,
    source_id, reasons, outcome, lon, lat): recorded when `run_id` is given; {rule: rows}."""
    point = "(c.lon::float8)::text || ',' || (c.lat::float8)::text"
    rule = f"CASE c.outcome WHEN 'swap' THEN '{SWAPPED}' ELSE '{GEOCODED}' END"
    where = "c.reasons = '{}' AND c.outcome IN ('swap', 'geocoded')"
    if run_id is not None:
        conn.execute(text(f"""
            INSERT INTO etl_repairs (etl_run_id, record_number, source_id, field, value_before,
                                     value_after, rule)
            SELECT :run_id, c.line, c.source_id, '{POINT_FIELD}',
                   CASE WHEN c.outcome = 'swap'
                        THEN (c.lat::float8)::text || ',' || (c.lon::float8)::text END,
                   {point}, {rule}
            FROM {checked} c WHERE {where} ORDER BY c.line
        """), {"run_id": run_id})
    return {str(k): int(v) for k, v in conn.execute(text(
        f"SELECT {rule}, count(*) FROM {checked} c WHERE {where} GROUP BY 1")).tuples().all()}


def polygons(conn: Connection, spec: TableSpec, *, run_id: int) -> int:
    """Staged polygons that are invalid as given (ST_MakeValid repairs them on merge):
    recorded with GEOS's reason as the value before; how many."""
    if spec.geometry != "polygon":
        return 0
    key = next((k for k in spec.key if k != "source"), None)
    source_id = f"s.{key}" if key else "NULL"
    return int(conn.execute(text(f"""
        WITH written AS (
          INSERT INTO etl_repairs (etl_run_id, record_number, source_id, field, value_before,
                                   value_after, rule)
          SELECT :run_id, NULL, {source_id}, 'geometry', ST_IsValidReason({_POLYGON}),
                 'made valid (ST_MakeValid)', '{MADE_VALID}'
          FROM stage_{spec.table} s WHERE NOT ST_IsValid({_POLYGON})
          RETURNING 1)
        SELECT count(*) FROM written
    """), {"run_id": run_id}).scalar_one())


def counts(conn: Connection, run_id: int) -> dict[str, int]:
    """{rule: rows} of the run's etl_repairs rows, the OUTSIDE_ALLOWED flag included."""
    return {str(k): int(v) for k, v in conn.execute(text(
        "SELECT rule, count(*) FROM etl_repairs WHERE etl_run_id = :id GROUP BY rule "
        "ORDER BY rule"), {"id": run_id}).tuples().all()}


def run_row(conn: Connection, run_id: int) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT * FROM etl_runs WHERE id = :id"), {"id": run_id}).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def repair_rows(conn: Connection, run_id: int, *, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(text("""
        SELECT record_number AS line, source_id, field, value_before, value_after, rule
        FROM etl_repairs WHERE etl_run_id = :id ORDER BY record_number NULLS LAST, id
        LIMIT :limit"""), {"id": run_id, "limit": limit}).mappings()]


def tally(rules: Counter[str], rows: list[dict[str, Any]]) -> None:
    rules.update(r["rule"] for r in rows)
