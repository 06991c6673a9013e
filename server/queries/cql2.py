"""CQL2 (OGC API - Features Part 3) from a pygeofilter AST to a SQL condition.

Written here rather than with pygeofilter's SQL backends so that every value is a bound parameter
and every property name is checked against the collection's whitelist; anything not understood is
an InvalidQueryError (400), never text in the statement."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from pygeofilter import ast, values

from server.db.collections import Collection
from server.errors import InvalidQueryError

from .binder import Binder

GEOMETRY_NAMES = ("geom", "geometry")
_COMPARE = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
            ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}
_SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
            ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within",
            ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
            ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals"}
_METRES = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
           "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0,
           "kilometres": 1000.0}


class Translator:
    def __init__(self, c: Collection, binder: Binder, *, srid: int = 4326,
                 alias: str = "t") -> None:
        self.c = c
        self.b = binder
        self.srid = srid
        self.alias = alias  # the statement's name for the collection's rows (a constant)

    # --- entry ----------------------------------------------------------------------------
    def condition(self, node: Any) -> str:  # noqa: C901 - one dispatch over the AST
        if isinstance(node, ast.And | ast.Or):
            joiner = " AND " if isinstance(node, ast.And) else " OR "
            return f"({joiner.join(self.condition(term) for term in _chain(node))})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.sub_node)})"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if type(node) in _COMPARE:
            lhs, rhs = self._pair(node.lhs, node.rhs)
            return f"({lhs} {_COMPARE[type(node)]} {rhs})"
        if isinstance(node, ast.Between):
            kind = self._kind(node.lhs)
            expr = self.scalar(node.lhs)
            low, high = self.scalar(node.low, kind), self.scalar(node.high, kind)
            return f"({expr} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high})"
        if isinstance(node, ast.Like):
            if not isinstance(node.pattern, str):
                raise InvalidQueryError("LIKE needs a text pattern")
            op = "ILIKE" if node.nocase else "LIKE"
            lhs = self.scalar(node.lhs)
            return f"({lhs}::text {'NOT ' if node.not_ else ''}{op} {self.b.bind(node.pattern)})"
        if isinstance(node, ast.In):
            kind = self._kind(node.lhs)
            items = ", ".join(self.scalar(v, kind) for v in node.sub_nodes)
            return f"({self.scalar(node.lhs)} {'NOT ' if node.not_ else ''}IN ({items}))"
        if isinstance(node, ast.IsNull):
            return f"({self.scalar(node.lhs)} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.TemporalPredicate):
            return self._temporal(node)
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self._spatial(_SPATIAL[type(node)], node.lhs, node.rhs)
        if isinstance(node, ast.BBox):
            env = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            return self._spatial("ST_Intersects", node.lhs, env)
        if isinstance(node, ast.SpatialDistancePredicate):
            return self._distance(node)
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        raise InvalidQueryError(f"unsupported filter expression: {type(node).__name__}")

    # --- scalars ---------------------------------------------------------------------------
    def _kind(self, node: Any) -> str | None:
        if isinstance(node, ast.Attribute):
            return self._column(node.name)[1]
        return None

    def _column(self, name: str) -> tuple[str, str]:
        if name == self.c.id_column:
            return f"{self.alias}.{self.c.id_column}", "integer"
        kind = self.c.properties.get(name)
        if kind is None or name in GEOMETRY_NAMES:
            queryable = sorted(self.c.properties)
            raise InvalidQueryError(
                f"unknown property {name!r} in filter for {self.c.id}; its queryables are "
                f"{', '.join(queryable)} (/collections/{self.c.id}/queryables)",
                allowed=queryable)
        return f"{self.alias}.{name}", kind

    def _pair(self, lhs: Any, rhs: Any) -> tuple[str, str]:
        kind = self._kind(lhs) or self._kind(rhs)
        return self.scalar(lhs, kind), self.scalar(rhs, kind)

    def scalar(self, node: Any, kind: str | None = None) -> str:  # noqa: C901
        if isinstance(node, ast.Attribute):
            return self._column(node.name)[0]
        if type(node) in _ARITH:
            return f"({self.scalar(node.lhs, kind)} {_ARITH[type(node)]} {self.scalar(node.rhs, kind)})"
        if isinstance(node, ast.Function):
            name = node.name.lower()
            if name in ("lower", "casei", "accenti", "upper") and len(node.arguments) == 1:
                fn = "upper" if name == "upper" else "lower"
                return f"{fn}({self.scalar(node.arguments[0])}::text)"
            if name in ("date", "timestamp") and len(node.arguments) == 1:
                return self._value(_instant(node.arguments[0]), "datetime")
            raise InvalidQueryError(f"unsupported function {node.name!r} in filter")
        if isinstance(node, (str, int, float, bool, datetime, date)):
            return self._value(node, kind)
        raise InvalidQueryError(f"unsupported value in filter: {type(node).__name__}")

    def _value(self, value: Any, kind: str | None) -> str:
        if isinstance(value, bool) or value is None:
            return self.b.bind(value)
        if kind in ("integer", "number"):
            if isinstance(value, str):
                try:
                    value = float(value) if kind == "number" or "." in value else int(value)
                except ValueError:
                    raise InvalidQueryError(f"{value!r} is not a number") from None
            if not isinstance(value, (int, float)):
                raise InvalidQueryError(f"{value!r} is not a number")
            return self.b.bind(value)
        if kind == "datetime":
            return f"CAST({self.b.bind(_instant(value))} AS timestamptz)"
        if kind == "string" and not isinstance(value, str):
            return self.b.bind(str(value))
        if kind == "array":
            raise InvalidQueryError("array properties cannot be compared; use A_CONTAINS")
        return self.b.bind(value)

    # --- temporal --------------------------------------------------------------------------
    def _temporal(self, node: ast.TemporalPredicate) -> str:
        if not isinstance(node.lhs, ast.Attribute):
            raise InvalidQueryError("temporal predicates need a time property first")
        col, kind = self._column(node.lhs.name)
        if kind != "datetime":
            raise InvalidQueryError(f"{node.lhs.name!r} is not a time property")
        rhs = node.rhs
        if isinstance(rhs, values.Interval):
            start = _instant(rhs.start) if rhs.start not in (None, "..") else None
            end = _instant(rhs.end, end=True) if rhs.end not in (None, "..") else None
        elif isinstance(rhs, ast.Function) and rhs.name.lower() == "interval" \
                and len(rhs.arguments) == 2:
            first, second = rhs.arguments
            start = _instant(first) if first not in (None, "..") else None
            end = _instant(second, end=True) if second not in (None, "..") else None
            rhs = values.Interval(start, end)
        else:
            start = _instant(rhs)
            end = _instant(rhs, end=True)
        s = self.b.bind(start) if start else None
        e = self.b.bind(end) if end else None
        parts: list[str] = []
        if isinstance(node, (ast.TimeOverlaps, ast.TimeEquals)) and not isinstance(rhs, values.Interval):
            return f"({col} = {s})" if isinstance(node, ast.TimeEquals) else \
                f"({col} >= {s} AND {col} <= {e})"
        if isinstance(node, (ast.TimeOverlaps, ast.TimeOverlappedBy, ast.TimeContains)):
            parts = [f"{col} >= {s}" if s else "", f"{col} <= {e}" if e else ""]
        elif isinstance(node, ast.TimeDuring):
            parts = [f"{col} > {s}" if s else "", f"{col} < {e}" if e else ""]
        elif isinstance(node, ast.TimeEquals):
            parts = [f"{col} = {s}" if s else "", f"{col} = {e}" if e else ""]
        elif isinstance(node, ast.TimeBefore):
            parts = [f"{col} < {s or e}"]
        elif isinstance(node, ast.TimeAfter):
            parts = [f"{col} > {e or s}"]
        elif isinstance(node, (ast.TimeDisjoint,)):
            low, high = s or "'-infinity'::timestamptz", e or "'infinity'::timestamptz"
            return f"(NOT ({col} >= {low} AND {col} <= {high}))"
        elif isinstance(node, (ast.TimeMeets, ast.TimeBegins, ast.TimeBegunBy)):
            parts = [f"{col} = {s}" if s else "FALSE"]
        elif isinstance(node, (ast.TimeMetBy, ast.TimeEnds, ast.TimeEndedBy)):
            parts = [f"{col} = {e}" if e else "FALSE"]
        else:
            raise InvalidQueryError(f"unsupported temporal predicate {type(node).__name__}")
        kept = [p for p in parts if p]
        return "(" + (" AND ".join(kept) or "TRUE") + ")"

    # --- spatial ---------------------------------------------------------------------------
    def _geometry(self, node: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(node, ast.Function) and node.name.lower() == "bbox" \
                and len(node.arguments) == 4:
            x1, y1, x2, y2 = (float(a) for a in node.arguments)
            node = values.Envelope(x1, x2, y1, y2)
        if isinstance(node, values.Envelope):
            geo = node.geometry
        elif isinstance(node, values.Geometry):
            geo = node.geometry
        else:
            raise InvalidQueryError("spatial predicates need a geometry (WKT or GeoJSON)")
        if not isinstance(geo, dict) or "type" not in geo:
            raise InvalidQueryError("malformed geometry in filter")
        geo = {"type": geo["type"], "coordinates": geo.get("coordinates"),
               **({"geometries": geo["geometries"]} if "geometries" in geo else {})}
        ref = self.b.bind(orjson.dumps(geo).decode())
        srid = self.b.bind(self.srid)
        sql = f"ST_SetSRID(ST_GeomFromGeoJSON({ref}), {srid})"
        if self.srid != 4326:
            sql = f"ST_Transform({sql}, 4326)"
        return sql, geo

    def _geom_attr(self, node: Any) -> str:
        if not (isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES):
            raise InvalidQueryError("spatial predicates compare the geometry property "
                                    f"({' or '.join(GEOMETRY_NAMES)}) with a geometry")
        return f"{self.alias}.geom"

    def _spatial(self, fn: str, lhs: Any, rhs: Any) -> str:
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            fn = {"ST_Within": "ST_Contains", "ST_Contains": "ST_Within"}.get(fn, fn)
        col = self._geom_attr(lhs)
        geom, _ = self._geometry(rhs)
        return f"{fn}({col}, {geom})"

    def _distance(self, node: ast.SpatialDistancePredicate) -> str:
        col = self._geom_attr(node.lhs)
        geom, geo = self._geometry(node.rhs)
        units = (node.units or "meters").lower().strip("'\"")
        if units not in _METRES:
            raise InvalidQueryError(f"unknown distance unit {node.units!r}; use metres or km")
        try:
            metres = float(node.distance) * _METRES[units]
        except (TypeError, ValueError):
            raise InvalidQueryError("distance must be a number") from None
        if not (0 <= metres <= 1_000_000):
            raise InvalidQueryError("distance must be between 0 and 1,000 km")
        # an index-friendly box in degrees that surely contains the metric buffer
        lat = min(85.0, max((abs(y) for y in _ys(geo)), default=0.0) + 1.0)
        deg = metres / (111_320.0 * math.cos(math.radians(lat))) * 1.01 + 1e-9
        m, d = self.b.bind(metres), self.b.bind(deg)
        inside = f"(ST_DWithin({col}, {geom}, {d}) AND ST_DWithin({col}::geography, {geom}::geography, {m}))"
        return inside if isinstance(node, ast.DistanceWithin) else f"(NOT {inside})"


def _chain(node: ast.And | ast.Or) -> list[Any]:
    """The terms of a chain of one operator, in order. The parsers nest `a AND b AND c` as
    ((a AND b) AND c): 1,500 terms are a tree 1,500 deep, too deep to translate recursively."""
    kind = type(node)
    terms: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if type(item) is kind:
            stack += [item.rhs, item.lhs]
        else:
            terms.append(item)
    return terms


def _ys(geo: dict[str, Any]) -> list[float]:
    out: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            out.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for sub in coords:
                walk(sub)

    walk(geo.get("coordinates"))
    return out


def _instant(value: Any, *, end: bool = False) -> datetime:
    """A time literal as an instant: a timestamp, a date (its first or, with `end`, its last
    moment), `TIMESTAMP('...')` / `DATE('...')`, or a string of either (GDAL writes a date as
    `2016-03-01T` and an hour as `2016-03-01T10Z`)."""
    if isinstance(value, ast.Function) and value.name.lower() in ("timestamp", "date") \
            and len(value.arguments) == 1:
        return _instant(value.arguments[0], end=end)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.max if end else time.min).replace(tzinfo=UTC)
    if isinstance(value, str):
        value = value.removesuffix("T")
        try:
            if len(value) == 10:
                return _instant(date.fromisoformat(value), end=end)
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            raise InvalidQueryError(f"{value!r} is not an RFC 3339 date or timestamp") from None
    raise InvalidQueryError(f"{value!r} is not a date or timestamp")


def where(node: Any, c: Collection, binder: Binder, *, srid: int = 4326, alias: str = "t") -> str:
    """The condition over rows named `alias` (a constant of the calling query, never input)."""
    return Translator(c, binder, srid=srid, alias=alias).condition(node)
