"""Run one job over one file: read -> transform -> load, with quarantine and a run record.

Counts always add up: rows read = loaded + updated + unchanged + quarantined. The data and the
quarantine are written in one transaction, so a failed run leaves the database as it was; the run
row itself is committed apart, so a failure is recorded with its error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from etl import aoi as area_of_interest
from etl import dedupe, interrupt
from etl.fields import fields_of
from etl.gazetteer import Gazetteer, Place
from etl.jobs import Job
from etl.jobs.sql_load import RowWise
from etl.loaders import postgis, repairs, review
from etl.progress import Meter, Progress
from etl.records import Accepted, Context, RawRecord, Rejected
from etl.sources import geojson, signature
from etl.sources.encoding import ENCODING_ERROR, EncodingError
from etl.sources.tabular import (
    CUT_FEATURE,
    ENCODING_FIELD,
    UNTERMINATED,
    SourceError,
    SourceWarning,
)
from etl.transforms import checks, crs, dates
from server.settings import EtlSettings

log = logging.getLogger("truce.etl")

DUPLICATE_ID = "duplicate_source_id_in_file"
BATCH = 50_000
CSV_FORMATS = ("acled", "ucdp", "hxl", "csv")
VECTOR_FORMATS = ("geojson", "gpkg", "shp", "kml")
FLAGGED_LINES = 20  # the lines a warning about flagged rows names
@dataclass
class RunSummary:
    run_id: int | None
    status: str
    job: str
    layer: str
    source: str
    path: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    repaired: int = 0
    #: rule -> rows this run repaired (each repair is in etl_repairs: `truce etl runs show`)
    repairs: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    method: str = "rows"  # "copy": the set-based path loaded it; "rows": the row-wise path
    duplicates: int = 0  # incidents: cross-source duplicate links made (etl/dedupe.py)
    #: why the set-based path gave the file to the row-wise path after failing (None: it did
    #: not fail); the load is still right, only slower, and this says so
    fallback: str | None = None
    #: what the run read past and says so (a shapefile's declared code page ignored)
    warnings: list[str] = field(default_factory=list)
    #: rows outside the area of interest loaded with --allow-outside, each recorded in
    #: etl_repairs (rule outside_area_of_interest_allowed: `truce etl runs show` lists them)
    outside_allowed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _gazetteer(rows: list[dict[str, Any]]) -> Gazetteer:
    entries = []
    for r in rows:
        place = Place(int(r["id"]), str(r["name"]), float(r["lon"]), float(r["lat"]),
                      r.get("population"), tuple(r.get("admin") or ()), r.get("pcode"),
                      r.get("source"))
        entries.append((place, [r.get("name_ar") or "", r.get("name_ru") or "",
                                *(r.get("alternate_names") or [])]))
    return Gazetteer.build(entries)


def _options(job: Job, engine: Engine, options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    if not job.needs:
        return out
    with engine.connect() as conn:
        if "gazetteer" in job.needs:
            out["gazetteer"] = _gazetteer(postgis.gazetteer_rows(conn))
        if "admin_pcodes" in job.needs:
            out["admin_pcodes"] = postgis.admin_pcodes(conn)
    return out


def _mapped(raw: RawRecord, mapping: dict[str, Any]) -> RawRecord:
    """Rename columns: mapping is {target field: column in the file}, or for a date
    {target: {year: column, month: column, day: column}} (missing parts: a year or a month)."""
    fields = dict(raw.fields)
    for target, column in mapping.items():
        if isinstance(column, dict):
            parts = [raw.fields.get(column[p]) if p in column else None
                     for p in ("year", "month", "day")]
            fields[target] = dates.from_parts(*[checks.text(p) for p in parts])
        elif column in raw.fields:
            fields[target] = raw.fields[column]
    return RawRecord(raw.number, fields, raw.geometry_wkb, raw.srid)


def has_parts(mapping: dict[str, Any] | None) -> bool:
    return any(isinstance(v, dict) for v in (mapping or {}).values())


def _read(job: Job, path: Path, options: dict[str, Any]) -> Iterator[RawRecord]:
    layer = options.get("source_layer")
    encoding = options.get("encoding")
    return (job.read(path, layer=layer) if layer is not None else
            job.read(path, encoding=encoding) if encoding else job.read(path))


PEEK = 1_000  # rows looked at for d/m/y dates before a first pass over the file is made


def _peek(records: Iterator[RawRecord]) -> tuple[list[RawRecord], Exception | None]:
    """The first PEEK records, and the error that ended the reading before them (raised
    again once the rows read before it are counted)."""
    head: list[RawRecord] = []
    try:
        head.extend(islice(records, PEEK))
    except Exception as exc:  # the run reports it after counting the rows it read
        return head, exc
    return head, None


def _raising(exc: Exception) -> Iterator[RawRecord]:
    raise exc
    yield  # a generator


def _date_names(job: Job) -> set[str]:
    """The (lower case) field names the job reads dates from."""
    return {n.lower() for f in fields_of(job.layer, job.format) if f.type == "date"
            for n in (f.name, *f.also)}


def date_orders(job: Job, path: Path, options: dict[str, Any],
                mapping: dict[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """The day/month order of the file's ambiguous d/m/y dates, decided once per date column
    from a first pass over the file (etl.transforms.dates.orders_of), and the warnings."""
    if options.get("date_order"):
        return {}, []
    names = _date_names(job)
    columns: dict[str, set[str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in _read(job, path, options):
            if mapping:
                raw = _mapped(raw, mapping)
            for name, value in raw.fields.items():
                if name.lower() in names and isinstance(value, str) \
                        and dates.day_month(value) is not None:
                    columns.setdefault(name, set()).add(value)
    return dates.orders_of({k: sorted(v) for k, v in columns.items()})


def _merge(conn: Connection, job: Job, summary: RunSummary, *, source: str, run_id: int,
           staged: int, options: dict[str, Any]) -> None:
    inserted, updated = postgis.merge(conn, job.spec, source=source, run_id=run_id,
                                      staged=staged)
    if job.layer == "admin_areas" and (inserted or updated):
        postgis.recompute_admin_pcodes(conn)
    summary.loaded += inserted
    summary.updated += updated
    summary.unchanged += staged - inserted - updated
    postgis.resolve_quarantine(conn, layer=job.layer, source=source, run_id=run_id)
    if job.layer == "incidents" and (inserted or updated):
        summary.duplicates = dedupe.link(conn, run_id=run_id, source=source,
                                         distance_m=options.get("duplicate_distance_m"),
                                         hours=options.get("duplicate_hours"))


def _check_coordinates(ctx: Context, summary: RunSummary) -> None:
    """A file whose coordinates are not lon/lat fails whole, naming --crs (etl.transforms.crs)."""
    tally = ctx.options.get("coordinate_tally")
    if isinstance(tally, checks.CoordinateTally):
        wrong = crs.problem(tally, ctx.aoi, Path(summary.path).name, summary.read)
        if wrong is not None:
            raise SourceError(wrong)


def _sql_load(job: Job, conn: Connection, path: Path, ctx: Context, summary: RunSummary, *,
          run_id: int, source: str, mapping: dict[str, Any] | None, dry_run: bool) -> Any:
    """The job's set-based path in a savepoint: its outcome, or None (rolled back) when the
    row-wise path must take the file (always with --crs or --allow-outside). A dry run only
    counts (and is rolled back too). An error the SQL path did not foresee is logged and kept in
    `summary.fallback`."""
    if job.sql_load is None or not path.is_file() or has_parts(mapping) or ctx.options.get("crs") \
            or ctx.options.get("allow_outside"):
        return None
    savepoint = conn.begin_nested()
    try:
        outcome = job.sql_load(conn, path, ctx, run_id=run_id, source=source, mapping=mapping,
                           dry_run=dry_run)
    except RowWise:  # a file the SQL path leaves to the reference path by design
        outcome = None
    except Exception as exc:  # anything the SQL path did not foresee: the reference path decides
        summary.fallback = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.warning("%s: the set-based path failed (%s); loading row by row", job.name,
                    summary.fallback, exc_info=log.isEnabledFor(logging.DEBUG))
        outcome = None
    if outcome is None or dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return outcome


def too_long_id(result: Accepted | Rejected, key_fields: list[str], raw: RawRecord | None = None,
                max_chars: int | None = None) -> Accepted | Rejected:
    """Every job's rule (the set-based path has it too): an id longer than MAX_ID_LENGTH, or
    any field of the raw record longer than `max_chars` (TRUCE_ETL_MAX_FIELD_CHARS), is
    quarantined as `field_too_long` naming the (first) field, not left to fail the whole
    file."""
    values = result.values if isinstance(result, Accepted) else result.detail
    long = [k for k in key_fields if len(str(values.get(k) or "")) > checks.MAX_ID_LENGTH]
    if not long and raw is not None and max_chars is not None:
        long = [name for name, value in raw.fields.items()
                if value is not None and len(str(value)) > max_chars][:1]
    if not long:
        return result
    if isinstance(result, Accepted):
        return Rejected((checks.FIELD_TOO_LONG,), {"source_id": values.get("source_id"),
                                                   "field": long[0]})
    return Rejected(tuple(dict.fromkeys([*result.reasons, checks.FIELD_TOO_LONG])),
                    {**result.detail, "field": long[0]})


def cut(result: Accepted | Rejected, how: str, line: int, said: list[str]
        ) -> Accepted | Rejected:
    """The file's last record, without a line end: `truncated_record` when it is incomplete by
    the format's rules (a quote never closed, fewer fields, a value its column cannot hold:
    any failed check), else loaded with a warning naming it as possibly cut."""
    if isinstance(result, Rejected):
        return Rejected((checks.TRUNCATED_RECORD, *result.reasons), result.detail)
    if how == "open_quote":
        return Rejected((checks.TRUNCATED_RECORD,), {"source_id": result.values.get("source_id")})
    said.append(checks.cut_warning(line))
    return result


def _watched(records: Iterator[RawRecord], summary: RunSummary) -> Iterator[RawRecord]:
    """`records`, with the SourceWarnings their reading gives kept in `summary.warnings` (and
    logged); other warnings pass on."""
    others: list[warnings.WarningMessage] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SourceWarning)
        try:
            yield from records
        finally:
            for warning in caught:
                if issubclass(warning.category, SourceWarning):
                    summary.warnings.append(str(warning.message))
                    log.warning("%s", warning.message)
                else:
                    others.append(warning)
    for warning in others:
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)


def _reprojected(records: Iterator[RawRecord], srid: int) -> Iterator[RawRecord]:
    """Vector features whose coordinates are in EPSG:`srid` (--crs), whatever the file said,
    in lon/lat."""
    import numpy
    import shapely
    from pyproj import Transformer

    transformer = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)
    for raw in records:
        wkb = raw.geometry_wkb
        if wkb is not None:
            geom = shapely.transform(shapely.from_wkb(wkb),
                                     lambda xy: numpy.column_stack(
                                         transformer.transform(xy[:, 0], xy[:, 1])))
            wkb = bytes(shapely.to_wkb(geom))
        yield RawRecord(raw.number, raw.fields, wkb, 4326)


def _context_options(engine: Engine, summary: RunSummary, options: dict[str, Any],
                     limits: EtlSettings, *, vector: bool) -> tuple[Any, dict[str, Any]]:
    """The area of interest (etl/aoi.py) and what the checks read of it and of --crs (a vector
    file's features are reprojected as read: _reprojected; a table's x/y by the checks)."""
    with engine.connect() as conn:
        area, warning = area_of_interest.resolve(conn, limits.area_of_interest,
                                                 limits.area_of_interest_buffer_km)
    if warning and summary.layer in ("incidents", "aid_deliveries", "settlements",
                                     "agreement_areas"):
        summary.warnings.append(warning)
    extra: dict[str, Any] = {"aoi": area, "coordinate_tally": checks.CoordinateTally()}
    if options.get("crs"):
        srid = crs.parse(str(options["crs"]))
        extra["crs_srid"] = srid
        if srid != 4326 and not vector:
            extra["crs_transform"] = crs.to_lon_lat(srid)
    return area, extra


def unreadable(raw: RawRecord) -> Rejected | None:
    """A feature the source could not read (geojson.UNREADABLE says why) is counted and
    quarantined as `unreadable_feature` with its position, never skipped."""
    why = raw.fields.get(geojson.UNREADABLE)
    if why is None:
        return None
    return Rejected((checks.UNREADABLE_FEATURE,), {"source_id": _feature_id(raw),
                                                   "feature_index": raw.number - 1,
                                                   "problem": why})


def _feature_id(raw: RawRecord) -> str | None:
    """The id an unreadable feature gives itself, if it can be read (its `source_id` or `id`
    property, else its own `id`), so that its quarantine entry names it."""
    try:
        feature = json.loads(str(raw.fields.get("feature") or ""))
    except ValueError:
        return None
    if not isinstance(feature, dict):
        return None
    properties = feature.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    for value in (properties.get("source_id"), properties.get("id"), feature.get("id")):
        if isinstance(value, str | int) and not isinstance(value, bool):
            return checks.key(value)
    return None


def unexpected_error(path: Path, exc: Exception, run_id: int | None) -> str:
    """One sentence for a failure the loader did not foresee: what the database or Python said,
    first line only (no SQL, no CONTEXT, no exception class), and what to do."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    said = getattr(diag, "message_primary", None) or str(orig or exc)
    said = (said.splitlines() or [""])[0].strip()[:200]
    if orig is not None:
        what = f"the database refused it ({said})" if said else "the database refused it"
    else:
        what = f"an unexpected problem ({said})" if said else "an unexpected problem"
    run = f" with run {run_id}" if run_id else ""
    return (f"{path.name} could not be loaded: {what}; nothing was changed. Check the file's "
            f"values, or report it{run}")


def run(job: Job, path: Path, engine: Engine, *, source: str | None = None,
        dry_run: bool = False, now: datetime | None = None,
        options: dict[str, Any] | None = None, mapping: dict[str, Any] | None = None,
        progress: Progress | None = None, row_wise: bool = False,
        label: str | None = None, settings: EtlSettings | None = None) -> RunSummary:
    """Run `job` over `path`. `progress(rows read, fraction done or None, phase or None)` is
    called a few times a second while rows are read (etl.progress), on both paths.
    `label`: where the file came from, when not `path` (a URL downloaded to `path`).
    `settings`: the load's time limits (TRUCE_ETL_*; read from the environment when None).

    The job's set-based path is tried first (not with `row_wise`). A signal handled by
    `interrupt.handle_signals` cancels the load: rolled back, the run recorded `interrupted`."""
    limits = settings or EtlSettings()
    source = source or job.default_source
    summary = RunSummary(None, "running", job.name, job.layer, source, label or str(path))
    digest = sha256(path) if path.is_file() else None
    lock = None
    if not dry_run:
        summary.run_id, lock = postgis.start_run(
            engine, job=job.name, layer=job.layer, source=source, source_path=summary.path,
            sha256=digest,
            options={"format": job.format, **({"mapping": mapping} if mapping else {}),
                     **{k: v for k, v in (options or {}).items()}})
    run_id = summary.run_id or 0
    reasons: Counter[str] = Counter()
    seen: set[Any] = set()
    key_fields = [k for k in job.spec.key if k != "source"]
    single_key = key_fields[0] if len(key_fields) == 1 else None
    loaded_keys: list[str] = []
    try:
        signature.check(path, job.format)
        max_chars = EtlSettings().max_field_chars
        try:
            area, extra = _context_options(engine, summary, options or {}, limits,
                                           vector=job.format in VECTOR_FORMATS)
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
        ctx = Context(source=source, now=now or datetime.now(UTC), aoi=area,
                      options={"max_field_chars": max_chars, **extra,
                               **_options(job, engine, {**(options or {}),
                                                        "file_sha256": digest})})
        meter = Meter(progress, path) if progress else None
        ctx.options["meter"] = meter
        world = replace(ctx, aoi=None)
        flagged: list[int] = []
        with engine.begin() as conn, interrupt.cancellable(conn.connection.dbapi_connection):
            postgis.guard_session(conn, run_id=run_id,
                                  statement_timeout_s=limits.statement_timeout_seconds,
                                  idle_timeout_s=limits.idle_timeout_seconds,
                                  client_check_s=limits.client_check_seconds)
            # rows a reviewer accepted are loaded by the row-wise path, which knows them
            admitted = review.accepted_keys(conn, layer=job.layer, source=source)
            loaded_by_sql = None if row_wise or admitted else _sql_load(
                job, conn, path, ctx, summary, run_id=run_id, source=source, mapping=mapping,
                dry_run=dry_run)
            if loaded_by_sql is not None:
                summary.read, summary.quarantined = loaded_by_sql.read, loaded_by_sql.quarantined
                summary.repaired, summary.method = loaded_by_sql.repaired, "copy"
                summary.repairs = dict(loaded_by_sql.repairs)
                summary.warnings.extend(loaded_by_sql.warnings)
                reasons.update(loaded_by_sql.reasons)
                _check_coordinates(ctx, summary)
                if dry_run:
                    summary.loaded = loaded_by_sql.accepted
                else:
                    if meter:
                        meter.phase(summary.read, "writing")
                    _merge(conn, job, summary, source=source, run_id=run_id,
                           staged=loaded_by_sql.accepted, options=ctx.options)
                if meter:
                    meter.done(summary.read)
                records: Any = ()
            else:
                records = _watched(_read(job, path, options or {}), summary)
                if mapping:
                    records = (_mapped(r, mapping) for r in records)
                # the first pass that decides the day/month order is made only for a file
                # whose first rows hold a d/m/y date (an ISO file is read once)
                head, failed = _peek(records)
                names = _date_names(job)
                if any(dates.day_month(str(v)) is not None for r in head
                       for k, v in r.fields.items() if k.lower() in names):
                    orders, warned = date_orders(job, path, options or {}, mapping)
                    summary.warnings.extend(warned)
                    ctx.options["date_orders"] = orders
                records = chain(head, _raising(failed) if failed is not None else records)
                if ctx.options.get("crs_srid") and job.format in VECTOR_FORMATS:
                    records = _reprojected(records, int(ctx.options["crs_srid"]))
            accepted: list[dict[str, Any]] = []
            rejected: list[dict[str, Any]] = []
            repaired: list[dict[str, Any]] = []
            rules: Counter[str] = Counter(summary.repairs)
            staged = 0
            if not dry_run and loaded_by_sql is None:
                postgis.begin_stage(conn, job.spec)

            def flush() -> None:
                nonlocal staged
                if not dry_run:
                    postgis.stage(conn, job.spec, accepted)
                    postgis.quarantine(conn, rejected, run_id=run_id, layer=job.layer,
                                       source=source, source_path=summary.path,
                                       sha256=digest)
                    repairs.record(conn, repaired, run_id=run_id)
                staged += len(accepted)
                accepted.clear()
                rejected.clear()
                repaired.clear()

            transform = job.transform
            for raw in records:
                summary.read += 1
                if meter:
                    meter.row(summary.read)
                if ENCODING_FIELD in raw.fields:
                    fields = dict(raw.fields)
                    raw = RawRecord(raw.number, fields, raw.geometry_wkb, raw.srid)
                    result: Accepted | Rejected = Rejected((ENCODING_ERROR,), {
                        "encoding": fields.pop(ENCODING_FIELD), "line": raw.number})
                elif raw.fields.get(UNTERMINATED) == CUT_FEATURE:  # nothing of it is whole
                    result = Rejected((checks.TRUNCATED_RECORD,), {
                        "source_id": None, "feature_index": raw.number - 1,
                        "problem": "the file ends inside this feature"})
                else:
                    result = unreadable(raw) or too_long_id(transform(raw, ctx), key_fields,
                                                            raw, max_chars)
                    if type(result) is Rejected and admitted:
                        row = postgis.row_key(result.detail.get("source_id"), digest, raw.number)
                        if row in admitted:  # a reviewer accepted it: the area is not checked
                            result = too_long_id(transform(raw, world), key_fields, raw,
                                                 max_chars)
                            if type(result) is Accepted:
                                loaded_keys.append(row)
                if UNTERMINATED in raw.fields:
                    if raw.fields[UNTERMINATED] != CUT_FEATURE:
                        result = cut(result, str(raw.fields[UNTERMINATED]), raw.number,
                                     summary.warnings)
                    raw = RawRecord(raw.number, {k: v for k, v in raw.fields.items()
                                                 if k != UNTERMINATED},
                                    raw.geometry_wkb, raw.srid)  # kept as the file has it
                if type(result) is Accepted:
                    values = result.values
                    if result.merged:
                        summary.unchanged += 1
                        continue
                    key = values.get(single_key) if single_key else tuple(
                        values.get(k) for k in key_fields)
                    if key not in seen:
                        seen.add(key)
                        if checks.OUTSIDE_ALLOWED in result.repairs:  # a flag, not a repair
                            flagged.append(raw.number)
                            repaired.extend(repairs.describe((checks.OUTSIDE_ALLOWED,), values,
                                                             raw.number))
                        fixes = tuple(r for r in result.repairs if r != checks.OUTSIDE_ALLOWED)
                        if fixes:
                            summary.repaired += 1
                            fixed = repairs.describe(fixes, values, raw.number)
                            repairs.tally(rules, fixed)
                            repaired.extend(fixed)
                        accepted.append(values)
                        if len(accepted) >= BATCH:
                            flush()
                        continue
                    result_reasons: tuple[str, ...] = (DUPLICATE_ID,)
                    detail: dict[str, Any] = {"source_id": values.get("source_id")}
                else:
                    assert isinstance(result, Rejected)
                    result_reasons, detail = result.reasons, result.detail
                reasons.update(result_reasons)
                summary.quarantined += 1
                rejected.append({"number": raw.number, "raw": raw.fields,
                                 "reasons": result_reasons, "detail": detail,
                                 "source_id": detail.get("source_id")})
            if loaded_by_sql is None:
                _check_coordinates(ctx, summary)
                if meter:
                    meter.phase(summary.read, "writing")
                flush()
                if dry_run:
                    summary.loaded += staged
                else:
                    made_valid = repairs.polygons(conn, job.spec, run_id=run_id)
                    summary.repaired += made_valid
                    if made_valid:
                        rules[repairs.MADE_VALID] += made_valid
                    _merge(conn, job, summary, source=source, run_id=run_id, staged=staged,
                           options=ctx.options)
                    review.resolve_accepted(conn, loaded_keys, layer=job.layer, source=source,
                                             run_id=run_id)
                summary.repairs = dict(rules)
                if meter:
                    meter.done(summary.read)
        summary.outside_allowed = len(flagged)
        if flagged:
            lines = ", ".join(str(n) for n in flagged[:FLAGGED_LINES])
            more = f" and {len(flagged) - FLAGGED_LINES} more" if len(flagged) > FLAGGED_LINES \
                else ""
            summary.warnings.append(
                f"{len(flagged)} rows outside the area of interest were loaded "
                f"(--allow-outside): lines {lines}{more}")
        summary.status = "completed"
        if summary.read == 0:
            summary.status = "empty"
            summary.warnings.append(f"{path.name}: no rows were read (only a header, or no "
                                    "records); nothing was loaded")
    except interrupt.Interrupted as exc:
        summary.status = "interrupted"
        summary.error = f"{exc} after reading {summary.read} rows; nothing was changed"
    except (SourceError, EncodingError) as exc:
        summary.status, summary.error = "failed", str(exc)
    except Exception as exc:  # the run is recorded as failed, the data rolled back
        signum = interrupt.received()
        if signum is not None:  # a signal cancelled the statement: its error came back first
            summary.status, summary.error = "interrupted", (
                f"{interrupt.Interrupted(signum)} after reading {summary.read} rows; nothing "
                "was changed")
        else:
            log.warning("run %s failed: %s: %s", summary.run_id, type(exc).__name__, exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            summary.status, summary.error = "failed", unexpected_error(path, exc,
                                                                       summary.run_id)
    summary.reasons = dict(reasons)
    if summary.status in ("failed", "interrupted"):
        # nothing was written: `read` says how far the run got, the rest is 0
        summary.loaded = summary.updated = summary.unchanged = summary.repaired = 0
        summary.duplicates = summary.quarantined = summary.outside_allowed = 0
        summary.reasons, summary.repairs = {}, {}
    if not dry_run and summary.run_id is not None:
        postgis.finish_run(engine, summary.run_id, status=summary.status, error=summary.error,
                           counts={"read": summary.read, "loaded": summary.loaded,
                                   "updated": summary.updated, "unchanged": summary.unchanged,
                                   "quarantined": summary.quarantined,
                                   "repaired": summary.repaired})
    postgis.end_run_lock(lock)
    return summary
