"""Parse CQL2 (text or JSON) into a pygeofilter AST.

pygeofilter 0.3's CQL2-text grammar follows an older draft: temporal predicates are infix,
`INTERVAL` takes only full timestamps, there is no `S_DWITHIN`. We reuse its grammar and
transformer, amended to accept the CQL2 1.0 forms, so parsing stays in the maintained library."""

from __future__ import annotations

import functools
import os
from typing import Any

import orjson
from lark import Lark, v_args
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.parsers import cql2_json
from pygeofilter.parsers.cql2_text import parser as text_parser

from server.errors import InvalidQueryError
from server.security.nul import nul_path

MAX_FILTER_LENGTH = 20_000
#: filter-lang values read as cql2-text: `cql-text`, the draft's name, is what GDAL (up to 3.6)
#: sends, for comparisons, LIKE/ILIKE, IS NULL, NOT, AND and OR that CQL2 text parses alike
LEGACY_TEXT = ("cql-text",)
FILTER_LANGS = ("cql2-text", "cql2-json", *LEGACY_TEXT)
#: how deeply a filter may nest (NOT, parentheses around a different AND/OR, arithmetic,
#: function calls); a chain of ANDs (or ORs) counts once however long it is
MAX_FILTER_DEPTH = 64

_EXTRA_RULES = r"""
_two: expression "," expression
_num4: full_number "," full_number "," full_number "," full_number
?temporal_predicate: expression _binary_temporal_predicate_func expression -> binary_temporal_predicate
                   | _binary_temporal_predicate_func "(" _two ")" -> temporal_function
?spatial_predicate: _binary_spatial_predicate_func "(" _two ")" -> binary_spatial_predicate
                  | "RELATE" "(" _two "," SINGLE_QUOTED ")" -> relate_spatial_predicate
                  | "BBOX" "(" expression "," _num4 [ "," SINGLE_QUOTED] ")" -> bbox_spatial_predicate
                  | _distance_func "(" _two "," full_number ["," expression] ")" -> distance_predicate

!_distance_func: "S_DWITHIN"i | "DWITHIN"i | "S_BEYOND"i | "BEYOND"i
"""


#: the CQL2 1.0 temporal functions pygeofilter 0.3 knows by their draft names (or not at all)
CQL2_TEMPORAL: dict[str, type[ast.TemporalPredicate]] = {
    "t_disjoint": ast.TimeDisjoint, "t_starts": ast.TimeBegins,
    "t_startedby": ast.TimeBegunBy, "t_finishes": ast.TimeEnds,
    "t_finishedby": ast.TimeEndedBy,
}


@v_args(meta=False, inline=True)
class _Transformer(text_parser.CQLTransformer):  # type: ignore[misc]
    def temporal_function(self, op: Any, lhs: Any, rhs: Any) -> Any:
        name = str(op).lower()
        if name == "t_intersects":
            return ast.TimeOverlaps(lhs, rhs)
        if name in CQL2_TEMPORAL:
            return CQL2_TEMPORAL[name](lhs, rhs)
        return text_parser.TEMPORAL_PREDICATES_MAP[name](lhs, rhs)

    def distance_predicate(self, op: Any, lhs: Any, rhs: Any, distance: Any,
                           units: Any = None) -> Any:
        cls = ast.DistanceBeyond if "BEYOND" in str(op).upper() else ast.DistanceWithin
        if isinstance(units, ast.Attribute):
            units = units.name
        return cls(lhs, rhs, distance, str(units) if units else "meters")

    def like_any(self, lhs: Any, pattern: Any, not_: bool = False) -> Any:
        nocase = False
        if isinstance(pattern, ast.Function) and pattern.name == "lower" \
                and len(pattern.arguments) == 1:
            pattern, nocase = pattern.arguments[0], True
        if not isinstance(pattern, str):
            raise InvalidQueryError("LIKE needs a quoted pattern, e.g. name LIKE 'Al%'")
        return ast.Like(lhs, pattern, nocase=nocase, wildcard="%", singlechar="_",
                        escapechar="\\", not_=not_)

    def not_like_any(self, lhs: Any, pattern: Any) -> Any:
        return self.like_any(lhs, pattern, not_=True)

    def ilike_any(self, lhs: Any, pattern: Any) -> Any:
        if not isinstance(pattern, str):
            raise InvalidQueryError("ILIKE needs a quoted pattern, e.g. name ILIKE 'al%'")
        return ast.Like(lhs, pattern, nocase=True, wildcard="%", singlechar="_",
                        escapechar="\\", not_=False)

    def interval_str(self, start: str, end: str) -> Any:
        return values.Interval(None if start == ".." else start, None if end == ".." else end)

    def timestamp_str(self, value: str) -> Any:
        return ast.Function("timestamp", [value])

    def date_str(self, value: str) -> Any:
        return ast.Function("date", [value])

    def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802 - the grammar's terminal
        """A character literal: a quote inside it is written twice (CQL2 `escapeQuote`)."""
        return str(token)[1:-1].replace("''", "'")


def warm_up() -> None:
    """Build the CQL2 text parser now (at the app's start): the grammar takes a large part of
    a second to build, which the first filtered request would otherwise wait for."""
    _parser()


@functools.cache
def _parser() -> Lark:
    path = os.path.join(os.path.dirname(text_parser.__file__), "grammar.lark")
    with open(path) as fh:
        grammar = fh.read()
    kept: list[str] = []
    skipping = False
    for line in grammar.splitlines():
        if line.startswith(("?temporal_predicate:", "?spatial_predicate:")):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or line.strip() == ""):
            if line.strip() == "":
                skipping = False
            continue
        skipping = False
        if line.startswith("?timestamp:"):
            line = ('?timestamp: "TIMESTAMP"i "(" SINGLE_QUOTED ")" -> timestamp_str\n'
                    '          | "DATE"i "(" SINGLE_QUOTED ")" -> date_str')
        elif line.startswith("?interval:"):
            line = ('?interval: "INTERVAL"i "(" _instant_arg "," _instant_arg ")" -> interval_str\n'
                    '_instant_arg: SINGLE_QUOTED | timestamp')
        elif '"LIKE"i SINGLE_QUOTED' in line:
            line = line.replace("SINGLE_QUOTED", "expression").replace("-> like", "-> like_any")\
                .replace("-> not_like", "-> not_like_any")
            if "-> like_any" in line:  # ILIKE, as GDAL writes a case-insensitive LIKE
                line += ('\n          | expression "ILIKE"i expression'
                         '                                 -> ilike_any')
        elif line.strip() == '| "T_INTERSECTS"i':
            line += "".join(f'\n                        | "{name.upper()}"i' for name in CQL2_TEMPORAL)
        elif line.startswith("DATETIME:"):
            continue
        elif line.startswith("SINGLE_QUOTED:"):  # CQL2: '' is a quote inside a literal
            line = "SINGLE_QUOTED: /'(?:[^']|'')*'/"
        elif line.startswith('            | "NOT"i predicate'):
            line += '\n            | "NOT"i "(" condition ")"   -> not_'
        elif line.startswith("%import .wkt"):
            line = "%import wkt.ewkt_geometry"
        kept.append(line)
    return Lark("\n".join(kept) + _EXTRA_RULES, parser="lalr", maybe_placeholders=False,
                transformer=_Transformer(),
                import_paths=[os.path.dirname(os.path.dirname(text_parser.__file__))])


def parse(raw: str, lang: str | None) -> Any:
    """The AST of a CQL2 filter; a syntax error is a 400 saying where."""
    if len(raw) > MAX_FILTER_LENGTH:
        raise InvalidQueryError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in raw:  # the middleware refuses it in a query already; this is for callers
        raise InvalidQueryError("filter holds a NUL character (%00)", parameter="filter")
    lang = (lang or "cql2-text").lower()
    if lang in LEGACY_TEXT:  # GDAL 3.6 asks for the pre-CQL2 name of the same text subset
        lang = "cql2-text"
    if lang == "cql2-text":
        parser = _parser()  # a grammar error is a bug (500), not the client's fault
        try:
            return _shallow(parser.parse(raw))
        except LarkError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidQueryError(f"filter is not valid CQL2 text: {first}") from None
        except RecursionError:
            raise _too_deep() from None
    if lang == "cql2-json":
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidQueryError("filter is not valid JSON") from None
        where = nul_path(doc)
        if where is not None:  # a \u0000 escape: PostgreSQL text cannot hold it
            raise InvalidQueryError(f"filter holds a NUL character (\\u0000) at {where}",
                                    parameter="filter")
        return parse_json(doc)
    raise InvalidQueryError(f"unsupported filter-lang {lang!r}", supported=["cql2-text", "cql2-json"])


def parse_json(doc: Any) -> Any:
    try:
        return _shallow(cql2_json.parse(_json_distance(doc)))
    except InvalidQueryError:
        raise
    except RecursionError:  # the library and _json_distance recurse over the document
        raise _too_deep() from None
    except Exception as exc:  # the library raises bare Exceptions/ValueErrors/KeyErrors
        raise InvalidQueryError(f"filter is not valid CQL2 JSON: {exc}") from None


def _too_deep() -> InvalidQueryError:
    return InvalidQueryError(
        f"filter nests more than {MAX_FILTER_DEPTH} levels deep (NOT, brackets around a "
        "different AND/OR, arithmetic, functions); a chain of AND (or OR) terms counts once, "
        "so write a long list as one chain, or with IN (...)", max_depth=MAX_FILTER_DEPTH)


def _shallow(tree: Any) -> Any:
    """`tree`, if it nests at most MAX_FILTER_DEPTH levels (a chain of one AND/OR counts once:
    the SQL translation flattens it), else a 400. Walked without recursion, so that the
    translation, which recurses, only ever sees a bounded depth."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FILTER_DEPTH:
            raise _too_deep()
        if not isinstance(node, ast.Node):
            continue
        chain = type(node) if isinstance(node, ast.And | ast.Or) else None
        stack.extend((sub, depth if chain is not None and type(sub) is chain else depth + 1)
                     for sub in node.get_sub_nodes())
    return tree


def _json_distance(node: Any) -> Any:
    """CQL2-JSON `s_dwithin` (args: property, geometry, distance[, units]) -> an AST node."""
    if isinstance(node, list):
        return [_json_distance(n) for n in node]
    if not isinstance(node, dict):
        return node
    op = node.get("op")
    if isinstance(op, str) and op.lower() in ("s_dwithin", "dwithin", "s_beyond", "beyond"):
        args = node.get("args") or []
        if len(args) not in (3, 4):
            raise InvalidQueryError("s_dwithin takes a property, a geometry and a distance")
        lhs, rhs = cql2_json.parse(args[0]), cql2_json.parse(args[1])
        cls = ast.DistanceBeyond if "beyond" in op.lower() else ast.DistanceWithin
        return cls(lhs, rhs, args[2], args[3] if len(args) == 4 else "meters")
    if isinstance(op, str) and op.lower() in CQL2_TEMPORAL:
        args = [_json_distance(a) for a in node.get("args") or []]
        if len(args) != 2:
            raise InvalidQueryError(f"{op} takes two arguments")
        return CQL2_TEMPORAL[op.lower()](cql2_json.parse(args[0]), cql2_json.parse(args[1]))
    if isinstance(op, str) and op.lower() == "t_intersects":
        args = [_json_distance(a) for a in node.get("args") or []]
        if len(args) != 2:
            raise InvalidQueryError("t_intersects takes two arguments")
        return ast.TimeOverlaps(cql2_json.parse(args[0]), cql2_json.parse(args[1]))
    return {k: _json_distance(v) for k, v in node.items()}
