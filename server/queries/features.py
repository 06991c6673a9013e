"""Feature SQL for every collection: pages of GeoJSON built in PostGIS, single items, extents.

Identifiers come from the Collection whitelist; every value is a bound parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection


@dataclass(frozen=True)
class ItemQuery:
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    equals: dict[str, str] = field(default_factory=dict)
    limit: int = 10
    offset: int = 0


def _feature_sql(c: Collection, alias: str = "t") -> str:
    props = ", ".join(f"'{p}', {alias}.{p}" for p in c.properties)
    return (
        f"""'{{"type":"Feature","id":' || {alias}.{c.id_column} || ',"geometry":' || """
        f"ST_AsGeoJSON({alias}.geom, 6) || ',\"properties\":' || "
        f"json_build_object({props})::text || '}}'"
    )


def _where(c: Collection, q: ItemQuery, params: dict[str, Any]) -> str:
    clauses = ["TRUE"]
    if q.bbox is not None:
        clauses.append("t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params.update(dict(zip(("minx", "miny", "maxx", "maxy"), q.bbox, strict=True)))
    if c.time_column and q.start is not None:
        clauses.append(f"t.{c.time_column} >= :start")
        params["start"] = q.start
    if c.time_column and q.end is not None:
        clauses.append(f"t.{c.time_column} <= :end")
        params["end"] = q.end
    for i, (name, value) in enumerate(sorted(q.equals.items())):
        if name not in c.properties:
            raise KeyError(name)
        clauses.append(f"t.{name}::text = :eq{i}")
        params[f"eq{i}"] = value
    return " AND ".join(clauses)


def list_page(c: Collection, q: ItemQuery, *, session: Session) -> tuple[int, str]:
    """Return (numberReturned, the features as one JSON array body without brackets)."""
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    where = _where(c, q, params)
    sql = f"""
        SELECT count(*), coalesce(string_agg(f, ',' ORDER BY rid), '')
        FROM (SELECT t.{c.id_column} AS rid, {_feature_sql(c)} AS f
              FROM {c.table} t WHERE {where}
              ORDER BY t.{c.id_column} LIMIT :limit OFFSET :offset) page
    """  # noqa: S608 - identifiers from the Collection whitelist
    count, body = session.execute(text(sql), params).one()
    return int(count), str(body)


def get(c: Collection, feature_id: int, *, session: Session) -> str | None:
    sql = f"SELECT {_feature_sql(c)} FROM {c.table} t WHERE t.{c.id_column} = :id"  # noqa: S608
    return session.execute(text(sql), {"id": feature_id}).scalar()


def extent(c: Collection, *, session: Session) -> dict[str, Any]:
    time_sql = (f"min({c.time_column}), max({c.time_column})" if c.time_column
                else "NULL::timestamptz, NULL::timestamptz")
    sql = f"SELECT ST_Extent(geom)::box2d::text, {time_sql}, count(*) FROM {c.table}"  # noqa: S608
    box, tmin, tmax, count = session.execute(text(sql)).one()
    bbox = None
    if box:
        nums = box.replace("BOX(", "").replace(")", "").replace(",", " ").split()
        bbox = [float(n) for n in nums]
    return {"bbox": bbox, "start": tmin, "end": tmax, "count": int(count)}


def count_all(c: Collection, *, session: Session) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {c.table}")).scalar_one())  # noqa: S608
