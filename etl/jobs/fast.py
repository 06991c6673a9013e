"""Set-based loads of CSV incident files: UCDP GED's rules written in SQL over the file COPYed as
is, giving the same accepted rows and reason codes as `etl.transforms.ucdp` (the reference).

Per-row work is SQL only. Values whose parse rules are Python's (dates, counts, coordinates that
are not plain decimals) are parsed by the reference functions once per DISTINCT value (a few
hundred dates in a year of events) and joined back, so the two paths cannot disagree on them.
Any file the COPY cannot read exactly as csv.reader does goes the row-wise way (`None`)."""

# ruff: noqa: S608 - SQL built from constants and the job's own fragments; values are bound

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from etl.loaders import copy_csv
from etl.records import Context
from etl.sources.tabular import CsvLayout, SourceError, sniff_csv
from etl.transforms import acled, checks, ucdp

DUPLICATE_ID = "duplicate_source_id_in_file"
# plain decimals PostgreSQL and Python read alike: no exponent, and at most PLAIN_CHARS characters,
# so no overflow or underflow either way (an unbounded pattern plus a length test: PostgreSQL's
# regex engine runs bounded repetitions like {1,15} several times slower)
PLAIN_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
PLAIN_CHARS = 47
STAGED = ["source_id", "occurred_at", "occurred_until", "time_precision", "reported_at",
          "event_type", "sub_event_type", "actor1", "actor2", "fatalities", "fatalities_low",
          "fatalities_high", "geo_precision", "location_name", "notes", "verification_status",
          "sensitivity", "lon", "lat"]


@dataclass(frozen=True)
class FastOutcome:
    read: int
    accepted: int  # staged in stage_incidents
    repaired: int
    reasons: dict[str, int]
    quarantined: int


def _parse(parse: Any, value: str) -> tuple[str, Any, bool]:
    try:
        return value, parse(value), False
    except ValueError:
        return value, None, True


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


class _File:
    """The COPYed file as SQL over etl_raw `r`: a column by name (the last of a name wins)."""

    def __init__(self, layout: CsvLayout, rename: Callable[[str], str] = str) -> None:
        self.layout = layout
        self.index = {rename(name): i + 1 for i, name in enumerate(layout.columns)}

    def col(self, name: str) -> str:
        return f"r.c{self.index[name]}" if name in self.index else "NULL::text"

    def txt(self, name: str) -> str:
        """The stripped value, NULL when blank (checks.text)."""
        return copy_csv.TEXT.format(self.col(name))

    def given(self, name: str) -> str:
        """Whether the raw value is not empty (Python's truthiness of the unstripped string)."""
        return f"coalesce({self.col(name)}, '') <> ''"

    def stripped(self, name: str, missing: str = "") -> str:
        if name not in self.index:
            return f"'{missing}'"
        return f"btrim(coalesce({self.col(name)}, ''), {copy_csv._SPACE})"

    def not_blank(self) -> str:
        return " OR ".join(f"{copy_csv.TEXT.format(f'r.c{i + 1}')} IS NOT NULL"
                           for i in range(len(self.layout.columns)))


def _copy(conn: Connection, path: Path, headers: dict[int, list[str]] | None,
          rename: Callable[[str], str] = str) -> _File | None:
    try:
        layout: CsvLayout = sniff_csv(path, headers)
    except (SourceError, UnicodeDecodeError):
        return None
    rows = copy_csv.copy_raw(conn, path, encoding=layout.encoding, skip_bytes=layout.skip_bytes,
                             delimiter=layout.delimiter, columns=len(layout.columns),
                             header_row=layout.header_row)
    return None if rows is None else _File(layout, rename)


def _lookups(conn: Connection, f: _File, *, dates: list[str], counts: list[str],
             lon: str, lat: str) -> None:
    """Values parsed by the reference functions, once per distinct value: etl_lk_date,
    etl_lk_count and etl_lk_coord (coordinates that are not plain decimals)."""
    date_values = copy_csv.distinct_values(conn, [f.txt(c) for c in dates])
    copy_csv.lookup_table(conn, "etl_lk_date", "timestamptz",
                          [_parse(checks.parse_datetime, v) for v in date_values])
    count_values = copy_csv.distinct_values(conn, [f.txt(c) for c in counts])
    copy_csv.lookup_table(conn, "etl_lk_count", "bigint",
                          [_parse(checks.parse_int, v) for v in count_values])
    coord_values = copy_csv.distinct_values(conn, [f.txt(lon), f.txt(lat)],
                                            where=f"NOT {plain('v')}",
                                            params={"plain": PLAIN_DECIMAL})
    copy_csv.lookup_table(conn, "etl_lk_coord", "float8",
                          [_parse(checks.parse_float, v) for v in coord_values])
    _uniq_function(conn)


def _inside(x: str, y: str) -> str:
    return f"({x} BETWEEN :minx AND :maxx AND {y} BETWEEN :miny AND :maxy)"


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
        WHEN p.x = p.y AND p.x <> 'NaN' THEN '{checks.LON_EQUALS_LAT}'
        WHEN NOT (p.x BETWEEN -180 AND 180 AND p.y BETWEEN -90 AND 90) THEN
          CASE WHEN p.y BETWEEN -180 AND 180 AND p.x BETWEEN -90 AND 90
                    AND {_inside("p.y", "p.x")} THEN 'swap'
               ELSE '{checks.OUT_OF_RANGE}' END
        WHEN NOT {_inside("p.x", "p.y")} THEN
          CASE WHEN {_inside("p.y", "p.x")} THEN 'swap' ELSE '{checks.OUTSIDE_AOI}' END
        ELSE 'ok' END AS outcome OFFSET 0) g
"""
POINT_REASON = "CASE WHEN g.outcome NOT IN ('ok', 'swap') THEN g.outcome END"
LON_LAT = ("CASE g.outcome WHEN 'swap' THEN p.y ELSE p.x END AS lon, "
           "CASE g.outcome WHEN 'swap' THEN p.x ELSE p.y END AS lat")


def _date_reason(alias: str, value: str, required: bool) -> str:
    missing = f"'{checks.MISSING_DATE}'" if required else "NULL"
    return (f"CASE WHEN {value} IS NULL THEN {missing} WHEN {alias}.bad THEN '{checks.BAD_DATE}' "
            f"WHEN {alias}.parsed > :now THEN '{checks.FUTURE_DATE}' END")


def _count_reason(alias: str) -> str:
    return (f"CASE WHEN {alias}.bad THEN '{checks.BAD_NUMBER}' "
            f"WHEN {alias}.parsed < 0 THEN '{checks.NEGATIVE_COUNT}' END")


def _good_date(alias: str) -> str:
    return f"CASE WHEN NOT {alias}.bad AND {alias}.parsed <= :now THEN {alias}.parsed END"


def _good_count(alias: str) -> str:
    return f"CASE WHEN NOT {alias}.bad AND {alias}.parsed >= 0 THEN {alias}.parsed::int END"


def _select(f: _File, *, values: str, joins: str, reasons: list[str], fields: str) -> str:
    """The checked rows: line, source_id, reasons (first occurrence order), repaired, STAGED."""
    return f"""
        SELECT r.line, v.source_id,
               CASE WHEN cardinality(a.reasons) = 0 THEN '{{}}'::text[]
                    ELSE pg_temp.etl_uniq(a.reasons) END AS reasons,
               g.outcome = 'swap' AS repaired, {fields}, {LON_LAT}
        FROM {copy_csv.RAW} r
        CROSS JOIN LATERAL (SELECT {values}) v
        {joins}
        {POINT}
        CROSS JOIN LATERAL (SELECT array_remove(ARRAY[{", ".join(reasons)}]::text[], NULL)
                              AS reasons OFFSET 0) a
        WHERE v.source_id IS NOT NULL OR {f.not_blank()}
    """


def _finish(conn: Connection, f: _File, select: str, path: Path, ctx: Context, *, run_id: int,
            source: str) -> FastOutcome:
    """Rules applied, rejected rows quarantined, accepted ones staged for the upsert."""
    aoi = ctx.aoi
    copy_csv.check(conn, select, {
        "now": ctx.now, "plain": PLAIN_DECIMAL, "minx": aoi[0], "miny": aoi[1],
        "maxx": aoi[2], "maxy": aoi[3], "duplicate_code": DUPLICATE_ID})
    read, accepted, repaired, reason_counts = copy_csv.counts(conn)
    last = {name: i + 1 for i, name in enumerate(f.layout.columns)}  # as in the row's dict
    names = list(last)  # header names are data: bound, not spliced
    raw_json = "jsonb_build_object(" + ", ".join(
        f"CAST(:name_{i} AS text), coalesce(r.c{last[name]}, '')"
        for i, name in enumerate(names)) + ")"
    copy_csv.quarantine(conn, raw_json, run_id=run_id, layer="incidents", source=source,
                        source_path=str(ctx.options.get("url") or path),
                        names={f"name_{i}": name for i, name in enumerate(names)})
    copy_csv.stage_accepted(conn, "incidents", STAGED)
    return FastOutcome(read, accepted, repaired, reason_counts, read - accepted)


def ucdp_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                   headers: dict[int, list[str]]) -> FastOutcome | None:
    """Load a UCDP GED CSV set-wise; None when the row-wise path must take it."""
    f = _copy(conn, path, headers)
    if f is None:
        return None
    _lookups(conn, f, dates=["date_start", "date_end"], counts=["best", "low", "high"],
             lon="longitude", lat="latitude")
    event_type = _case(f.stripped("type_of_violence"), ucdp.EVENT_TYPES, "NULL")
    reasons = [
        f"CASE WHEN v.source_id IS NULL THEN '{checks.MISSING_ID}' END", POINT_REASON,
        _date_reason("ds", "v.ds", True), _date_reason("de", "v.de", False),
        _count_reason("best"), _count_reason("low"), _count_reason("high"),
        f"CASE WHEN {event_type} IS NULL THEN '{checks.BAD_VOCAB}' END",
    ]
    start, end = _good_date("ds"), _good_date("de")
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
    values = (f"{f.txt('id')} AS source_id, {f.txt('longitude')} AS lon_t, "
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
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source)


def _acled_timestamp(value: str) -> tuple[str, Any, bool]:
    try:
        return value, acled._timestamp(value), False
    except (ValueError, OverflowError, OSError):
        return value, None, True


def _acled_name(name: str) -> str:
    return acled.ALIASES.get(name.lower(), name.lower())


def acled_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str
                    ) -> FastOutcome | None:
    """Load an ACLED export set-wise, as `etl.transforms.acled` does; None when the row-wise path
    must take it: with `--since`, or when a row needs the gazetteer (no coordinates, a place)."""
    if ctx.options.get("since") is not None:
        return None
    f = _copy(conn, path, None, _acled_name)
    if f is None:
        return None
    geocode = (f"{f.txt('longitude')} IS NULL AND {f.txt('latitude')} IS NULL "
               f"AND {f.txt('location')} IS NOT NULL")
    if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {copy_csv.RAW} r WHERE {geocode})")
                    ).scalar():
        return None
    _lookups(conn, f, dates=["event_date"], counts=["fatalities"], lon="longitude",
             lat="latitude")
    stamps = copy_csv.distinct_values(conn, [f.txt("timestamp")])
    copy_csv.lookup_table(conn, "etl_lk_stamp", "timestamptz",
                          [_acled_timestamp(v) for v in stamps])
    slugs = copy_csv.distinct_values(conn, [f.txt("event_type")])
    copy_csv.lookup_table(conn, "etl_lk_slug", "text", [(v, acled._slug(v), False) for v in slugs])
    source_id = (f"CASE WHEN {f.given('event_id_cnty')} THEN {f.txt('event_id_cnty')} "
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
        {_case(f.stripped("geo_precision"), acled.GEO_PRECISION, "'unknown'")} AS geo_precision,
        {f.txt("location")} AS location_name,
        CASE WHEN {origin} IS NULL THEN {notes}
             WHEN {notes} IS NULL THEN '[source: ' || {origin} || ']'
             ELSE {notes} || ' [source: ' || {origin} || ']' END AS notes,
        'reported'::text AS verification_status, 'public'::text AS sensitivity"""
    values = (f"{source_id} AS source_id, {f.txt('longitude')} AS lon_t, "
              f"{f.txt('latitude')} AS lat_t, {f.txt('event_date')} AS ds, "
              f"{f.txt('fatalities')} AS deaths, {f.txt('event_type')} AS event_type, "
              f"{f.txt('timestamp')} AS stamp")
    joins = """
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_count deaths ON deaths.v = v.deaths
        LEFT JOIN etl_lk_stamp ts ON ts.v = v.stamp
        LEFT JOIN etl_lk_slug slug ON slug.v = v.event_type"""
    select = _select(f, values=values, joins=joins, reasons=reasons, fields=fields)
    return _finish(conn, f, select, path, ctx, run_id=run_id, source=source)
