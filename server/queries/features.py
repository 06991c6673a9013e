"""Feature SQL for every collection: pages of GeoJSON built in PostGIS, single items, extents.

Identifiers come from the Collection whitelist; every value is a bound parameter. A page is one
statement: the inner query picks the rows (in the page order, after a keyset cursor or at an
offset, over plain columns so skipped rows cost no JSON), the outer one builds each Feature and
joins them into one text, and returns the keys of the first and last rows for the paging links."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db.async_reads import AsyncReadPool
from server.db.collections import Collection
from server.security.release import Release

from . import cql2, prepared
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
    decimals: int = 7  # degrees; metres get 2 (see params.SUPPORTED_CRS)
    limit: int = 10
    offset: int = 0
    after: tuple[Any, ...] | None = None  # keyset cursor: the rows after this page-order key
    before: tuple[Any, ...] | None = None  # ... or the rows before it (a `prev` page)
    sort_matches: bool = False  # few matches: sort them, rather than walk the id index

    @property
    def filtered(self) -> bool:
        return bool(self.bbox or self.start or self.end or self.equals or self.filter is not None)


def source(c: Collection, rel: Release) -> str:
    """FROM-clause SQL of the collection's rows as `rel` releases them (alias them `rel.alias`):
    the table itself when unrestricted."""
    return rel.source(c.table, list(c.columns))


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
    return f"ST_AsGeoJSON({geom}, {int(q.decimals)}, 0)"  # 0: no "crs" member (Content-Crs)


#: name/value pairs in one json_build_object call (PostgreSQL passes at most 100 arguments)
JSON_OBJECT_PAIRS = 50


def _json_object(pairs: list[str]) -> str:
    """SQL text of a JSON object of `pairs` ("'name', value"), in order: one json_build_object
    per 50 pairs, joined as text (each call's braces dropped where they meet)."""
    parts = [f"json_build_object({', '.join(pairs[i:i + JSON_OBJECT_PAIRS])})::text"
             for i in range(0, len(pairs), JSON_OBJECT_PAIRS)]
    if len(parts) == 1:
        return parts[0]
    inner = " || ', ' || ".join(f"left(substr({p}, 2), -1)" for p in parts)
    return f"('{{' || {inner} || '}}')"


def _feature_sql(c: Collection, q: ItemQuery, b: Binder, rel: Release, alias: str = "t") -> str:
    names = q.properties if q.properties is not None else tuple(c.properties)
    pairs = ([f"'{p}', {alias}.{p}" for p in dict.fromkeys(names)
              if p in c.properties and p not in rel.hidden]
             + [f"'{n}', {v}" for n, v in notes_sql(rel, b.params)])
    obj = _json_object(pairs) if pairs else "'{}'"
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
        clauses.append(rel.compare("t", c.time_column, ">=", b.bind(q.start)))
    if c.time_column and q.end is not None:
        clauses.append(rel.compare("t", c.time_column, "<=", b.bind(q.end)))
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


def page_keys(c: Collection, q: ItemQuery) -> tuple[tuple[str, bool], ...]:
    """The total order of pages, (column, descending) pairs ending with the unique id: `sortby`
    when given, else time then id when a datetime filter asks for a time window (its index
    yields the rows in that order), else the id. Keyset cursors hold the values of these keys."""
    keys: list[tuple[str, bool]] = []
    for name, desc in q.sortby:
        if name == c.id_column:
            return (*keys, (name, desc))
        if name in c.properties:
            keys.append((name, desc))
    if not keys and c.time_column and (q.start is not None or q.end is not None):
        keys.append((c.time_column, False))
    return (*keys, (c.id_column, False))


def _order(c: Collection, q: ItemQuery, *, reverse: bool = False) -> str:
    """ORDER BY for a page (reversed for a `prev` page). NULLs come last whether ascending or
    descending (`sortby=-fatalities` starts with the largest number, not with the unknowns), so
    a reversed order puts them first: the reverse of an order is exactly its mirror. A column
    that holds no NULL gets no NULLS clause (its index yields either direction). `sort_matches`
    orders by `id + 0`, which no index yields: the planner then finds the (few) matches by
    their filter's index and sorts them, instead of walking the id index past every row that
    does not match."""
    keys = page_keys(c, q)
    parts = []
    for name, desc in keys:
        expr = f"t.{name}"
        if q.sort_matches and len(keys) == 1:
            expr = f"(t.{name} + 0)"
        nulls = ""
        if name != c.id_column and _nullable(c, name):
            nulls = " NULLS FIRST" if reverse else " NULLS LAST"
        parts.append(f"{expr} {'DESC' if desc != reverse else 'ASC'}{nulls}")
    return "ORDER BY " + ", ".join(parts)


def _picked(c: Collection, q: ItemQuery, rel: Release, where: str, *, reverse: bool,
            limit: str, offset: str = ":offset") -> str:
    """The page's rows (all columns) in the page order: LIMIT `limit` OFFSET `offset`. Sorting
    the matches (`sort_matches`) sorts their ids alone, then fetches the chosen rows by id:
    sorting 23,000 whole rows to keep 1,000 costs twice the time. So does a page at an offset
    under release rules: the rows it skips would otherwise each get their released values
    (snapped point, bucketed times) computed, only to be thrown away."""
    src = source(c, rel)
    order = _order(c, q, reverse=reverse)
    edge = _bucket_edge(c, q, rel, src, where, reverse=reverse, limit=limit, offset=offset)
    if edge is not None:
        where = f"{where} AND {edge}"
    if len(page_keys(c, q)) == 1 and not q.sort_matches:
        where = f"{where} AND {_committed_ids(c)}"
    skips = offset != "0" and bool(q.offset) and not rel.unrestricted
    if not q.sort_matches and not skips:
        return f"SELECT t.* FROM {src} t WHERE {where} {order} LIMIT {limit} OFFSET {offset}"  # noqa: S608
    ids = (f"SELECT t.{c.id_column} FROM {src} t WHERE {where} {order} "  # noqa: S608
           f"LIMIT {limit} OFFSET {offset}")
    return (f"SELECT t.* FROM {src} t WHERE t.{c.id_column} IN ({ids}) "  # noqa: S608
            f"{_order(c, replace(q, sort_matches=False), reverse=reverse)}")


def _committed_ids(c: Collection) -> str:
    """SQL bounding an id-ordered page by the highest id its snapshot can see (migration
    14b_layer_max_ids): the id index walk then stops at the committed rows instead of checking
    a running load's invisible entries one by one."""
    return (f"t.{c.id_column} <= coalesce((SELECT max_id FROM layer_versions "  # noqa: S608
            f"WHERE layer = '{c.table}'), 9223372036854775807)")


def _bucket_edge(c: Collection, q: ItemQuery, rel: Release, src: str, where: str, *,
                 reverse: bool, limit: str, offset: str) -> str | None:
    """SQL bounding the exact time of a page ordered first by a bucketed time (a datetime
    window, or sortby a time, asked by a principal whose times are bucketed), else None.

    Such a page sorts on a computed value, which no index yields in order: without a bound it
    would read and sort every match of the window (a week: 7,500 rows for 1,000). But b(x) is
    monotonic in x: if r is the N-th match in the order of the exact time (N = offset + limit),
    N matches lie in buckets up to b(r), so the first N in bucket order all do too. The index
    on the exact column finds r after N matches, and the page then reads the matches up to the
    end of r's bucket (before its start, descending), not the whole window. No r (fewer
    matches): no bound."""
    if q.sort_matches:
        return None
    name, desc = page_keys(c, q)[0]
    desc = desc != reverse
    if name == c.id_column or _nullable(c, name):
        return None
    edge = rel.bucket_edge(name, "e.x", after=not desc)
    if edge is None:
        return None
    exact = f"t.rel_exact_{name}"
    nth = (f"SELECT {exact} AS x FROM {src} t WHERE {where} "  # noqa: S608 - constants only
           f"ORDER BY {exact} {'DESC' if desc else 'ASC'} LIMIT 1 OFFSET ({limit}) + ({offset}) - 1")
    op, unbounded = (">=", "-infinity") if desc else ("<", "infinity")
    return f"{exact} {op} coalesce((SELECT {edge} FROM ({nth}) e), '{unbounded}')"  # noqa: S608


def _nullable(c: Collection, name: str) -> bool:
    return name not in c.not_null


def _after(c: Collection, name: str, desc: bool, value: Any, b: Binder, *,
           nulls_last: bool = True) -> str:
    """Rows strictly after `value` in the column's order (NULLs last, or first when
    `nulls_last` is false: a reversed page order)."""
    col, null = f"t.{name}", _nullable(c, name)
    if value is None:
        return "FALSE" if nulls_last else f"{col} IS NOT NULL"
    op = "<" if desc else ">"
    if null and nulls_last:
        return f"({col} {op} {b.bind(value)} OR {col} IS NULL)"
    return f"{col} {op} {b.bind(value)}"


def _not_before(c: Collection, name: str, desc: bool, value: Any, b: Binder,
                rel: Release | None, *, nulls_last: bool = True) -> str:
    """Rows at or after `value` in the column's order: the range bound an index can use (on
    the exact column when `rel` buckets it; see `Release.compare`)."""
    col, null = f"t.{name}", _nullable(c, name)
    if value is None:
        return f"{col} IS NULL" if nulls_last else "TRUE"
    op, bound_value = "<=" if desc else ">=", b.bind(value)
    bound = (rel.compare("t", name, op, bound_value) if rel is not None
             else f"{col} {op} {bound_value}")
    return f"({bound} OR {col} IS NULL)" if null and nulls_last else bound


def keyset(c: Collection, q: ItemQuery, key: tuple[Any, ...], b: Binder, *,
           reverse: bool = False, rel: Release | None = None) -> str:
    """The rows strictly after `key` in the page order (before it when `reverse`), as SQL over
    rows `t` with bound values: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..., NULL-aware, plus a
    range bound on the first key so that its index starts the scan at the cursor."""
    keys = [(name, desc != reverse) for name, desc in page_keys(c, q)]
    if len(key) != len(keys):
        raise ValueError("cursor key does not match the page order")
    terms: list[str] = []
    equal: list[str] = []
    for (name, desc), value in zip(keys, key, strict=True):
        terms.append(" AND ".join([*equal, _after(c, name, desc, value, b,
                                                  nulls_last=not reverse)]))
        equal.append(f"t.{name} IS NULL" if value is None else f"t.{name} = {b.bind(value)}")
    either = " OR ".join(f"({t})" for t in terms)
    if len(keys) == 1:
        return either
    first = _not_before(c, keys[0][0], keys[0][1], key[0], b, rel, nulls_last=not reverse)
    return f"{first} AND ({either})"


@dataclass(frozen=True)
class Page:
    returned: int
    body: str  # the features as one JSON array body without brackets
    more: bool  # rows beyond this page in its direction (after it; before it for a prev page)
    first: list[Any] | None  # page-order keys of the first and last features, for cursors
    last: list[Any] | None
    matched: int | None = None  # every row the selection matches, when counted (see count_cap)


def _count_sql(c: Collection, q: ItemQuery, rel: Release, params: dict[str, Any],
               cap: int) -> str:
    """SQL of the number of rows the selection matches (every page of it), counted no further
    than `cap` + 1: bounded whatever the layer holds."""
    where = _where(c, q, params, rel)
    return (f"(SELECT count(*) FROM (SELECT 1 FROM {source(c, rel)} t WHERE {where} "  # noqa: S608
            f"LIMIT {int(cap) + 1}) n)")


def _page_sql(c: Collection, q: ItemQuery, rel: Release, params: dict[str, Any],
              count_cap: int | None = None) -> str:
    """The page statement (see `page`); its values go into `params`. With `count_cap`, it
    also counts the selection's matches (up to the cap + 1)."""
    matched = "NULL::bigint" if count_cap is None else _count_sql(c, q, rel, params, count_cap)
    # the page size is written into the text, not bound: a prepared page then has a plan for
    # its size that PostgreSQL can keep (with LIMIT and OFFSET bound, a generic plan assumes
    # 10% of the rows and costs more than a custom one, so every execution was planned again)
    limit = int(q.limit)
    offset = ":offset" if q.offset else "0"
    if q.offset:
        params["offset"] = q.offset
    where = _where(c, q, params, rel)
    reverse = q.before is not None
    cursor = q.before if reverse else q.after
    if cursor is not None:
        where += " AND " + keyset(c, q, cursor, Binder(params, prefix="k"), reverse=reverse,
                                    rel=rel)
    feature = _feature_sql(c, q, Binder(params, prefix="g"), rel)
    key = "json_build_array(" + ", ".join(f"t.{n}" for n, _ in page_keys(c, q)) + ")::text"
    return f"""
        SELECT count(*) FILTER (WHERE p.n <= {limit}) AS returned,
               coalesce(string_agg(p.feature, ',' ORDER BY p.n {'DESC' if reverse else 'ASC'})
                        FILTER (WHERE p.n <= {limit}), '') AS body,
               count(*) > {limit} AS more,
               min(p.key) FILTER (WHERE p.n = 1) AS nearest,
               (array_agg(p.key ORDER BY p.n DESC) FILTER (WHERE p.n <= {limit}))[1] AS farthest,
               {matched} AS matched
        FROM (SELECT {feature} AS feature, {key} AS key, row_number() OVER () AS n
              FROM ({_picked(c, q, rel, where, reverse=reverse, limit=str(limit + 1),
                             offset=offset)}) t) p
    """  # noqa: S608 - identifiers from the Collection whitelist


def _page_of(q: ItemQuery, row: Sequence[Any]) -> Page:
    count, body, more, nearest, farthest, matched = row
    first, last = (farthest, nearest) if q.before is not None else (nearest, farthest)
    return Page(int(count), str(body), bool(more), orjson.loads(first) if first else None,
                orjson.loads(last) if last else None, None if matched is None else int(matched))


def page(c: Collection, q: ItemQuery, rel: Release, *, session: Session,
         count_cap: int | None = None) -> Page:
    """One page in one statement: `limit` + 1 rows in the page order after `q.after` (before
    `q.before`, read backwards and returned forwards), or at `q.offset`; the extra row only
    tells whether there is more. Each page costs the same however deep it is. With
    `count_cap` (a small layer), the same statement counts the matches (`Page.matched`)."""
    params: dict[str, Any] = {}
    sql = _page_sql(c, q, rel, params, count_cap)
    # an unfiltered page is planned once per connection (prepared, on the autocommit read
    # pool); a filtered one is planned for its values each time (a generic plan cannot know
    # how many rows a bbox or a time window matches)
    row = (session.execute(text(sql), params).one() if q.filtered
           else prepared.one(session, sql, params))
    return _page_of(q, row)


def _page_with_meta_sql(c: Collection, q: ItemQuery, rel: Release, key_id: str | None,
                        count_cap: int) -> tuple[str, dict[str, Any]]:
    """The page, the layer's version and the key's row; the matches are counted only when the
    layer holds at most `count_cap` rows (an uncorrelated subquery under CASE: PostgreSQL runs
    it only when the CASE needs it)."""
    if q.filtered:
        raise ValueError("a filtered page is planned for its values (see page)")
    params: dict[str, Any] = {}
    meta_columns, meta_from = _meta_sql(c.table, key_id, params)
    page_sql = _page_sql(c, q, rel, params)
    count_sql = _count_sql(c, q, rel, params, count_cap)
    return (f"SELECT {meta_columns}, pg.returned, pg.body, pg.more, pg.nearest, "  # noqa: S608
            f"pg.farthest, CASE WHEN v.row_count <= {int(count_cap)} THEN {count_sql} END "
            f"FROM {meta_from} CROSS JOIN ({page_sql}) pg"), params


async def page_with_meta_async(c: Collection, q: ItemQuery, rel: Release, key_id: str | None,
                               *, reads: AsyncReadPool, count_cap: int
                               ) -> tuple[LayerVersion | None, dict[str, Any] | None, Page]:
    """An unfiltered page (see `page`), the layer's data version and, when `key_id` is given,
    that API key's row (see `version_and_key`), in ONE prepared statement on the event loop
    (`server.db.async_reads`): a request's only round trip. `rel` is the release of the
    principal the key acted as last time; the caller checks the key row (read in the same
    snapshot) before anything of the page is output."""
    row = await prepared.one_async(reads, *_page_with_meta_sql(c, q, rel, key_id, count_cap))
    ver, key = _meta_of(c.table, row)
    return ver, key, _page_of(q, row[_META_WIDTH:])


def list_page(c: Collection, q: ItemQuery, rel: Release, *, session: Session) -> tuple[int, str]:
    """Return (numberReturned, the features as one JSON array body without brackets)."""
    found = page(c, q, rel, session=session)
    return found.returned, found.body


def estimate(c: Collection, q: ItemQuery, rel: Release, *, session: Session) -> float:
    """The planner's estimate of the rows matching `q` (no rows are read)."""
    params: dict[str, Any] = {}
    where = _where(c, q, params, rel)
    sql = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {source(c, rel)} t WHERE {where}"  # noqa: S608
    plan = session.execute(text(sql), params).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


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


_KEY_COLUMNS = ("id", "key_hash", "role", "org", "expires_at", "revoked_at")
_META_WIDTH = 3 + len(_KEY_COLUMNS)


def _meta_sql(layer: str, key_id: str | None, params: dict[str, Any]) -> tuple[str, str]:
    """(columns, FROM) of one row: the layer's version (v.*) and, when `key_id` is given, that
    key's row (k.*), NULLs when absent; values bound into `params`."""
    params["layer"] = layer
    keyed = ""
    columns = ", ".join(["NULL"] * len(_KEY_COLUMNS))
    if key_id is not None:
        params["key_id"] = key_id
        keyed = " LEFT JOIN api_keys k ON k.id = :key_id"
        columns = ", ".join(f"k.{name}" for name in _KEY_COLUMNS)
    return (f"v.version, v.row_count, v.changed_at, {columns}",
            f"(SELECT 1) one LEFT JOIN layer_versions v ON v.layer = :layer{keyed}")


def _meta_of(layer: str, row: Sequence[Any]) -> tuple[LayerVersion | None, dict[str, Any] | None]:
    ver = None if row[0] is None else LayerVersion(layer, int(row[0]), int(row[1]), row[2])
    key = None
    if row[3] is not None:
        key = dict(zip(_KEY_COLUMNS, row[3:_META_WIDTH], strict=True))
    return ver, key


def _with_version_sql(c: Collection, feature_id: int, rel: Release, q: ItemQuery | None,
                      key_id: str | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"id": feature_id, **rel.params}
    meta_columns, meta_from = _meta_sql(c.table, key_id, params)
    feature = _feature_sql(c, q or ItemQuery(), Binder(params, prefix="g"), rel)
    return f"""SELECT {meta_columns},
                      (SELECT {feature} FROM {source(c, rel)} t WHERE t.{c.id_column} = :id)
               FROM {meta_from}""", params  # noqa: S608


def get_with_version(c: Collection, feature_id: int, rel: Release, q: ItemQuery | None = None,
                     *, key_id: str | None = None, session: Session
                     ) -> tuple[LayerVersion | None, dict[str, Any] | None, str | None]:
    """The layer's data version, when `key_id` is given that API key's row (see
    `version_and_key`), and one feature, in ONE read-only round trip: the session's connection
    runs in autocommit when this is its first use (no BEGIN/ROLLBACK for a single-statement
    read), and there the statement is prepared once per connection (see `prepared`). A row
    `rel` does not release is absent (None), exactly like a missing one. With a key, `rel` is
    the release of the principal the key acted as last time: the caller checks the key row
    (read in the same snapshot) before anything of the feature is output."""
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = prepared.one(session, *_with_version_sql(c, feature_id, rel, q, key_id))
    ver, key = _meta_of(c.table, row)
    return ver, key, row[_META_WIDTH]


async def get_with_version_async(c: Collection, feature_id: int, rel: Release,
                                 q: ItemQuery | None = None, *, key_id: str | None = None,
                                 reads: AsyncReadPool
                                 ) -> tuple[LayerVersion | None, dict[str, Any] | None, str | None]:
    """`get_with_version` on the event loop (`server.db.async_reads`): no worker thread."""
    row = await prepared.one_async(reads, *_with_version_sql(c, feature_id, rel, q, key_id))
    ver, key = _meta_of(c.table, row)
    return ver, key, row[_META_WIDTH]


def version_and_key(layer: str, key_id: str | None, *,
                    session: Session) -> tuple[LayerVersion | None, dict[str, Any] | None]:
    """The layer's data version and, when `key_id` is given, that API key's row (None when
    absent), in ONE round trip, prepared when the session's connection is in autocommit (the
    read pool; see `prepared`). The key row is judged by `services.keys.check`, exactly as a look-up alone."""
    params: dict[str, Any] = {}
    columns, from_ = _meta_sql(layer, key_id, params)
    return _meta_of(layer, prepared.one(session, f"SELECT {columns} FROM {from_}", params))  # noqa: S608


def rows(c: Collection, q: ItemQuery, rel: Release, *,
         session: Session) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Plain rows for tabular exports: id, the chosen properties, lon, lat, WKT (in q.srid),
    then the release notes (constant columns) when `rel` obfuscates anything."""
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    where = _where(c, q, params, rel)
    b = Binder(params, prefix="g")
    names = [p for p in dict.fromkeys(q.properties if q.properties is not None else c.properties)
             if p in c.properties and p not in rel.hidden]
    geom = "t.geom" if q.srid == 4326 else f"ST_Transform(t.geom, {b.bind(q.srid)})"
    notes = sorted(rel.notes.items())
    cols = ", ".join([f"t.{c.id_column}", *(f"t.{n}" for n in names),
                      "round(ST_X(ST_PointOnSurface(t.geom))::numeric, 7)::float8",
                      "round(ST_Y(ST_PointOnSurface(t.geom))::numeric, 7)::float8",
                      f"ST_AsText({geom}, {int(q.decimals)})",
                      *(f"CAST({b.bind(value)} AS text)" for _, value in notes)])
    reverse = q.before is not None
    cursor = q.before if reverse else q.after
    if cursor is not None:
        where += " AND " + keyset(c, q, cursor, Binder(params, prefix="k"), reverse=reverse,
                                    rel=rel)
    sql = (f"SELECT {cols} FROM ({_picked(c, q, rel, where, reverse=reverse, limit=':limit')}) "  # noqa: S608
           "t")
    result = [tuple(r) for r in session.execute(text(sql), params).all()]
    header = [c.id_column, *names, "lon", "lat", "wkt", *(name for name, _ in notes)]
    return header, result[::-1] if reverse else result


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
        bbox = _outward([float(n) for n in nums])
    return {"bbox": bbox, "start": tmin, "end": tmax, "count": int(count)}


def _outward(box: list[float], decimals: int = 7) -> list[float]:
    """`box` at the precision features are printed at (7 decimals of a degree), rounded
    outward: it still holds every printed feature (a point at 35.800000000000004 prints 35.8,
    and so must the box's edge)."""
    scale = 10**decimals
    return [math.floor(box[0] * scale) / scale, math.floor(box[1] * scale) / scale,
            math.ceil(box[2] * scale) / scale, math.ceil(box[3] * scale) / scale]


def count_all(c: Collection, *, session: Session) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {c.table}")).scalar_one())  # noqa: S608
