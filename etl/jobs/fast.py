"""Set-based loads of CSV incident files: UCDP GED's rules written in SQL over the file COPYed as
is, giving the same accepted rows and reason codes as `etl.transforms.ucdp` (the reference).

Per-row work is SQL only. Values whose parse rules are Python's (dates, counts, coordinates that
are not plain decimals) are parsed by the reference functions once per DISTINCT value (a few
hundred dates in a year of events) and joined back, so the two paths cannot disagree on them.
Any file the COPY cannot read exactly as csv.reader does goes the row-wise way (`None`)."""

# ruff: noqa: S608 - SQL built from constants and the job's own fragments; values are bound

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from etl.loaders import copy_csv
from etl.records import Context
from etl.sources.tabular import CsvLayout, SourceError, sniff_csv
from etl.transforms import checks, ucdp

DUPLICATE_ID = "duplicate_source_id_in_file"
# plain decimals PostgreSQL and Python read alike (no exponent: no overflow either way)
PLAIN_DECIMAL = r"^[+-]?([0-9]{1,15}(\.[0-9]{0,30})?|\.[0-9]{1,30})$"
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


def ucdp_incidents(conn: Connection, path: Path, ctx: Context, *, run_id: int, source: str,
                   headers: dict[int, list[str]]) -> FastOutcome | None:
    """Load a UCDP GED CSV set-wise; None when the row-wise path must take it."""
    try:
        layout: CsvLayout = sniff_csv(path, headers)
    except (SourceError, UnicodeDecodeError):
        return None
    rows = copy_csv.copy_raw(conn, path, encoding=layout.encoding, skip_bytes=layout.skip_bytes,
                             delimiter=layout.delimiter, columns=len(layout.columns),
                             header_row=layout.header_row)
    if rows is None:
        return None
    index = {name: i + 1 for i, name in enumerate(layout.columns)}  # the last of a name wins

    def col(name: str) -> str:
        return f"r.c{index[name]}" if name in index else "NULL::text"

    def txt(name: str) -> str:
        return copy_csv.TEXT.format(col(name))

    def stripped(name: str, missing: str = "") -> str:
        if name not in index:
            return f"'{missing}'"
        return f"btrim(coalesce({col(name)}, ''), {copy_csv._SPACE})"

    not_blank = " OR ".join(f"{txt(c)} IS NOT NULL" for c in layout.columns)
    # values parsed by the reference functions, once per distinct value
    date_values = copy_csv.distinct_values(conn, [txt("date_start"), txt("date_end")])
    copy_csv.lookup_table(conn, "etl_lk_date", "timestamptz",
                          [_parse(checks.parse_datetime, v) for v in date_values])
    count_values = copy_csv.distinct_values(conn, [txt("best"), txt("low"), txt("high")])
    copy_csv.lookup_table(conn, "etl_lk_count", "bigint",
                          [_parse(checks.parse_int, v) for v in count_values])
    coord_values = copy_csv.distinct_values(conn, [txt("longitude"), txt("latitude")],
                                            unlike=PLAIN_DECIMAL)
    copy_csv.lookup_table(conn, "etl_lk_coord", "float8",
                          [_parse(checks.parse_float, v) for v in coord_values])
    _uniq_function(conn)

    def inside(x: str, y: str) -> str:
        return f"({x} BETWEEN :minx AND :maxx AND {y} BETWEEN :miny AND :maxy)"

    def number(value: str) -> str:
        return (f"CASE WHEN {value} ~ :plain THEN {value}::float8 "
                f"ELSE (SELECT k.parsed FROM etl_lk_coord k WHERE k.v = {value}) END")

    def number_bad(value: str) -> str:
        return (f"({value} !~ :plain AND (SELECT k.bad FROM etl_lk_coord k "
                f"WHERE k.v = {value}))")

    def date_reasons(alias: str, value: str, required: bool) -> list[str]:
        missing = f"WHEN {value} IS NULL THEN '{checks.MISSING_DATE}' " if required else \
            f"WHEN {value} IS NULL THEN NULL "
        return [f"CASE {missing}WHEN {alias}.bad THEN '{checks.BAD_DATE}' "
                f"WHEN {alias}.parsed > :now THEN '{checks.FUTURE_DATE}' END"]

    def count_reasons(alias: str) -> list[str]:
        return [f"CASE WHEN {alias}.bad THEN '{checks.BAD_NUMBER}' "
                f"WHEN {alias}.parsed < 0 THEN '{checks.NEGATIVE_COUNT}' END"]

    def good_date(alias: str) -> str:
        return f"CASE WHEN NOT {alias}.bad AND {alias}.parsed <= :now THEN {alias}.parsed END"

    def good_count(alias: str) -> str:
        return f"CASE WHEN NOT {alias}.bad AND {alias}.parsed >= 0 THEN {alias}.parsed::int END"

    event_type = _case(stripped("type_of_violence"), ucdp.EVENT_TYPES, "NULL")
    reasons = [
        f"CASE WHEN v.source_id IS NULL THEN '{checks.MISSING_ID}' END",
        "CASE WHEN g.outcome NOT IN ('ok', 'swap') THEN g.outcome END",
        *date_reasons("ds", "v.ds", True), *date_reasons("de", "v.de", False),
        *count_reasons("best"), *count_reasons("low"), *count_reasons("high"),
        f"CASE WHEN {event_type} IS NULL THEN '{checks.BAD_VOCAB}' END",
    ]
    start, end = good_date("ds"), good_date("de")
    select = f"""
        SELECT r.line, v.source_id,
               CASE WHEN cardinality(a.reasons) = 0 THEN '{{}}'::text[]
                    ELSE pg_temp.etl_uniq(a.reasons) END AS reasons,
               g.outcome = 'swap' AS repaired,
               {start} AS occurred_at,
               CASE WHEN {end} IS DISTINCT FROM {start} THEN {end} END AS occurred_until,
               {_case(stripped("date_prec"), ucdp.TIME_PRECISION, "'day'")} AS time_precision,
               NULL::timestamptz AS reported_at,
               {event_type} AS event_type,
               {txt("conflict_name")} AS sub_event_type,
               {txt("side_a")} AS actor1, {txt("side_b")} AS actor2,
               {good_count("best")} AS fatalities, {good_count("low")} AS fatalities_low,
               {good_count("high")} AS fatalities_high,
               {_case(stripped("where_prec"), ucdp.GEO_PRECISION, "'unknown'")} AS geo_precision,
               {txt("where_coordinates")} AS location_name,
               {txt("source_headline")} AS notes,
               CASE WHEN {stripped("event_clarity", "1")} = '1' THEN 'confirmed'
                    ELSE 'reported' END AS verification_status,
               'public'::text AS sensitivity,
               CASE g.outcome WHEN 'swap' THEN p.y ELSE p.x END AS lon,
               CASE g.outcome WHEN 'swap' THEN p.x ELSE p.y END AS lat
        FROM {copy_csv.RAW} r
        CROSS JOIN LATERAL (SELECT {txt("id")} AS source_id, {txt("longitude")} AS lon_t,
                                   {txt("latitude")} AS lat_t, {txt("date_start")} AS ds,
                                   {txt("date_end")} AS de, {txt("best")} AS best,
                                   {txt("low")} AS low, {txt("high")} AS high) v
        LEFT JOIN etl_lk_date ds ON ds.v = v.ds
        LEFT JOIN etl_lk_date de ON de.v = v.de
        LEFT JOIN etl_lk_count best ON best.v = v.best
        LEFT JOIN etl_lk_count low ON low.v = v.low
        LEFT JOIN etl_lk_count high ON high.v = v.high
        CROSS JOIN LATERAL (SELECT {number("v.lon_t")} AS x, {number("v.lat_t")} AS y,
                                   {number_bad("v.lon_t")} AS xbad,
                                   {number_bad("v.lat_t")} AS ybad OFFSET 0) p
        CROSS JOIN LATERAL (SELECT CASE
            WHEN v.lon_t IS NULL OR v.lat_t IS NULL THEN '{checks.MISSING_COORDS}'
            WHEN p.xbad OR p.ybad THEN '{checks.BAD_COORDS}'
            WHEN p.x = p.y AND p.x <> 'NaN' THEN '{checks.LON_EQUALS_LAT}'
            WHEN NOT (p.x BETWEEN -180 AND 180 AND p.y BETWEEN -90 AND 90) THEN
              CASE WHEN p.y BETWEEN -180 AND 180 AND p.x BETWEEN -90 AND 90
                        AND {inside("p.y", "p.x")} THEN 'swap'
                   ELSE '{checks.OUT_OF_RANGE}' END
            WHEN NOT {inside("p.x", "p.y")} THEN
              CASE WHEN {inside("p.y", "p.x")} THEN 'swap' ELSE '{checks.OUTSIDE_AOI}' END
            ELSE 'ok' END AS outcome OFFSET 0) g
        CROSS JOIN LATERAL (SELECT array_remove(ARRAY[{", ".join(reasons)}]::text[], NULL)
                              AS reasons OFFSET 0) a
        WHERE v.source_id IS NOT NULL OR {not_blank}
    """  # the OFFSET 0 fences keep each step computed once per row (inlined, p.x and g.outcome
    # would be re-evaluated in every expression naming them: ~100 regex matches a row)
    aoi = ctx.aoi
    copy_csv.check(conn, select, {
        "now": ctx.now, "plain": PLAIN_DECIMAL, "minx": aoi[0], "miny": aoi[1],
        "maxx": aoi[2], "maxy": aoi[3], "duplicate_code": DUPLICATE_ID})
    read, accepted, repaired, reason_counts = copy_csv.counts(conn)
    names = list(dict.fromkeys(layout.columns))  # header names are data: bound, not spliced
    raw_json = "jsonb_build_object(" + ", ".join(
        f"CAST(:name_{i} AS text), coalesce({col(name)}, '')" for i, name in enumerate(names)) + ")"
    copy_csv.quarantine(conn, raw_json, run_id=run_id, layer="incidents", source=source,
                        source_path=str(ctx.options.get("url") or path),
                        names={f"name_{i}": name for i, name in enumerate(names)})
    copy_csv.stage_accepted(conn, "incidents", STAGED)
    return FastOutcome(read, accepted, repaired, reason_counts, read - accepted)

