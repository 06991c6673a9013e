"""`truce etl load|quarantine|raster|watch`: the ETL commands (registered on `truce etl`)."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli import alerts as alerts_cli
from cli import config
from cli.interrupts import reap_runs

quarantine_app = typer.Typer(help="Review rejected rows: list, show one, export, accept, "
                                  "discard.", no_args_is_help=True)

runs_app = typer.Typer(help="Load runs: show one, with the repairs it made.",
                       no_args_is_help=True)


def read_mapping(path: Path | None) -> dict[str, Any] | None:
    """A YAML or JSON file: {target field: column in the file}, or for a date
    {target: {year: column, month: column, day: column}}. MappingError (exit 2) lists every
    problem of its shape; its targets and columns are checked against the job and the file by
    `load_file`, before any row is read."""
    from etl.fields import MappingError

    if path is None:
        return None
    import yaml

    if not path.is_file():
        raise MappingError([f"--mapping: no such file: {path}"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise MappingError([f"--mapping: {path.name} is not a YAML or JSON mapping{line}: "
                            "write one `target: column` per line"]) from None
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not data:
        raise MappingError([f"--mapping: {path.name}: a mapping is an object of target field "
                            "-> column name"])
    problems = [f"--mapping: {k}: give a column name (or, for a date, year/month/day columns)"
                for k, v in data.items()
                if not isinstance(v, str) and not (
                    isinstance(v, dict) and all(isinstance(c, str) for c in v.values()))]
    if problems:
        raise MappingError(problems)
    return {str(k): v for k, v in data.items()}


def check_mapping(job: Any, path: Path, mapping: dict[str, Any] | None,
                  encoding: str | None, source_layer: str | None = None) -> None:
    """The mapping's targets and columns against the job and the file's columns (a CSV's
    header, the field names of a vector file's features), before a run starts: MappingError
    listing every problem. `source_layer`: the vector file's layer the run reads."""
    from etl import fields
    from etl.runner import VECTOR_FORMATS
    from etl.sources.tabular import SourceError, sniff_csv
    from etl.sources.vector import columns as vector_columns

    if not mapping:
        return
    columns: list[str] | None = None
    where = "the file's header"
    if job.format in ("csv", "acled", "ucdp") and path.is_file():
        try:
            columns = sniff_csv(path, None, encoding).columns
        except SourceError:
            columns = None  # the run says why it cannot read the file
    elif job.format in VECTOR_FORMATS and path.exists():
        columns = vector_columns(path, source_layer)
        where = "the fields of the file's features"
    problems = fields.check(mapping, layer=job.layer, fmt=job.format, columns=columns,
                            where=where)
    if problems:
        raise fields.MappingError(problems)


def progress_line(rows: int, fraction: float | None, phase: str | None, elapsed: float
                  ) -> str:
    """What the progress display says: rows read, rows/s, and when the file's size tells it,
    the percent done and the time left; `phase` once the rows are read (checking, writing)."""
    rate = rows / elapsed if elapsed > 0 else 0.0
    said = f"{rows:,} rows read, {rate:,.0f} rows/s"
    if phase:
        return f"{said}; {phase}"
    if fraction is not None and 0 < fraction < 1:
        left = elapsed * (1 - fraction) / fraction
        said += f", {fraction:.0%}, {_duration(left)} left"
    return said


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[..., None] | None]:
    """A load's progress on a terminal (refreshed several times a second, on stderr, gone at
    the end); nothing otherwise (so --json and pipes are unchanged)."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.fields[said]}"), TimeElapsedColumn(), transient=True,
                  console=Console(stderr=True), refresh_per_second=4) as bar:
        task = bar.add_task(label, total=None, said="starting")
        start = time.perf_counter()

        def update(rows: int, fraction: float | None = None, phase: str | None = None) -> None:
            bar.update(task, said=progress_line(rows, fraction, phase,
                                                time.perf_counter() - start))

        yield update


INVALID_GEOMETRY = ("repair", "reject")


def parse_since(value: str | None) -> datetime | None:
    """`--since`: an ISO 8601 date or date-time (naive is UTC)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since: {value!r} is not a date; give one as 2016-03-01 or "
                         "2016-03-01T12:00:00Z") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def load_file(path: Path | str, *, layer: str, fmt: str, source: str | None, dry_run: bool,
              mapping: dict[str, Any] | None, since: datetime | None, show_progress: bool,
              engine: Any = None, invalid_geometry: str = "repair",
              source_layer: str | None = None, encoding: str | None = None,
              date_order: str | None = None, crs: str | None = None,
              allow_outside: bool = False) -> Any:
    """Load a file, or an http(s) URL streamed to a temporary file first (size cap, timeout and
    the internal addresses it may reach from TRUCE_ETL_URL_*; the run records the URL, redacted,
    as its source path). `source_layer`: the layer of a vector file to read (checked before the
    run starts)."""
    from etl.sources.remote import fetch, is_url
    from server.outbound import redact_url

    if invalid_geometry not in INVALID_GEOMETRY:
        raise ValueError(f"--invalid-geometry must be one of {', '.join(INVALID_GEOMETRY)}")
    options: dict[str, Any] = {"since": since} if since else {}
    if invalid_geometry != "repair":
        options["invalid_geometry"] = invalid_geometry
    if source_layer is not None:
        options["source_layer"] = source_layer
    if date_order is not None:
        from etl.transforms.dates import ORDERS

        if date_order not in ORDERS:
            raise ValueError(f"--date-order must be one of {', '.join(ORDERS)}")
        options["date_order"] = date_order
    if encoding is not None:
        from etl.sources.encoding import check_name

        options["encoding"] = check_name(encoding)
    if crs is not None:
        from etl.transforms.crs import parse

        options["crs"] = f"EPSG:{parse(crs)}"
    if allow_outside:
        options["allow_outside"] = True
    if isinstance(path, str) and is_url(path):
        import tempfile

        from server.settings import EtlSettings

        settings = EtlSettings()
        engine = engine or config.engine()
        shown = redact_url(path)  # what etl_runs, quarantine, messages and --json carry
        with tempfile.TemporaryDirectory(prefix="truce-url-") as directory:
            local = fetch(path, Path(directory), max_bytes=settings.url_max_bytes,
                          timeout=settings.url_timeout_seconds, allow=settings.url_allow)
            return _load_local(local, layer=layer, fmt=fmt, source=source, dry_run=dry_run,
                               mapping=mapping, options={**options, "url": shown},
                               show_progress=show_progress, engine=engine, label=shown)
    return _load_local(Path(path), layer=layer, fmt=fmt, source=source, dry_run=dry_run,
                       mapping=mapping, options=options, show_progress=show_progress,
                       engine=engine)


def _load_local(path: Path, *, layer: str, fmt: str, source: str | None, dry_run: bool,
                mapping: dict[str, Any] | None, options: dict[str, Any], show_progress: bool,
                engine: Any, label: str | None = None) -> Any:
    from etl.jobs import check_source_layer, find_job, missing_columns
    from etl.runner import CSV_FORMATS, run

    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give one file (`truce etl watch {path}` loads "
                         "each file of a folder)")
    job = find_job(layer, fmt, path)
    if "source_layer" in options:
        check_source_layer(job, path, options["source_layer"])
    if "encoding" in options and job.format not in CSV_FORMATS:
        raise ValueError(f"--encoding applies to CSV files; {path.name} is read as {job.format}")
    check_mapping(job, path, mapping, options.get("encoding"), options.get("source_layer"))
    if fmt != "auto":
        missing = missing_columns(job, path, encoding=options.get("encoding"), mapping=mapping)
        if missing:
            kind = {"acled": "an ACLED", "ucdp": "a UCDP GED", "hxl": "an HXL"}.get(fmt, fmt)
            raise ValueError(f"{path.name} is not {kind} file: its header lacks "
                             f"{', '.join(missing)}; check --format (or give a --mapping)")
    engine = engine or config.engine()
    reap_runs(engine)
    with progress_bar(show_progress, path.name) as progress:
        return run(job, path, engine, source=source, dry_run=dry_run,
                   mapping=mapping, options=options, progress=progress, label=label)


def interrupted(exc: Any, as_json: bool) -> None:
    """A signal outside a run (before it started or after it ended): said, exit 128 + signal."""
    message = f"{exc}; no run was changed"
    if as_json:
        print(json.dumps({"run_id": None, "status": "interrupted", "read": 0, "loaded": 0,
                          "updated": 0, "unchanged": 0, "quarantined": 0, "reasons": {},
                          "error": message}))
    else:
        print(message, file=sys.stderr)
    raise typer.Exit(128 + exc.signum)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def quarantine_list(
    run: Annotated[int | None, typer.Option(help="only this run")] = None,
    layer: Annotated[str | None, typer.Option(help="only this layer")] = None,
    unresolved: Annotated[bool, typer.Option("--unresolved", help="only unresolved rows")] = False,
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List quarantined rows: id, run, layer, line, source id, reasons."""
    from etl.loaders import postgis

    engine = config.engine()
    reap_runs(engine)
    with engine.connect() as conn:
        rows = postgis.quarantine_rows(conn, run_id=run, layer=layer, unresolved=unresolved,
                                       limit=limit)
    if as_json:
        print(json.dumps([_jsonable({k: v for k, v in r.items() if k != "raw"}) for r in rows],
                         default=str))
        return
    table = Table("id", "run", "layer", "file", "line", "source id", "reasons", "resolved",
                  "review")
    for r in rows:
        table.add_row(str(r["id"]), str(r["etl_run_id"]), r["layer"], Path(r["source_path"]).name,
                      str(r["record_number"]), str(r["source_id"] or ""), ", ".join(r["reasons"]),
                      "yes" if r["resolved_at"] else "", r["review"] or "")
    Console().print(table)


def quarantine_show(quarantine_id: Annotated[int, typer.Argument(help="quarantine row id")]) -> None:
    """Show one quarantined row: raw payload, reasons, details (candidates for place names)."""
    from etl.loaders import postgis

    with config.engine().connect() as conn:
        row = postgis.quarantine_row(conn, quarantine_id)
    if row is None:
        raise ValueError(f"no quarantined row {quarantine_id}")
    print(json.dumps(_jsonable(row), indent=2, ensure_ascii=False, default=str))


def quarantine_export(
    target: Annotated[Path, typer.Argument(help="a .csv or .json file to write")],
    run: Annotated[int | None, typer.Option(help="only this run")] = None,
    layer: Annotated[str | None, typer.Option(help="only this layer")] = None,
    unresolved: Annotated[bool, typer.Option("--unresolved")] = False,
) -> None:
    """Export quarantined rows (CSV: one column per raw field, plus reasons; or JSON)."""
    from etl.loaders import postgis
    from server.security.csv_cells import safe_cell

    with config.engine().connect() as conn:
        rows = postgis.quarantine_rows(conn, run_id=run, layer=layer, unresolved=unresolved,
                                       limit=10_000_000)
    if target.suffix.lower() == ".json":
        target.write_text(json.dumps([_jsonable(r) for r in rows], ensure_ascii=False,
                                     default=str), encoding="utf-8")
    else:
        raw_keys = list(dict.fromkeys(k for r in rows for k in r["raw"]))
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            # raw names and values come from the source files: a spreadsheet must not run them
            writer.writerow([safe_cell(k) for k in ["quarantine_id", "etl_run_id",
                                                    "record_number", "reasons", "detail",
                                                    *raw_keys]])
            for r in rows:
                writer.writerow([safe_cell(v) for v in [
                    r["id"], r["etl_run_id"], r["record_number"], "|".join(r["reasons"]),
                    json.dumps(r["detail"], default=str),
                    *[r["raw"].get(k, "") for k in raw_keys]]])
    print(f"{len(rows)} quarantined rows written to {target}")


def _review(quarantine_id: int, reason: str, action: str, as_json: bool) -> None:
    import getpass

    from sqlalchemy import text

    from etl.loaders import review

    if not reason.strip():
        raise ValueError("--reason: say why (it is kept with the row and in the audit log)")
    who = f"cli:{getpass.getuser()}"
    with config.engine().begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', :actor, true)"), {"actor": who})
        row = review.review(conn, quarantine_id, action=action, reason=reason.strip(),
                             reviewed_by=who)
    if row is None:
        raise ValueError(f"no open quarantined row {quarantine_id} (`truce etl quarantine list "
                         "--unresolved` lists them)")
    if as_json:
        print(json.dumps(_jsonable(row), default=str))
    elif action == "accepted":
        print(f"row {quarantine_id} accepted by {who}: it loads on the next run of "
              f"{Path(row['source_path']).name} (source {row['source']})")
    else:
        print(f"row {quarantine_id} discarded by {who}")


def quarantine_accept(
    quarantine_id: Annotated[int, typer.Argument(help="quarantine row id")],
    reason: Annotated[str, typer.Option(help="why the row may load (kept and audited)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Admit a reviewed row: the next run of its file loads it (the area of interest is not
    checked for it; other failed checks still quarantine it), recording who accepted it."""
    _review(quarantine_id, reason, "accepted", as_json)


def quarantine_discard(
    quarantine_id: Annotated[int, typer.Argument(help="quarantine row id")],
    reason: Annotated[str, typer.Option(help="why the row is closed (kept and audited)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Close a quarantined row: it stays on record, resolved, and loading it again adds no entry."""
    _review(quarantine_id, reason, "discarded", as_json)


def fields_list(
    layer: Annotated[str, typer.Option(help="incidents|agreement_areas|aid_deliveries|"
                                            "admin_areas|settlements")],
    fmt: Annotated[str, typer.Option("--format", help="the file's format (csv: any other "
                                                      "table; hxl: hashtags)")] = "csv",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every target field a --mapping may name for a layer: type, vocabulary, whether a row
    needs it, and the other column names it is read from."""
    from etl import fields

    found = fields.fields_of(layer, fmt)
    if as_json:
        print(json.dumps({"layer": layer, "format": fmt,
                          "fields": [f.as_dict() for f in found]}))
        return
    table = Table("field", "type", "required", "vocabulary", "also read from", "note")
    for f in found:
        table.add_row(f.name, f.type, "yes" if f.required else "", ", ".join(f.vocabulary),
                      ", ".join(f.also), f.note)
    Console().print(table)


def runs_show(
    run_id: Annotated[int, typer.Argument(help="the run's id (`etl load` prints it)")],
    limit: Annotated[int, typer.Option(help="at most this many repairs listed")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one run: its counts, and every repair it made to a row (line, field, value before
    and after, rule), with the rows it loaded outside the area of interest (--allow-outside:
    rule outside_area_of_interest_allowed, counted as rows_outside_allowed)."""
    from etl.loaders import repairs

    engine = config.engine()
    reap_runs(engine)
    with engine.connect() as conn:
        row = repairs.run_row(conn, run_id)
        if row is None:
            raise ValueError(f"no run {run_id}")
        row["repairs"] = repairs.counts(conn, run_id)
        row["rows_outside_allowed"] = row["repairs"].pop(repairs.OUTSIDE_ALLOWED, 0)
        listed = repairs.repair_rows(conn, run_id, limit=limit)
    if as_json:
        print(json.dumps({**_jsonable(row), "repair_rows": listed}, default=str))
        return
    console = Console()
    for name in ("id", "status", "job", "layer", "source", "source_path", "started_at",
                 "finished_at", "rows_read", "rows_loaded", "rows_updated", "rows_unchanged",
                 "rows_quarantined", "rows_repaired", "rows_outside_allowed", "error"):
        if row.get(name) is not None:
            console.print(f"{name}: {row[name]}", highlight=False, markup=False)
    fixed = [r for r in listed if r["rule"] != repairs.OUTSIDE_ALLOWED]
    outside = [r for r in listed if r["rule"] == repairs.OUTSIDE_ALLOWED]
    if not fixed:
        console.print("no repairs", highlight=False)
    else:
        table = Table("line", "source id", "field", "before", "after", "rule")
        for r in fixed:
            table.add_row(str(r["line"] or ""), str(r["source_id"] or ""), r["field"],
                          str(r["value_before"] or ""), str(r["value_after"] or ""), r["rule"])
        console.print(table)
    if outside:
        console.print("loaded outside the area of interest (--allow-outside):", highlight=False)
        table = Table("line", "source id", "field", "value")
        for r in outside:
            table.add_row(str(r["line"] or ""), str(r["source_id"] or ""), r["field"],
                          str(r["value_after"] or ""))
        console.print(table)


def raster(
    path: Annotated[Path, typer.Argument(help="a GeoTIFF (or any raster GDAL reads)")],
    name: Annotated[str, typer.Option(help="catalog name (unique)")],
    kind: Annotated[str, typer.Option(help="population|terrain|imagery")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate a raster, write it as a Cloud-Optimised GeoTIFF and record it in `rasters`."""
    from etl.jobs.raster import load_raster
    from etl.runner import sha256
    from server.settings import RasterSettings

    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    info = load_raster(path, config.engine(), name=name, kind=kind,
                       directory=Path(RasterSettings().directory), sha256=sha256(path))
    if as_json:
        print(json.dumps(info, default=str))
    else:
        print(f"raster {name!r} ({kind}) recorded as id {info['id']}: {info['path']}")


def watch(
    directory: Annotated[Path, typer.Argument(help="the folder files are dropped into")],
    layer: Annotated[str, typer.Option(help="the layer files in this folder load into")],
    fmt: Annotated[str, typer.Option("--format")] = "auto",
    source: Annotated[str | None, typer.Option()] = None,
    mapping: Annotated[Path | None, typer.Option(help="column mapping (YAML/JSON)")] = None,
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
    interval: Annotated[float, typer.Option(help="seconds between passes")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    invalid_geometry: Annotated[str, typer.Option(
        help="invalid polygons: repair (ST_MakeValid) or reject (quarantine)")] = "repair",
    no_alerts: Annotated[bool, typer.Option(
        "--no-alerts", help="do not run the alerts after each incidents file")] = False,
    source_layer: Annotated[str | None, typer.Option(
        help="the layer of each file to read (a GeoPackage table, a shapefile of a zip, a KML "
             "folder), as `etl load --source-layer`; a file without it is reported failed")
    ] = None,
    since: Annotated[str | None, typer.Option(
        help="skip rows reported before this (ACLED timestamp), as `etl load --since`")] = None,
) -> None:
    """Load every new file dropped into DIR once (by sha256), with the options `etl load` takes;
    after each completed incidents file, the alerts run (retry, match, deliver; "alerts" in the
    JSON line). Cron alternative:
    `*/5 * * * * cd /srv/truce && .venv/bin/truce etl watch /data/inbox --layer incidents --once`.
    SIGINT / SIGTERM stop it: a file being loaded is rolled back, its run recorded `interrupted`
    (reported), and the exit code is 130 / 143."""
    from etl import interrupt

    with interrupt.handle_signals():
        try:
            _watch(directory, layer=layer, fmt=fmt, source=source, mapping=mapping, once=once,
                   interval=interval, as_json=as_json, invalid_geometry=invalid_geometry,
                   no_alerts=no_alerts, source_layer=source_layer, since=since)
        except interrupt.Interrupted as exc:  # between files, or in the alerts after one
            raise typer.Exit(128 + exc.signum) from None
    signum = interrupt.received()
    if signum is not None:  # a load was interrupted: reported, then the watch ends
        raise typer.Exit(128 + signum)


def _watch(directory: Path, *, layer: str, fmt: str, source: str | None, mapping: Path | None,
           once: bool, interval: float, as_json: bool, invalid_geometry: str, no_alerts: bool,
           source_layer: str | None, since: str | None) -> None:
    from etl import interrupt
    from etl.loaders import postgis
    from etl.runner import sha256

    if not directory.is_dir():
        raise ValueError(f"no such folder: {directory}")
    engine = config.engine()
    columns = read_mapping(mapping)
    since_at = parse_since(since)
    failed: set[str] = set()  # files this process could not load: reported once, not retried
    while True:
        with engine.connect() as conn:
            done = postgis.loaded_hashes(conn, layer=layer, source_layer=source_layer)
        for path in sorted(p for p in directory.iterdir() if p.is_file()
                           and not p.name.startswith(".") and p.suffix.lower() not in
                           (".dbf", ".shx", ".prj", ".cpg", ".partial")):
            digest = sha256(path)
            if digest in done or digest in failed:
                continue
            try:
                summary = load_file(path, layer=layer, fmt=fmt, source=source, dry_run=False,
                                    mapping=columns, since=since_at,
                                    show_progress=False, engine=engine,
                                    invalid_geometry=invalid_geometry, source_layer=source_layer)
                line = {"path": str(path), "run_id": summary.run_id, "status": summary.status,
                        "read": summary.read, "loaded": summary.loaded,
                        "updated": summary.updated, "unchanged": summary.unchanged,
                        "quarantined": summary.quarantined, "error": summary.error,
                        "warnings": summary.warnings}
                if not no_alerts and summary.status != "interrupted":
                    ran = alerts_cli.after_load(summary, engine=engine)
                    if ran is not None:
                        line["alerts"] = ran
            except ValueError as exc:  # e.g. a file of no known format: said, and the watch goes on
                line = {"path": str(path), "run_id": None, "status": "failed", "read": 0,
                        "loaded": 0, "updated": 0, "unchanged": 0, "quarantined": 0,
                        "error": str(exc), "warnings": []}
            if line["status"] not in ("completed", "empty"):
                failed.add(digest)
            print(json.dumps(line) if as_json else
                  f"{path.name}: {line['status']}, {line['loaded']} loaded, "
                  f"{line['quarantined']} quarantined{' - ' + str(line['error']) if line['error'] else ''}"
                  + (f"; {alerts_cli.describe(line['alerts'])}" if "alerts" in line else ""),
                  flush=True)
            if interrupt.received() is not None:
                return
        if once:
            return
        time.sleep(interval)


def register(etl_app: typer.Typer, wrap: Callable[[Any], Any]) -> None:
    quarantine_app.command("list")(wrap(quarantine_list))
    quarantine_app.command("show")(wrap(quarantine_show))
    quarantine_app.command("export")(wrap(quarantine_export))
    quarantine_app.command("accept")(wrap(quarantine_accept))
    quarantine_app.command("discard")(wrap(quarantine_discard))
    etl_app.add_typer(quarantine_app, name="quarantine")
    runs_app.command("show")(wrap(runs_show))
    etl_app.command("fields")(wrap(fields_list))
    etl_app.add_typer(runs_app, name="runs")
    etl_app.command("raster")(wrap(raster))
    etl_app.command("watch")(wrap(watch))


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
