"""Feature SQL for every collection: pages of GeoJSON built in PostGIS, single items, extents.

Identifiers come from the Collection whitelist; every value is a bound parameter. A page is one
statement: the inner query picks the rows (index order, LIMIT/OFFSET over plain columns so skipped
rows cost no JSON), the outer one builds each Feature and joins them into one text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.db.tables import metadata
from server.security.release import Release

from . import cql2
from .binder import Binder
from .versions import LayerVersion


@dataclass(frozen=True)
class ItemQuery:
    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326
    start: datetime | None = None
    end: datetime | None = None
    equals: dict[str, Any] = field(default_factory=dict)
    filter: Any = None  # a pygeofilter AST (CQL2), translated with bound parameters
    filter_srid: int = 4326
    sortby: tuple[tuple[str, bool], ...] = ()
    properties: tuple[str, ...] | None = None  # None: all
    srid: int = 4326
    flip: bool = False  # EPSG:4326 answers in lat/lon axis order
    decimals: int = 6
    limit: int = 10
    offset: int = 0

    @property
    def filtered(self) -> bool:
        return bool(self.bbox or self.start or self.end or self.equals or self.filter is not None)


def source(c: Collection, rel: Release) -> str:
    """FROM-clause SQL of the collection's rows as `rel` releases them (alias them `rel.alias`):
    the table itself when unrestricted."""
    return rel.source(c.table, list(metadata.tables[c.table].c.keys()))


def notes_sql(rel: Release, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, SQL value) of each release note (constant properties), the values bound."""
    out = []
    for i, (name, value) in enumerate(sorted(rel.notes.items())):
        params[f"rel_note_{i}"] = value
        out.append((name, f"CAST(:rel_note_{i} AS text)"))
    return out


def _geometry_sql(q: ItemQuery, alias: str, b: Binder) -> str:
    geom = f"{alias}.geom"
    if q.srid != 4326:
        geom = f"ST_Transform({geom}, {b.bind(q.srid)})"
    elif q.flip:
        geom = f"ST_FlipCoordinates({geom})"
    return f"ST_AsGeoJSON({geom}, {int(q.decimals)})"


def _feature_sql(c: Collection, q: ItemQuery, b: Binder, rel: Release, alias: str = "t") -> str:
    names = q.properties if q.properties is not None else tuple(c.properties)
    props = ", ".join([f"'{p}', {alias}.{p}" for p in names
                       if p in c.properties and p not in rel.hidden]
                      + [f"'{n}', {v}" for n, v in notes_sql(rel, b.params)])
    obj = f"json_build_object({props})::text" if props else "'{}'"
    return (
        f"""'{{"type":"Feature","id":' || {alias}.{c.id_column} || ',"geometry":' || """
        f"{_geometry_sql(q, alias, b)} || ',\"properties\":' || {obj} || '}}'"
    )


def _where(c: Collection, q: ItemQuery, params: dict[str, Any], rel: Release) -> str:
    """The WHERE clause over rows `t` of `source(c, rel)`: every filter sees released values
    only (snapped geometry, bucketed times), so no filter can locate a row more precisely."""
    params.update(rel.params)
    b = Binder(params, prefix="w")
    clauses = ["TRUE"]
    if q.bbox is not None:
        env = "ST_MakeEnvelope({}, {}, {}, {}, 4326)".format(*(b.bind(v) for v in q.bbox))
        if q.bbox_srid != 4326:
            env = "ST_Transform(ST_MakeEnvelope({}, {}, {}, {}, {}), 4326)".format(
                *(b.bind(v) for v in q.bbox), b.bind(q.bbox_srid))
        clauses.append(rel.within("t", env))
        if not c.is_point:
            clauses.append(f"ST_Intersects(t.geom, {env})")
    if c.time_column and q.start is not None:
        clauses.append(f"t.{c.time_column} >= {b.bind(q.start)}")
    if c.time_column and q.end is not None:
        clauses.append(f"t.{c.time_column} <= {b.bind(q.end)}")
    for name, value in sorted(q.equals.items()):
        if name not in c.properties and name != c.id_column:
            raise KeyError(name)
        if c.properties.get(name) == "array":
            clauses.append(f"{b.bind(value)} = ANY(t.{name})")
        else:
            clauses.append(f"t.{name} = {b.bind(value)}")
    if q.filter is not None:
        clauses.append(cql2.where(q.filter, c, Binder(params, prefix="f"), srid=q.filter_srid))
    return " AND ".join(clauses)


def _order(c: Collection, q: ItemQuery) -> str:
    """ORDER BY for a page. Unfiltered pages walk the primary key (free and stable). A filtered
    page without `sortby` takes the rows in the order the chosen index yields them (as tipg and
    pg_featureserv do): ordering 50,000 matches scattered over the table by id to keep 1,000
    costs a heap fetch of every match (~0.6 s on 1M rows), while the index order is stable for
    an unchanged table, which is what offset paging needs (the ETag changes with the table)."""
    if q.filtered and not q.sortby:
        return ""
    keys = [f"t.{name} {'DESC' if desc else 'ASC'}" for name, desc in q.sortby
            if name in c.properties or name == c.id_column]
    if not any(name == c.id_column for name, _ in q.sortby):
        keys.append(f"t.{c.id_column}")
    return "ORDER BY " + ", ".join(keys)


def list_page(c: Collection, q: ItemQuery, rel: Release, *, session: Session) -> tuple[int, str]:
    """Return (numberReturned, the features as one JSON array body without brackets)."""
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    where = _where(c, q, params, rel)
    feature = _feature_sql(c, q, Binder(params, prefix="g"), rel)
    sql = f"""
        SELECT count(*), coalesce(string_agg({feature}, ','), '')
        FROM (SELECT t.* FROM {source(c, rel)} t WHERE {where}
              {_order(c, q)} LIMIT :limit OFFSET :offset) t
    """  # noqa: S608 - identifiers from the Collection whitelist
    count, body = session.execute(text(sql), params).one()
    return int(count), str(body)


def count_upto(c: Collection, q: ItemQuery, cap: int, rel: Release, *, session: Session) -> int:
    """The number of matching rows, counting no further than `cap` (bounded cost)."""
    params: dict[str, Any] = {"cap": cap}
    where = _where(c, q, params, rel)
    sql = (f"SELECT count(*) FROM (SELECT 1 FROM {source(c, rel)} t WHERE {where} "  # noqa: S608
           "LIMIT :cap) n")
    return int(session.execute(text(sql), params).scalar_one())


def get(c: Collection, feature_id: int, rel: Release, q: ItemQuery | None = None, *,
        session: Session) -> str | None:
    """One feature as `rel` releases it; None when absent or not released (the same answer)."""
    params: dict[str, Any] = {"id": feature_id, **rel.params}
    feature = _feature_sql(c, q or ItemQuery(), Binder(params, prefix="g"), rel)
    sql = (f"SELECT {feature} FROM {source(c, rel)} t "  # noqa: S608
           f"WHERE t.{c.id_column} = :id")
    return session.execute(text(sql), params).scalar()


def get_with_version(c: Collection, feature_id: int, rel: Release, q: ItemQuery | None = None,
                     *, session: Session) -> tuple[LayerVersion | None, str | None]:
    """The layer's data version and one feature, in ONE read-only round trip: the session's
    connection runs in autocommit when this is its first use (no BEGIN/ROLLBACK for a
    single-statement read), which is what makes a by-id request cheaper than tipg's. A row
    `rel` does not release is absent (None), exactly like a missing one."""
    params: dict[str, Any] = {"id": feature_id, "layer": c.table, **rel.params}
    feature = _feature_sql(c, q or ItemQuery(), Binder(params, prefix="g"), rel)
    sql = f"""SELECT v.version, v.row_count, v.changed_at,
                     (SELECT {feature} FROM {source(c, rel)} t WHERE t.{c.id_column} = :id)
              FROM (SELECT 1) one LEFT JOIN layer_versions v ON v.layer = :layer"""  # noqa: S608
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    version, count, changed, found = session.execute(text(sql), params).one()
    ver = None if version is None else LayerVersion(c.table, int(version), int(count), changed)
    return ver, found


def rows(c: Collection, q: ItemQuery, rel: Release, *,
         session: Session) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Plain rows for tabular exports: id, the chosen properties, lon, lat, WKT (in q.srid),
    then the release notes (constant columns) when `rel` obfuscates anything."""
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    where = _where(c, q, params, rel)
    b = Binder(params, prefix="g")
    names = [p for p in (q.properties if q.properties is not None else c.properties)
             if p in c.properties and p not in rel.hidden]
    geom = "t.geom" if q.srid == 4326 else f"ST_Transform(t.geom, {b.bind(q.srid)})"
    notes = sorted(rel.notes.items())
    cols = ", ".join([f"t.{c.id_column}", *(f"t.{n}" for n in names),
                      "ST_X(ST_PointOnSurface(t.geom))", "ST_Y(ST_PointOnSurface(t.geom))",
                      f"ST_AsText({geom}, {int(q.decimals)})",
                      *(f"CAST({b.bind(value)} AS text)" for _, value in notes)])
    sql = f"""SELECT {cols} FROM (SELECT t.* FROM {source(c, rel)} t WHERE {where}
              {_order(c, q)} LIMIT :limit OFFSET :offset) t"""  # noqa: S608
    result = session.execute(text(sql), params).all()
    header = [c.id_column, *names, "lon", "lat", "wkt", *(name for name, _ in notes)]
    return header, [tuple(r) for r in result]


def extent(c: Collection, rel: Release, *, session: Session) -> dict[str, Any]:
    """Spatial and temporal extent and row count of the rows `rel` releases, over the released
    values (snapped geometry, bucketed times): metadata never reveals more than the items do.
    Unrestricted: the plain aggregate over the table, as before."""
    time_sql = (f"min(t.{c.time_column}), max(t.{c.time_column})" if c.time_column
                else "NULL::timestamptz, NULL::timestamptz")
    sql = (f"SELECT ST_Extent(t.geom)::box2d::text, {time_sql}, count(*) "  # noqa: S608
           f"FROM {source(c, rel)} t")
    box, tmin, tmax, count = session.execute(text(sql), dict(rel.params)).one()
    bbox = None
    if box:
        nums = box.replace("BOX(", "").replace(")", "").replace(",", " ").split()
        bbox = [float(n) for n in nums]
    return {"bbox": bbox, "start": tmin, "end": tmax, "count": int(count)}


def count_all(c: Collection, *, session: Session) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {c.table}")).scalar_one())  # noqa: S608
