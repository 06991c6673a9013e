"""Set-based loads of CSV files: the rules of UCDP GED, ACLED, HXL-tagged and generic (column
mapping) incident files, and HXL 3W aid deliveries, written in SQL over the file COPYed as is,
giving the same accepted rows and reason codes as the row-wise transforms (the reference).

Per-row work is SQL only. Values whose parse rules are Python's (dates, counts, coordinates that
are not plain decimals, event type slugs) are parsed by the reference functions once per DISTINCT
value (a few hundred dates in a year of events) and joined back, so the two paths cannot disagree
on them; so are the place names of rows to geocode (the gazetteer's candidates, once per distinct
name and admin area) and the hashed ids of HXL rows without one (once per distinct row).
Any file the COPY cannot read exactly as csv.reader does goes the row-wise way (`None`)."""

# ruff: noqa: S608 - SQL built from constants and the job's own fragments; values are bound

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from etl.gazetteer import INVISIBLE_CHARS, Gazetteer
from etl.jobs import specs
from etl.loaders import copy_csv, repairs
from etl.loaders.spec import TableSpec
from etl.records import Context
from etl.sources.tabular import CsvLayout, SourceError, hxl_tags, sniff_csv
from etl.transforms import acled, checks, generic, hxl, ucdp
from etl.transforms import dates as day_month

DUPLICATE_ID = "duplicate_source_id_in_file"
# plain decimals PostgreSQL and Python read alike: no exponent, and at most PLAIN_CHARS characters,
# so no overflow or underflow either way (an unbounded pattern plus a length test: PostgreSQL's
# regex engine runs bounded repetitions like {1,15} several times slower)
PLAIN_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
PLAIN_CHARS = 47


def staged(spec: TableSpec, sources: dict[str, str]) -> dict[str, str]:
    """Each staged field of `spec` -> the SQL of its value over the checked rows: the checked
    column of its name unless `sources` says otherwise (a field no format's rules make is NULL:
    copy_csv.stage_accepted)."""
    return {name: sources.get(name, name) for name in spec.staged_fields}


#: the incident fields whose checked column has another name
INCIDENT_SOURCES = {"settlement_id": "gazetteer_id"}
STAGED = staged(specs.INCIDENTS, INCIDENT_SOURCES)
STAGED_AID = staged(specs.AID_DELIVERIES, {"gazetteer_ref": "gazetteer_id::text"})
AOI = "etl_aoi"  # the area of interest's parts (core, outer, inner), GiST-indexed
HXL_PREAMBLE_ROWS = 100  # the tag row is looked for in the file's first rows


class RowWise(Exception):  # noqa: N818 - not an error: a decision
    """The file is the row-wise path's by design (dates whose day/month order its columns
    disagree on, or dates of a year or a month): the runner loads it row by row, silently."""


@dataclass(frozen=True)
class SqlLoadOutcome:
    read: int
    accepted: int  # staged in stage_<table> for the upsert
    repaired: int
    reasons: dict[str, int]
    quarantined: int
    repairs: dict[str, int] = field(default_factory=dict)  # rule -> accepted rows repaired
    warnings: list[str] = field(default_factory=list)


def _parse(parse: Any, value: str) -> tuple[str, Any, bool]:
    try:
        return value, parse(value), False
    except ValueError:
        return value, None, True


def _count(value: str) -> tuple[str, Any, bool]:
    """checks.parse_int's value, held in a bigint: one past checks.MAX_COUNT stands for every
    larger count (out of range whatever its size; 1e308 does not fit a bigint)."""
    text, parsed, bad = _parse(checks.parse_int, value)
    if parsed is not None:
        parsed = max(-checks.MAX_COUNT - 1, min(parsed, checks.MAX_COUNT + 1))
    return text, parsed, bad


def plain(value: str) -> str:
    """SQL: whether `value` is a plain decimal (the pattern bound as :plain)."""
    return f"({value} ~ :plain AND length({value}) <= {PLAIN_CHARS})"


def _case(expr: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def _uniq_function(conn: Connection) -> None:
    conn.execute(text("""
        CREATE OR REPLACE FUNCTION pg_temp.etl_uniq(a text[]) RETURNS text[]
        LANGUAGE sql IMMUTABLE AS $$
          SELECT coalesce(array_agg(x ORDER BY i), '{}') FROM (
            SELECT x, min(i) AS i FROM unnest(a) WITH ORDINALITY u(x, i)
            WHERE x IS NOT NULL GROUP BY x) s
        $$
    """))


def _mapped(fields: dict[str, int], mapping: dict[str, str] | None) -> dict[str, int]:
    """The runner's column mapping (etl.runner._mapped) applied to a row's field -> column."""
    out = dict(fields)
    for target, column in (mapping or {}).items():
        if column in fields:
            out[target] = fields[column]
    return out


# gazetteer.INVISIBLE as a PostgreSQL pattern (the database is UTF-8: the escapes are valid)
INVISIBLE_SQL = "E'[" + "".join(f"\\u{ord(c):04x}" for c in INVISIBLE_CHARS) + "]'"


class _File:
    """The COPYed file as SQL over etl_raw `r`. `fields`: the row's dict as the row-wise path
    builds it (name -> column number; the last column of a name wins), its raw payload;
    `index`: the names the transform reads (renamed, e.g. lower case)."""

    def __init__(self, layout: CsvLayout, space: str, fields: dict[str, int],
                 rename: Callable[[str], str] = str) -> None:
        self.layout = layout
        self.space = space  # the whitespace str.strip() would strip from this file's values
        self.unterminated = False  # no line end after the last row (copy_csv.Copied)
        self.fields = fields
        self.index = {rename(name): column for name, column in fields.items()}

    def col(self, name: str) -> str:
        return f"r.c{self.index[name]}" if name in self.index else "NULL::text"

    def txt(self, name: str) -> str:
        """The stripped value, NULL when blank (checks.text)."""
        return copy_csv.text_sql(self.col(name), self.space)

    def first(self, names: Iterable[str]) -> str:
        """The first stripped value that is not blank among the fields `names` (in order)."""
        known = [copy_csv.text_sql(f"r.c{self.index[n]}", self.space)
                 for n in names if n in self.index]
        return "NULL::text" if not known else known[0] if len(known) == 1 else \
            f"coalesce({', '.join(known)})"

    def tag(self, *wanted: str) -> str:
        """hxl.tag's value, stripped: the first that is not blank among the matching hashtags."""
        return self.first(hxl.tag_keys(self.index, *wanted))

    def key(self, value: str) -> str:
        """checks.key over the SQL `value` (stripped): without the characters that do not show
        (gazetteer.INVISIBLE), stripped again, NULL when nothing is left."""
        return copy_csv.text_sql(f"regexp_replace({value}, {INVISIBLE_SQL}, '', 'g')", self.space)

    def given(self, name: str) -> str:
        """Whether the raw value is not empty (Python's truthiness of the unstripped string)."""
        return f"coalesce({self.col(name)}, '') <> ''"

    def stripped(self, name: str, missing: str = "") -> str:
        if name not in self.index:
            return f"'{missing}'"
        return f"btrim(coalesce({self.col(name)}, ''), {self.space})"

    def not_blank(self) -> str:
        return " OR ".join(f"{copy_csv.text_sql(f'r.c{i + 1}', self.space)} IS NOT NULL"
                           for i in range(len(self.layout.columns)))


def _copy(conn: Connection, path: Path, headers: dict[int, list[str]] | None,
          mapping: dict[str, str] | None = None, rename: Callable[[str], str] = str, *,
          ctx: Context) -> _File | None:
    try:
        layout: CsvLayout = sniff_csv(path, headers, ctx.options.get("encoding"))
    except SourceError:
        return None
    if not layout.detected.clean:  # rows to quarantine as encoding_error: the row-wise path's
        return None
    meter = ctx.options.get("meter")
    copied = copy_csv.copy_raw(conn, path, encoding=layout.encoding,
                               skip_bytes=layout.skip_bytes, delimiter=layout.delimiter,
                               columns=len(layout.columns), header_row=layout.header_row,
                               seen=meter.copied if meter is not None else None)
    if meter is not None and copied is not None:
        meter.phase(copied.rows, "checking")
    if copied is None:
        return None
    columns = {name: i + 1 for i, name in enumerate(layout.columns)}
    f = _File(layout, copied.space, _mapped(columns, mapping), rename)
    f.unterminated = copied.unterminated
    return f


def _copy_hxl(conn: Connection, path: Path, mapping: dict[str, str] | None, *, ctx: Context
              ) -> _File | None:
    """The COPYed HXL file with fields keyed by hashtag as etl.sources.tabular.read_hxl keys
    them; the rows above the tag row (and the tag row) and blank rows removed from etl_raw."""
    f = _copy(conn, path, None, ctx=ctx)
    if f is None:
        return None
    header = list(f.fields)  # names once each; the last column of a name wins
    names = ", ".join(f"r.c{i + 1}" for i in range(len(f.layout.columns)))
    head = conn.execute(text(f"SELECT r.line, {names} FROM {copy_csv.RAW} r ORDER BY r.line "
                             f"LIMIT {HXL_PREAMBLE_ROWS}")).all()
    found = _tag_row(header, f.fields, [(int(line), cells) for line, *cells in head])
    if found is None:
        return None
    line, tags, is_data = found
    conn.execute(text(f"DELETE FROM {copy_csv.RAW} r WHERE r.line < :line "
                      f"OR (r.line = :line AND NOT :is_data) OR NOT ({f.not_blank()})"),
                 {"line": line, "is_data": is_data})
    by_tag = {t: f.fields[h] for t, h in zip(tags, header, strict=False) if t}
    tagged = _File(f.layout, f.space, _mapped(by_tag, mapping))
    tagged.unterminated = f.unterminated
    return tagged


def _tag_row(header: list[str], fields: dict[str, int], rows: list[tuple[int, list[str | None]]]
             ) -> tuple[int, list[str | None], bool] | None:
    """read_hxl's tag row among the file's first rows: its line, the tags, whether it is data."""
    for line, values in rows:
        cells = [c or "" for c in values]
        if not any(c.strip() for c in cells):  # read_csv skips blank rows
            continue
        found = hxl_tags(header, [cells[fields[h] - 1] for h in header])
        if found is not None:
            return line, found[0], found[1]
    return None


def _date_order(conn: Connection, ctx: Context, dates: list[str], values: list[str],
                warnings: list[str]) -> Callable[[str], str]:
    """The order each d/m/y value is read in (etl.transforms.dates.orders_of over each date
    column's distinct values, as the row-wise path decides); RowWise when a value is
    ambiguous_date (the row-wise path quarantines it with its other reasons)."""
    forced = ctx.options.get("date_order")
    if forced or not any(day_month.day_month(v) is not None for v in values):
        return lambda _v: str(forced or day_month.AUTO)
    columns = {str(i): [v for v in copy_csv.distinct_values(conn, [expression])
                        if day_month.day_month(v) is not None]
               for i, expression in enumerate(dates)}
    by_value, warned = day_month.orders_of({k: v for k, v in columns.items() if v})
    if day_month.CONFLICT in by_value.values():
        raise RowWise("dates whose day/month order the file does not settle")
    warnings.extend(warned)
    return lambda v: by_value.get(day_month.key(v), day_month.AUTO)


def _lookups(conn: Connection, ctx: Context, *, dates: list[str], counts: list[str],
             lon: str, lat: str, place: tuple[str, str] | None = None,
             periods: bool = False) -> list[str]:
    """Values parsed by the reference functions, once per distinct value (SQL expressions over
    etl_raw `r`): etl_lk_date, etl_lk_count, etl_lk_coord (coordinates that are not plain
    decimals) and etl_lk_place (`place`: name and admin area of rows without coordinates, when
    the job geocodes: the gazetteer's candidates)."""
    date_values = copy_csv.distinct_values(conn, dates)
    warnings: list[str] = []
    order = _date_order(conn, ctx, dates, date_values, warnings)
    if periods and any(day_month.period(v) is not None for v in date_values):
        raise RowWise("dates of a year or a month")
    copy_csv.lookup_table(conn, "etl_lk_date", "timestamptz", [
        _parse(lambda v: checks.parse_datetime(v, order(v)), v)
        for v in date_values])
    count_values = copy_csv.distinct_values(conn, counts)
    copy_csv.lookup_table(conn, "etl_lk_count", "bigint",
                          [_count(v) for v in count_values])
    coord_values = copy_csv.distinct_values(conn, [lon, lat], where=f"NOT {plain('v')}",
                                            params={"plain": PLAIN_DECIMAL})
    copy_csv.lookup_table(conn, "etl_lk_coord", "float8",
                          [_parse(checks.parse_float, v) for v in coord_values])
    gazetteer = ctx.options.get("gazetteer")
    places: list[dict[str, Any]] = []
    if place is not None and isinstance(gazetteer, Gazetteer):
        for key in copy_csv.distinct_values(conn, [_place_key(lon, lat, *place)]):
            name, admin = json.loads(key)
            found = gazetteer.candidates(name, admin)
            one = found[0] if len(found) == 1 else None
            places.append({
                "v": key, "found": len(found), "id": one.id if one else None,
                "lon": one.lon if one else None,
                "lat": one.lat if one else None,
                "detail": None if one else {"place": name,
                                            "candidates": [p.as_detail() for p in found[:10]]}})
    copy_csv.records_table(conn, "etl_lk_place",
                           "v text PRIMARY KEY, found int, id int, lon float8, lat float8, "
                           "detail jsonb",
                           places)
    _uniq_function(conn)
    return warnings


def _place_key(lon: str, lat: str, name: str, admin: str) -> str:
    """checks.locate geocodes a row with no coordinates at all and a place name: the key of its
    (name, admin area) in etl_lk_place, else NULL."""
    return (f"CASE WHEN {lon} IS NULL AND {lat} IS NULL AND {name} IS NOT NULL "
            f"THEN json_build_array({name}, {admin})::text END")


def _hashed_ids(conn: Connection, row_id: str, tags: tuple[str, ...], f: _File) -> str:
    """hxl's id of rows without one (a hash of their values, computed by hxl.row_id once per
    distinct row) in etl_lk_rowid; the SQL of a row's id, its own or the hash."""
    values = f"json_build_array({', '.join(f.tag(t) for t in tags)})::text"
    keys = copy_csv.distinct_values(conn, [f"CASE WHEN {row_id} IS NULL THEN {values} END"])
    copy_csv.lookup_table(conn, "etl_lk_rowid", "text",
                          [(k, hxl.row_id(json.loads(k)), False) for k in keys])
    return f"coalesce({row_id}, (SELECT k.parsed FROM etl_lk_rowid k WHERE k.v = {values}))"


def _slugs(conn: Connection, value: str, slug: Callable[[str], str]) -> None:
    """etl_lk_slug: event types as the transform's slug function writes them."""
    slugs = copy_csv.distinct_values(conn, [value])
    copy_csv.lookup_table(conn, "etl_lk_slug", "text", [(v, slug(v), False) for v in slugs])


def _point_values(lon: str, lat: str, place: str, admin: str) -> str:
    """The lateral values POINT and GEOCODE read: lon_t, lat_t, place, place_key."""
    return (f"{lon} AS lon_t, {lat} AS lat_t, {place} AS place, "
            f"{_place_key(lon, lat, place, admin)} AS place_key")


INCIDENT_DEFAULTS = """NULL::timestamptz AS occurred_until, 'day'::text AS time_precision"""


def _inside(x: str, y: str, kind: str = "outer") -> str:
    """Whether the point (x, y) lies in the area of interest's `kind` (etl_aoi; :everywhere
    when there is none): its box first, then its parts."""
    return (f"(:everywhere OR ({x} BETWEEN :minx AND :maxx AND {y} BETWEEN :miny AND :maxy "
            f"AND EXISTS (SELECT 1 FROM {AOI} a WHERE a.kind = '{kind}' AND ST_Intersects(a.geom, "
            f"ST_SetSRID(ST_MakePoint({x}, {y}), 4326)))))")


def _in_range(x: str, y: str) -> str:
    return f"({x} BETWEEN -180 AND 180 AND {y} BETWEEN -90 AND 90)"


def _area_table(conn: Connection, ctx: Context) -> dict[str, Any]:
    """etl_aoi: the area of interest cut in small parts (ST_Subdivide), and the bound values
    _inside reads."""
    conn.execute(text(f"DROP TABLE IF EXISTS {AOI}"))
    conn.execute(text(f"CREATE TEMP TABLE {AOI} (kind text, geom geometry) ON COMMIT DROP"))
    aoi = ctx.aoi
    if aoi is None:
        return {"everywhere": True, "minx": -180, "miny": -90, "maxx": 180, "maxy": 90}
    for kind in ("core", "outer", "inner"):
        conn.execute(text(f"INSERT INTO {AOI} SELECT :kind, ST_Subdivide(g, 64) FROM "
                          "ST_SetSRID(ST_GeomFromWKB(:wkb), 4326) g WHERE NOT ST_IsEmpty(g)"),
                     {"kind": kind, "wkb": getattr(aoi, f"{kind}_wkb")})
    conn.execute(text(f"CREATE INDEX ON {AOI} USING gist (geom)"))
    conn.execute(text(f"ANALYZE {AOI}"))
    minx, miny, maxx, maxy = aoi.bounds()
    return {"everywhere": False, "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def _number(value: str, is_plain: str) -> str:
    return (f"CASE WHEN {is_plain} THEN {value}::float8 "
            f"ELSE (SELECT k.parsed FROM etl_lk_coord k WHERE k.v = {value}) END")


def _number_bad(value: str, is_plain: str) -> str:
    return f"(NOT {is_plain} AND (SELECT k.bad FROM etl_lk_coord k WHERE k.v = {value}))"


# checks.check_point over v.lon_t / v.lat_t: p.x, p.y and g.outcome ('ok', 'swap' or a reason).
# The OFFSET 0 fences keep each step computed once per row (inlined, p.x and g.outcome would be
# re-evaluated in every expression naming them: ~100 regex matches a row).
POINT = f"""
    CROSS JOIN LATERAL (SELECT {plain("v.lon_t")} AS x, {plain("v.lat_t")} AS y OFFSET 0) pl
    CROSS JOIN LATERAL (SELECT {_number("v.lon_t", "pl.x")} AS x, {_number("v.lat_t", "pl.y")} AS y,
                               {_number_bad("v.lon_t", "pl.x")} AS xbad,
                               {_number_bad("v.lat_t", "pl.y")} AS ybad OFFSET 0) p
    CROSS JOIN LATERAL (SELECT CASE
        WHEN v.lon_t IS NULL OR v.lat_t IS NULL THEN '{checks.MISSING_COORDS}'
        WHEN p.xbad OR p.ybad THEN '{checks.BAD_COORDS}'
        WHEN NOT {_in_range("p.x", "p.y")} THEN
          CASE WHEN {_in_range("p.y", "p.x")} AND {_inside("p.y", "p.x")} THEN 'swap'
               ELSE '{checks.OUT_OF_RANGE}' END
        WHEN NOT {_inside("p.x", "p.y")} THEN
          CASE WHEN {_in_range("p.y", "p.x")} AND {_inside("p.y", "p.x")} THEN 'swap'
               ELSE '{checks.OUTSIDE_AOI}' END
        WHEN NOT :everywhere AND {_in_range("p.y", "p.x")} AND {_inside("p.y", "p.x", "inner")}
             AND NOT {_inside("p.x", "p.y", "core")} THEN '{checks.AMBIGUOUS_COORDS}'
        ELSE 'ok' END AS outcome OFFSET 0) g
"""
# checks.locate: a row with no coordinates and a place name takes the gazetteer's point (v.place_key
# in etl_lk_place gz); o.outcome is g.outcome or 'geocoded' or the place's reason
GEOCODE = f"""
    LEFT JOIN etl_lk_place gz ON gz.v = v.place_key
    CROSS JOIN LATERAL (SELECT CASE WHEN gz.v IS NULL THEN g.outcome
        WHEN gz.found = 1 THEN 'geocoded' WHEN gz.found = 0 THEN '{checks.UNKNOWN_PLACE}'
        ELSE '{checks.AMBIGUOUS_PLACE}' END AS outcome OFFSET 0) o
"""
NO_GEOCODE = """
    LEFT JOIN etl_lk_place gz ON false
    CROSS JOIN LATERAL (SELECT g.outcome AS outcome OFFSET 0) o
"""
POINT_REASON = "CASE WHEN o.outcome NOT IN ('ok', 'swap', 'geocoded') THEN o.outcome END"
LON_LAT = ("CASE o.outcome WHEN 'swap' THEN p.y WHEN 'geocoded' THEN gz.lon ELSE p.x END AS lon, "
           "CASE o.outcome WHEN 'swap' THEN p.x WHEN 'geocoded' THEN gz.lat ELSE p.y END AS lat")
GEOCODED_PRECISION = "CASE o.outcome WHEN 'geocoded' THEN 'settlement' ELSE 'exact' END"


def _date_reason(alias: str, value: str, required: bool) -> str:
    missing = f"'{checks.MISSING_DATE}'" if required else "NULL"
    return (f"CASE WHEN {value} IS NULL THEN {missing} WHEN {alias}.bad THEN '{checks.BAD_DATE}' "
            f"WHEN {alias}.parsed > :now THEN '{checks.FUTURE_DATE}' END")


def _count_reason(alias: str) -> str:
    return (f"CASE WHEN {alias}.bad THEN '{checks.BAD_NUMBER}' "
            f"WHEN {alias}.parsed < 0 THEN '{checks.NEGATIVE_COUNT}' "
            f"WHEN {alias}.parsed > {checks.MAX_COUNT} THEN '{checks.NUMBER_OUT_OF_RANGE}' END")


def _good_date(alias: str) -> str:
    return f"CASE WHEN NOT {alias}.bad AND {alias}.parsed <= :now THEN {alias}.parsed END"


def _good_count(alias: str) -> str:
    return (f"CASE WHEN NOT {alias}.bad AND {alias}.parsed BETWEEN 0 AND {checks.MAX_COUNT} "
            f"THEN {alias}.parsed::int END")


TOO_LONG = f"CASE WHEN tl.field IS NOT NULL THEN '{checks.FIELD_TOO_LONG}' END"


def _too_long(f: _File) -> str:
    """The runner's rule for every job (etl.runner.too_long_id): the first field too long, an id
    longer than checks.MAX_ID_LENGTH, else a value of the file's fields (in the row's dict
    order) longer than :max_field characters; its name (bound as :field_i), else NULL."""
    whens = " ".join(f"WHEN length(r.c{column}) > :max_field THEN CAST(:field_{i} AS text)"
                     for i, column in enumerate(f.fields.values()))
    # characters <= bytes, and a value's byte length is read from its header: the character
    # counts are taken only on a row with a value of more bytes than the limit
    bytes_ = ", ".join(f"octet_length(r.c{column})" for column in f.fields.values())
    fields = f"WHEN greatest({bytes_}) > :max_field THEN CASE {whens} END" if whens else ""
    return f"CASE WHEN length(v.source_id) > {checks.MAX_ID_LENGTH} THEN 'source_id' {fields} END"


def _select(f: _File, *, values: str, joins: str, reasons: list[str], fields: str,
            geocode: bool = False) -> str:
    """The checked rows: line, source_id, reasons (first occurrence order), repaired, detail
    (the place and its candidates when geocoding failed), the staged fields. With `geocode`,
    `values` has v.place_key (_place_key)."""
    return f"""
        SELECT r.line, v.source_id,
               CASE WHEN cardinality(a.reasons) = 0 THEN '{{}}'::text[]
                    ELSE pg_temp.etl_uniq(a.reasons) END AS reasons,
               o.outcome IN ('swap', 'geocoded') AS repaired, o.outcome,
               CASE WHEN tl.field IS NULL THEN gz.detail
                    ELSE coalesce(gz.detail, '{{}}') || jsonb_build_object('field', tl.field)
               END AS detail, {fields}, {LON_LAT},
               CASE o.outcome WHEN 'geocoded' THEN gz.id END AS gazetteer_id,
               o.outcome AS point_outcome
        FROM {copy_csv.RAW} r
        CROSS JOIN LATERAL (SELECT {values}) v
        {joins}
        {POINT}
        {GEOCODE if geocode else NO_GEOCODE}
        CROSS JOIN LATERAL (SELECT {_too_long(f)} AS field OFFSET 0) tl
        CROSS JOIN LATERAL (SELECT array_remove(ARRAY[{", ".join([*reasons, TOO_LONG])}]
                              ::text[], NULL) AS reasons OFFSET 0) a
        WHERE v.source_id IS NOT NULL OR {f.not_blank()}
    """


def _finish(conn: Connection, f: _File, select: str, path: Path, ctx: Context, *, run_id: int,
            source: str, dry_run: bool, layer: str = "incidents", staged: dict[str, str] = STAGED,
            warnings: list[str] | None = None) -> SqlLoadOutcome:
    """Rules applied, rejected rows quarantined, accepted ones staged for the upsert (a dry run
    only counts)."""
    area = _area_table(conn, ctx)
    copy_csv.check(conn, select, {
        "now": ctx.now, "plain": PLAIN_DECIMAL, **area, "duplicate_code": DUPLICATE_ID,
        "max_field": int(ctx.options.get("max_field_chars") or 2**31 - 1),
        **{f"field_{i}": name for i, name in enumerate(f.fields)}})
    if f.unterminated:
        line = copy_csv.cut_last(conn, checks.TRUNCATED_RECORD)
        if line is not None:
            warnings = [*(warnings or []), checks.cut_warning(line)]
    read, accepted, repaired, reason_counts = copy_csv.counts(conn)
    fixed = repairs.from_checked(conn, copy_csv.CHECKED, run_id=None if dry_run else run_id)
    _tally(conn, ctx)
    if not dry_run:
        names = list(f.fields)  # as in the row's dict; names are data: bound, not spliced
        raw_json = "jsonb_build_object(" + ", ".join(
            f"CAST(:name_{i} AS text), coalesce(r.c{f.fields[name]}, '')"
            for i, name in enumerate(names)) + ")"
        copy_csv.quarantine(conn, raw_json, run_id=run_id, layer=layer, source=source,
                            source_path=str(ctx.options.get("url") or path),
                            names={f"name_{i}": name for i, name in enumerate(names)},
                            sha256=ctx.options.get("file_sha256"))
        copy_csv.stage_accepted(conn, layer, staged)
    return SqlLoadOutcome(read, accepted, repaired, reason_counts, read - accepted, fixed,
                       warnings or [])


def _tally(conn: Connection, ctx: Context) -> None:
    """checks.CoordinateTally of the checked rows (the row-wise path's check_point keeps it)."""
    tally = ctx.options.get("coordinate_tally")
    if not isinstance(tally, checks.CoordinateTally):
        return
    judged = ("'ok', 'swap', " f"'{checks.OUT_OF_RANGE}', '{checks.OUTSIDE_AOI}', "
              f"'{checks.AMBIGUOUS_COORDS}'")
    bad = f"('{checks.OUT_OF_RANGE}', '{checks.OUTSIDE_AOI}')"
    counts = conn.execute(text(f"""
        SELECT count(*) FILTER (WHERE point_outcome IN ({judged})),
               count(*) FILTER (WHERE point_outcome = '{checks.OUT_OF_RANGE}'),
               count(*) FILTER (WHERE point_outcome = '{checks.OUTSIDE_AOI}')
        FROM {copy_csv.CHECKED}""")).one()
    tally.judged += int(counts[0])
    tally.out_of_range += int(counts[1])
    tally.outside += int(counts[2])
    room = max(0, tally.SAMPLES - len(tally.samples))
    tally.samples += [(float(x), float(y)) for x, y in conn.execute(text(
        f"SELECT lon, lat FROM {copy_csv.CHECKED} WHERE point_outcome IN {bad} "
        "AND lon <> 'NaN' AND lat <> 'NaN' AND lon::text NOT LIKE '%Infinity' "
        "AND lat::text NOT LIKE '%Infinity' ORDER BY line LIMIT :n"), {"n": room}).tuples()]


def ucdp_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                   headers: dict[int, list[str]], mapping: dict[str, str] | None = None,
                   dry_run: bool = False) -> SqlLoadOutcome | None:
    """Load a UCDP GED CSV set-wise; None when the row-wise path must take it."""
    f = _copy(conn, path, headers, mapping, ctx=ctx)
    if f is None:
        return None
    warned = _lookups(conn, ctx, dates=[f.txt("date_start"), f.txt("date_end")],
             counts=[f.txt("best"), f.txt("low"), f.txt("high")], lon=f.txt("longitude"),
             lat=f.txt("latitude"))
    event_type = _case(f.stripped("type_of_violence"), ucdp.EVENT_TYPES, "NULL")
    reasons = [
        f"CASE WHEN v.source_id IS NULL THEN '{checks.MISSING_ID}' END", POINT_REASON,
        _date_reason("ds", "v.ds", True), _date_reason("de", "v.de", False),
        _count_reason("best"), _count_reason("low"), _count_reason("high"),
        f"CASE WHEN {event_type} IS NULL THEN '{checks.BAD_VOCAB}' END",
    ]
    start, end = _good_date("ds"), _good_date("de")
    reasons.append(f"CASE WHEN {end} < {start} THEN '{checks.INCONSISTENT_DATES}' END")
    low, best, high = _good_count("low"), _good_count("best"), _good_count("high")
    reasons.append(f"CASE WHEN {low} > {best} OR {best} > {high} OR {low} > {high} "
                   f"THEN '{checks.INCONSISTENT_FATALITIES}' END")
    fields = f"""
        {start} AS occurred_at,
        CASE WHEN {end} IS DISTINCT FROM {start} THEN {end} END AS occurred_until,
        {_case(f.stripped("date_prec"), ucdp.TIME_PRECISION, "'day'")} AS time_precision,
        NULL::timestamptz AS reported_at, {event_type} AS event_type,
        {f.txt("conflict_name")} AS sub_event_type,
        {f.txt("side_a")} AS actor1, {f.txt("side_b")} AS actor2,
        {_good_count("best")} AS fatalities, {_good_count("low")} AS fatalities_low,
        {_good_count("high")} AS fatalities_high,
        {_case(f.stripped("where_prec"), ucdp.GEO_PRECISION, "'unknown'")} AS geo_precision,
        {f.txt("where_coordinates")} AS location_name, {f.txt("source_headline")} AS notes,
        CASE WHEN {f.stripped("event_clarity", "1")} = '1' THEN 'confirmed'
             ELSE 'reported' END AS verification_status,
        'public'::text AS sensitivity"""
    values = (f"{f.key(f.txt('id'))} AS source_id, {f.txt('longitude')} AS lon_t, "
              f"{f.txt('latitude')} AS lat_t, {f.txt('date_start')} AS ds, "
              f"{f.txt('date_end')} AS de, {f.txt('best')} AS best, {f.txt('low')} AS low, "
              f"{f.txt('high')} AS high")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_date de ON de.v = v.de
        LEFT JOIN etl_lk_count best ON best.v = v.best
        LEFT JOIN etl_lk_count low ON low.v = v.low
        LEFT JOIN etl_lk_count high ON high.v = v.high"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source, dry_run=dry_run,
                   warnings=warned)


def _acled_timestamp(value: str) -> tuple[str, Any, bool]:
    try:
        return value, acled._timestamp(value), False
    except (ValueError, OverflowError, OSError):
        return value, None, True


def _acled_name(name: str) -> str:
    return acled.ALIASES.get(name.lower(), name.lower())


def acled_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                    mapping: dict[str, str] | None = None, dry_run: bool = False
                    ) -> SqlLoadOutcome | None:
    """Load an ACLED export set-wise, as `etl.transforms.acled` does (rows without coordinates
    geocoded); None when the row-wise path must take it (with `--since`)."""
    if ctx.options.get("since") is not None:
        return None
    f = _copy(conn, path, None, mapping, _acled_name, ctx=ctx)
    if f is None:
        return None
    lon, lat, place = f.txt("longitude"), f.txt("latitude"), f.txt("location")
    admin = f"CASE WHEN {f.given('admin2')} THEN {f.txt('admin2')} ELSE {f.txt('admin1')} END"
    warned = _lookups(conn, ctx, dates=[f.txt("event_date")], counts=[f.txt("fatalities")], lon=lon,
             lat=lat, place=(place, admin))
    stamps = copy_csv.distinct_values(conn, [f.txt("timestamp")])
    copy_csv.lookup_table(conn, "etl_lk_stamp", "timestamptz",
                          [_acled_timestamp(v) for v in stamps])
    _slugs(conn, f.txt("event_type"), acled._slug)
    source_id = f.key(f"CASE WHEN {f.given('event_id_cnty')} THEN {f.txt('event_id_cnty')} "
                      f"WHEN {f.given('data_id')} THEN {f.txt('data_id')} "
                      f"ELSE {f.txt('event_id')} END")
    reasons = [
        f"CASE WHEN v.source_id IS NULL THEN '{checks.MISSING_ID}' END", POINT_REASON,
        _date_reason("ds", "v.ds", True), _count_reason("deaths"),
        f"CASE WHEN v.event_type IS NULL THEN '{checks.MISSING_FIELD}' END",
        f"CASE WHEN ts.bad THEN '{checks.BAD_DATE}' END",
    ]
    sub, disorder = f.txt("sub_event_type"), f.txt("disorder_type")
    notes, origin = f.txt("notes"), f.txt("source")
    fields = f"""
        {_good_date("ds")} AS occurred_at, NULL::timestamptz AS occurred_until,
        {_case(f.stripped("time_precision"), acled.TIME_PRECISION, "'day'")} AS time_precision,
        ts.parsed AS reported_at, slug.parsed AS event_type,
        CASE WHEN {disorder} IS NULL THEN {sub} WHEN {sub} IS NULL THEN '(' || {disorder} || ')'
             ELSE {sub} || ' (' || {disorder} || ')' END AS sub_event_type,
        {f.txt("actor1")} AS actor1, {f.txt("actor2")} AS actor2,
        {_good_count("deaths")} AS fatalities, NULL::int AS fatalities_low,
        NULL::int AS fatalities_high,
        CASE o.outcome WHEN 'geocoded' THEN 'settlement'
             ELSE {_case(f.stripped("geo_precision"), acled.GEO_PRECISION, "'unknown'")}
        END AS geo_precision, v.place AS location_name,
        CASE WHEN {origin} IS NULL THEN {notes}
             WHEN {notes} IS NULL THEN '[source: ' || {origin} || ']'
             ELSE {notes} || ' [source: ' || {origin} || ']' END AS notes,
        'reported'::text AS verification_status, 'public'::text AS sensitivity"""
    values = (f"{source_id} AS source_id, {_point_values(lon, lat, place, admin)}, "
              f"{f.txt('event_date')} AS ds, "
              f"{f.txt('fatalities')} AS deaths, {f.txt('event_type')} AS event_type, "
              f"{f.txt('timestamp')} AS stamp")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_count deaths ON deaths.v = v.deaths
        LEFT JOIN etl_lk_stamp ts ON ts.v = v.stamp
        LEFT JOIN etl_lk_slug slug ON slug.v = v.event_type"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields,
                     geocode=True)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source, dry_run=dry_run,
                   warnings=warned)


def hxl_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                  mapping: dict[str, str] | None = None, dry_run: bool = False
                  ) -> SqlLoadOutcome | None:
    """Load an HXL-tagged incident CSV set-wise, as `etl.transforms.hxl.to_incident` does (rows
    without coordinates geocoded from the gazetteer); None when the row-wise path must take it."""
    f = _copy_hxl(conn, path, mapping, ctx=ctx)
    if f is None:
        return None
    lon, lat, place, admin = f.tag(*hxl.LON), f.tag(*hxl.LAT), f.tag(*hxl.PLACE), f.tag(*hxl.ADMIN)
    warned = _lookups(conn, ctx, dates=[f.tag(*hxl.OCCURRED), f.tag(*hxl.REPORTED)],
             counts=[f.tag(*hxl.KILLED)], lon=lon, lat=lat, place=(place, admin),
             periods=True)
    _slugs(conn, f.tag(*hxl.EVENT_TYPE), hxl.slug)
    source_id = _hashed_ids(conn, f.key(f.tag(*hxl.INCIDENT_ID)), hxl.INCIDENT_ROW, f)
    reasons = [
        f"CASE WHEN v.event_type IS NULL THEN '{checks.MISSING_FIELD}' END",
        _date_reason("ds", "v.ds", True), POINT_REASON, _count_reason("killed"),
    ]
    fields = f"""
        {_good_date("ds")} AS occurred_at, {INCIDENT_DEFAULTS}, {_good_date("rep")} AS reported_at,
        slug.parsed AS event_type, {f.tag(*hxl.SUB_EVENT)} AS sub_event_type,
        {f.tag(*hxl.ACTOR1)} AS actor1, {f.tag(*hxl.ACTOR2)} AS actor2,
        {_good_count("killed")} AS fatalities, NULL::int AS fatalities_low,
        NULL::int AS fatalities_high, {GEOCODED_PRECISION} AS geo_precision,
        v.place AS location_name, {f.tag(*hxl.NOTES)} AS notes,
        'reported'::text AS verification_status, 'public'::text AS sensitivity"""
    values = (f"{source_id} AS source_id, {_point_values(lon, lat, place, admin)}, "
              f"{f.tag(*hxl.OCCURRED)} AS ds, {f.tag(*hxl.REPORTED)} AS rep, "
              f"{f.tag(*hxl.KILLED)} AS killed, {f.tag(*hxl.EVENT_TYPE)} AS event_type")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_date rep ON rep.v = v.rep
        LEFT JOIN etl_lk_count killed ON killed.v = v.killed
        LEFT JOIN etl_lk_slug slug ON slug.v = v.event_type"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields, geocode=True)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source, dry_run=dry_run,
                   warnings=warned)


def generic_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                      mapping: dict[str, str] | None = None, dry_run: bool = False
                      ) -> SqlLoadOutcome | None:
    """Load a CSV of incidents with a column mapping (or the default names) set-wise, as
    `etl.transforms.generic.to_incident` does; None when the row-wise path must take it."""
    f = _copy(conn, path, None, mapping, str.lower, ctx=ctx)
    if f is None:
        return None
    lon, lat = f.first(generic.LON), f.first(generic.LAT)
    place, admin = f.first(generic.PLACE), f.first(generic.ADMIN)
    warned = _lookups(conn, ctx, dates=[f.first(generic.OCCURRED)], counts=[f.first(generic.KILLED)],
             lon=lon, lat=lat, place=(place, admin), periods=True)
    _slugs(conn, f.first(generic.EVENT_TYPE), generic.slug)
    reasons = [
        f"CASE WHEN v.source_id IS NULL THEN '{checks.MISSING_ID}' END", POINT_REASON,
        _date_reason("ds", "v.ds", True), _count_reason("killed"),
        f"CASE WHEN v.event_type IS NULL THEN '{checks.MISSING_FIELD}' END",
    ]
    fields = f"""
        {_good_date("ds")} AS occurred_at, {INCIDENT_DEFAULTS}, NULL::timestamptz AS reported_at,
        slug.parsed AS event_type, {f.txt("sub_event_type")} AS sub_event_type,
        {f.txt("actor1")} AS actor1, {f.txt("actor2")} AS actor2,
        {_good_count("killed")} AS fatalities, NULL::int AS fatalities_low,
        NULL::int AS fatalities_high, {GEOCODED_PRECISION} AS geo_precision,
        v.place AS location_name, {f.txt("notes")} AS notes,
        'reported'::text AS verification_status, 'public'::text AS sensitivity"""
    values = (f"{f.key(f.first(generic.SOURCE_ID))} AS source_id, "
              f"{_point_values(lon, lat, place, admin)}, "
              f"{f.first(generic.OCCURRED)} AS ds, {f.first(generic.KILLED)} AS killed, "
              f"{f.first(generic.EVENT_TYPE)} AS event_type")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_count killed ON killed.v = v.killed
        LEFT JOIN etl_lk_slug slug ON slug.v = v.event_type"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields, geocode=True)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source, dry_run=dry_run,
                   warnings=warned)


def _method(value: str) -> tuple[str, Any, bool]:
    reasons: list[str] = []
    method = checks.check_vocab(value, hxl.METHODS, reasons, default="handover")
    return value, method, bool(reasons)


def hxl_aid_deliveries(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                       mapping: dict[str, str] | None = None, dry_run: bool = False
                       ) -> SqlLoadOutcome | None:
    """Load an HXL 3W CSV of aid deliveries set-wise, as `etl.transforms.hxl.to_aid_delivery`
    does (rows without coordinates geocoded); None when the row-wise path must take it."""
    f = _copy_hxl(conn, path, mapping, ctx=ctx)
    if f is None:
        return None
    lon, lat, place, admin = f.tag(*hxl.LON), f.tag(*hxl.LAT), f.tag(*hxl.PLACE), f.tag(*hxl.ADMIN)
    warned = _lookups(conn, ctx, dates=[f.tag(*hxl.DELIVERED)], counts=[f.tag(*hxl.REACHED)], lon=lon,
             lat=lat, place=(place, admin))
    methods = copy_csv.distinct_values(conn, [f.tag(*hxl.METHOD)])
    copy_csv.lookup_table(conn, "etl_lk_method", "text", [_method(v) for v in methods])
    sectors = copy_csv.distinct_values(conn, [f.tag(*hxl.SECTOR)])
    copy_csv.lookup_table(conn, "etl_lk_sector", "text",
                          [(v, hxl.SECTORS.get(v.lower(), "mixed"), False) for v in sectors])
    source_id = _hashed_ids(conn, f.key(f.tag(*hxl.DELIVERY_ID)), hxl.DELIVERY_ROW, f)
    reasons = [
        _date_reason("ds", "v.ds", True), f"CASE WHEN method.bad THEN '{checks.BAD_VOCAB}' END",
        _count_reason("reached"), POINT_REASON,
    ]
    fields = f"""
        {_good_date("ds")} AS delivered_at, coalesce(method.parsed, 'handover') AS method,
        coalesce(sector.parsed, 'mixed') AS cargo_type, {_good_count("reached")} AS quantity,
        CASE WHEN {_good_count("reached")} IS NOT NULL THEN 'people' END AS unit,
        {f.tag(*hxl.ORGANISATION)} AS organisation, v.place AS location_name,
        {f.tag(*hxl.ACTIVITY)} AS notes, NULL::text AS geonames_ref,
        NULL::text AS agreement_area_ref"""
    values = (f"{source_id} AS source_id, {_point_values(lon, lat, place, admin)}, "
              f"{f.tag(*hxl.DELIVERED)} AS ds, {f.tag(*hxl.REACHED)} AS reached, "
              f"{f.tag(*hxl.METHOD)} AS method, {f.tag(*hxl.SECTOR)} AS sector")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_count reached ON reached.v = v.reached
        LEFT JOIN etl_lk_method method ON method.v = v.method
        LEFT JOIN etl_lk_sector sector ON sector.v = v.sector"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields, geocode=True)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source, dry_run=dry_run,
                   warnings=warned,
                   layer="aid_deliveries", staged=STAGED_AID)
