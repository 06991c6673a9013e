"""`truce`: the command line. Sub-commands: db, migrate, etl, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli import alerts as alerts_cli
from cli import audit as audit_cli
from cli import basemap as basemap_cli
from cli import config, etl_commands, pgcluster, report
from cli import keys as keys_cli
from cli.errors import clear_errors, clear_errors_json, err

app = typer.Typer(help="Truce: ceasefire situation monitoring (PostGIS, OGC API, offline viewer).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The project-local PostgreSQL + PostGIS cluster under .data/.",
                     no_args_is_help=True)
etl_app = typer.Typer(help="Load data files into PostGIS (ETL jobs).", no_args_is_help=True)
replica_app = typer.Typer(help="Streaming hot standbys of the local cluster (read replicas).",
                          no_args_is_help=True)
db_app.add_typer(replica_app, name="replica")
app.add_typer(db_app, name="db")
app.add_typer(etl_app, name="etl")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(report.app, name="report")
app.add_typer(basemap_cli.app, name="basemap")


@app.callback()
def _configure() -> None:
    config.configure_logging()


@db_app.command("up")
@clear_errors
def db_up() -> None:
    """Install PostgreSQL/PostGIS if missing, create the cluster in .data/ and start it."""
    url = pgcluster.up(pgcluster.default_cluster())
    print(f"database ready: {config.safe_url(url)}")


@db_app.command("down")
@clear_errors
def db_down(
    port: Annotated[int | None, typer.Option(
        help="stop the cluster the project started on this port (one `db restore` started); "
             "default: the local cluster")] = None,
) -> None:
    """Stop the local cluster, or a restored one (the data stays)."""
    from cli import backups

    stopped = pgcluster.down(backups.cluster_on(port))
    print("database stopped" if stopped else "database was not running")


@db_app.command("backup")
@clear_errors
def db_backup(
    to: Annotated[Path | None, typer.Option(help="folder of the backups (default .data/backups); "
                                                 "each backup is a new folder in it")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Take a base backup (pg_basebackup) of the local cluster; WAL is archived continuously
    from the first backup on (turning that on restarts the cluster once)."""
    from cli import backups

    item, restarted = backups.backup(to)
    if restarted:
        err.print("WAL archiving turned on (the cluster was restarted once for it)")
    info = backups.describe(item)
    if as_json:
        print(json.dumps({**info, "restarted": restarted}))
    else:
        print(f"backup in {item.path} ({info['size_bytes'] / 1e6:.1f} MB), restorable from "
              f"{info['restorable_from']}")


@db_app.command("backups")
@clear_errors
def db_backups(
    folder: Annotated[Path | None, typer.Option(
        "--in", help="folder of the backups (default .data/backups)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the backups: size and the time range each can restore."""
    from cli import backups

    found = [backups.describe(b) for b in
             backups.find_backups(folder or pgcluster.default_cluster().root / "backups")]
    if as_json:
        print(json.dumps(found))
        return
    table = Table("backup", "MB", "restorable from", "restorable until")
    for row in found:
        table.add_row(row["path"], f"{row['size_bytes'] / 1e6:.1f}", row["restorable_from"],
                      row["restorable_until"])
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@db_app.command("restore")
@clear_errors
def db_restore(
    source: Annotated[Path, typer.Option("--from", help="a backup folder, or a folder of "
                                                        "backups (the newest fitting --time)")],
    to_port: Annotated[int, typer.Option(help="port of the NEW cluster (must be free)")],
    at: Annotated[str | None, typer.Option("--time", help="ISO 8601 time to restore to "
                                                          "(default: the last archived WAL)")]
    = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="folder of the new cluster (default .data/restores/port-P)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore a backup into a new cluster and start it; the running cluster is never touched.
    Exit 2 when --time is outside the backup's restorable range (the message gives it)."""
    from cli import backups

    target = backups.parse_time(at) if at else None
    info = backups.restore(source, target, to_port, data_dir)
    if as_json:
        print(json.dumps(info))
    else:
        print(f"restored {info['backup']} to {info['recovered_to']}: running on port "
              f"{info['port']}, data in {info['data_dir']} (stop: truce db down --port "
              f"{info['port']})")


@db_app.command("status")
@clear_errors
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object (one line)")] = False,
) -> None:
    """Say whether the local cluster exists and runs, and where; and each replica's port and
    lag (as the primary sees it)."""
    from cli import replicas

    info = {**pgcluster.status(pgcluster.default_cluster()), "replicas": replicas.describe()}
    print(json.dumps(info) if as_json else json.dumps(info, indent=2))


@replica_app.command("up")
@clear_errors
def replica_up(
    port: Annotated[int, typer.Option(help="port of the replica (must be free)")],
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="make it again from a new base backup (one that cannot catch up)")]
    = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make a streaming hot standby of the local cluster (pg_basebackup -R, with a replication
    slot) beside it, in .data/replicas/port-P, and start it on --port (an existing one is
    started again and catches up)."""
    from cli import replicas

    info = replicas.up(port, fresh=fresh)
    if as_json:
        print(json.dumps(info))
    else:
        print(f"replica running on port {info['port']}, data in {info['data_dir']} "
              f"(read URL: the primary's with port {info['port']}; stop: truce db replica down "
              f"--port {info['port']})")


@replica_app.command("down")
@clear_errors
def replica_down(port: Annotated[int, typer.Option(help="port of the replica")]) -> None:
    """Stop a replica (its data stays; `replica up` starts it again and it catches up)."""
    from cli import replicas

    print("replica stopped" if replicas.down(port) else "replica was not running")


@replica_app.command("remove")
@clear_errors
def replica_remove(port: Annotated[int, typer.Option(help="port of the replica")]) -> None:
    """Stop a replica, drop its replication slot on the primary and delete its folder."""
    from cli import replicas

    print("replica removed" if replicas.remove(port) else "no replica on that port")


@app.command()
@clear_errors
def migrate() -> None:
    """Apply the Alembic migrations (creates or updates the schema)."""
    from server.db.migrate import upgrade

    config.engine().dispose()  # a clear error if the database is unreachable
    upgrade(config.database_url())
    print("schema up to date")


def _print_summary(summaries: list[Any], as_json: bool,
                   alerts: dict[str, Any] | None = None) -> None:
    if as_json:
        rows = [{"run_id": s.run_id, "status": s.status, "read": s.read, "loaded": s.loaded,
                 "updated": s.updated, "unchanged": s.unchanged, "quarantined": s.quarantined,
                 "reasons": s.reasons, "repaired": s.repaired, "repairs": s.repairs,
                 "outside_allowed": s.outside_allowed, "duplicates": s.duplicates,
                 "error": s.error, "method": s.method, "fallback": s.fallback,
                 "layer": s.layer, "path": s.path, "warnings": s.warnings}
                for s in summaries]
        if alerts is not None:
            rows[-1]["alerts"] = alerts
        print(json.dumps(rows[0] if len(rows) == 1 else rows))
        return
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(summary_table(summaries, console.width))
    for s in summaries:
        if s.error:
            err.print(f"[red]{Path(s.path).name}: {s.error}[/red]", highlight=False)
        if s.reasons:
            err.print(f"{Path(s.path).name} quarantined: {s.reasons}", highlight=False)
        for warning in s.warnings:
            err.print(f"[yellow]{Path(s.path).name}: {warning}[/yellow]", highlight=False)
        if s.fallback:
            err.print(f"[yellow]{Path(s.path).name}: loaded row by row (slower) because the "
                      f"set-based path failed: {s.fallback}[/yellow]", highlight=False)
    if alerts is not None:
        print(alerts_cli.describe(alerts))


def summary_table(summaries: list[Any], width: int = 80) -> Table:
    """The runs' counts, one row each, fitting an 80-column terminal: the file's name (cut
    with an ellipsis when long) over its status and layer, then the counts."""
    from rich import box

    names = ("read", "loaded", "updated", "unchanged", "quarantined")
    rows = [[str(s.run_id or "-"), f"{Path(s.path).name}\n{s.status}, {s.layer}",
             *(f"{getattr(s, n):,}" for n in names)] for s in summaries]

    def widest(i: int, header: str) -> int:  # numbers are never cut
        return max([len(header), *(len(r[i]) for r in rows)])

    widths = [widest(0, "run"), 0, *(widest(i, n) for i, n in enumerate(names, start=2))]
    # the file's column takes what the others leave of the line (a gap of 2 between columns)
    widths[1] = max(12, min(32, width - sum(widths) - 2 * (len(widths) - 1)))
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, show_edge=False)
    table.add_column("run", no_wrap=True, width=widths[0])
    table.add_column("file / status, layer", overflow="ellipsis", no_wrap=True,
                     width=widths[1])
    for i, name in enumerate(names, start=2):
        table.add_column(name, justify="right", no_wrap=True, width=widths[i])
    for row in rows:
        table.add_row(*row)
    return table


@etl_app.command("load")
def etl_load(
    path: Annotated[str, typer.Argument(help="the file to load, or an http(s) URL")],
    layer: Annotated[str, typer.Option(help="incidents|agreement_areas|aid_deliveries|"
                                            "admin_areas|settlements")],
    fmt: Annotated[str, typer.Option("--format", help="acled|ucdp|hxl|csv|geojson|gpkg|shp|"
                                                      "kml|auto")] = "auto",
    mapping: Annotated[Path | None, typer.Option(help="YAML/JSON column mapping "
                                                      "{field: column} for generic files")] = None,
    source: Annotated[str | None, typer.Option(help="source name (natural key part)")] = None,
    since: Annotated[str | None, typer.Option(help="skip rows reported before this (ACLED "
                                                   "timestamp; ISO 8601 date or date-time)")]
    = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    invalid_geometry: Annotated[str, typer.Option(
        help="invalid polygons: repair (ST_MakeValid, counted as repaired) or reject "
             "(quarantined with the reason GEOS gives)")] = "repair",
    no_alerts: Annotated[bool, typer.Option(
        "--no-alerts", help="do not match the loaded incidents against alert subscriptions "
                            "(`truce alerts run` does it later)")] = False,
    source_layer: Annotated[str | None, typer.Option(
        help="the layer of the file to read (a GeoPackage table, a shapefile of a zip, a KML "
             "folder); needed when the file has several (KML: all folders are read)")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="the CSV file's text encoding (utf-8, cp1252, latin-1, cp1256, utf-16); detected "
             "from the whole file when not given")] = None,
    date_order: Annotated[str | None, typer.Option(
        help="dmy|mdy|ymd: how d/m/y dates are read; decided per date column from the dates "
             "that read one way only when not given")] = None,
    crs: Annotated[str | None, typer.Option(
        help="the coordinate system of the file's coordinates (EPSG:3857, EPSG:32637 ...), "
             "when they are not lon/lat; a file that is not in lon/lat fails naming it")] = None,
    allow_outside: Annotated[bool, typer.Option(
        "--allow-outside", help="load rows outside the area of interest "
                                "(TRUCE_ETL_AREA_OF_INTEREST) instead of quarantining them; "
                                "their lines are listed in the warnings")] = False,
) -> None:
    """Load one file (or URL) into a layer; bad rows go to quarantine with their reasons.
    A completed incidents load then runs the alerts (retry due webhooks, match, deliver; the
    outcome is the JSON's "alerts"; a failure there leaves the exit code alone).
    Exit 0: the run completed (or read no rows: status `empty`, with a warning); 1: the run
    failed; 2: it could not start (bad option, missing file, failed download, a header without
    the format's columns); 130/143: SIGINT/SIGTERM interrupted it (the statement running is
    cancelled, the load rolled back, the run recorded `interrupted`). With --json, every outcome
    is one JSON object on stdout."""
    from cli import etl_commands
    from etl import interrupt

    alerts = None
    summary: Any = None
    with interrupt.handle_signals():
        try:
            with clear_errors_json(as_json):
                summary = etl_commands.load_file(
                    path, layer=layer, fmt=fmt, source=source, dry_run=dry_run,
                    mapping=etl_commands.read_mapping(mapping),
                    since=etl_commands.parse_since(since),
                    show_progress=not as_json and etl_commands.stdout_is_terminal(),
                    invalid_geometry=invalid_geometry, source_layer=source_layer,
                    encoding=encoding, date_order=date_order, crs=crs,
                    allow_outside=allow_outside)
            if not no_alerts and summary.status != "interrupted":
                alerts = alerts_cli.after_load(summary, dry_run=dry_run)
        except interrupt.Interrupted as exc:
            if summary is None:  # before the run started
                etl_commands.interrupted(exc, as_json)
            alerts = {"error": f"{exc}: the alerts stopped; the load stands"}
    _print_summary([summary], as_json, alerts)
    signum = interrupt.received()
    if signum is not None:
        raise typer.Exit(128 + signum)
    if summary.status not in ("completed", "empty"):
        raise typer.Exit(1)


@etl_app.command("sample")
@clear_errors
def etl_sample(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="skip when already loaded")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Load the real sample data shipped with the project (OCHA, GeoNames, UCDP, illustrative)."""
    from etl import sample

    engine = config.engine()
    if if_empty and sample.is_loaded(engine):
        print("sample data already loaded")
        return
    summaries = sample.load_all(engine)
    _print_summary(summaries, as_json)
    if any(s.status not in ("completed", "empty") for s in summaries):
        raise typer.Exit(1)


@app.command()
@clear_errors
def serve(
    host: Annotated[str, typer.Option(envvar="TRUCE_API_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TRUCE_API_PORT")] = 8000,
    workers: Annotated[int, typer.Option(
        envvar="TRUCE_API_WORKERS", min=1, max=64,
        help="API processes sharing the port; each applies 1/N of the rate limits")] = 1,
) -> None:
    """Serve the API and the viewer (Ctrl-C stops)."""
    import json
    import os

    import uvicorn

    from server.request_id import install_json_logging
    from server.serving import uvicorn_options

    config.engine().dispose()
    install_json_logging()  # one JSON object per line on stderr, with the request id
    settings = config.app_settings(host, port)
    settings.api.workers = workers
    print(f"Truce is serving at http://{host}:{port}/  (API docs: http://{host}:{port}/api.html)"
          + (f" with {workers} processes" if workers > 1 else ""), flush=True)
    # X-Forwarded-For is read by the rate limiter from TRUCE_SECURITY_TRUSTED_PROXIES only,
    # not also by uvicorn (which would trust it from 127.0.0.1 by default)
    if workers == 1:
        from server.main import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                    proxy_headers=False, **uvicorn_options(settings.api))
        return
    # each worker process builds its app from the environment (server.serving.worker_app)
    os.environ.update({
        "TRUCE_DATABASE_URL": settings.database.url, "TRUCE_API_HOST": host,
        "TRUCE_API_PORT": str(port), "TRUCE_API_WORKERS": str(workers),
        "TRUCE_API_WEB_DIR": settings.api.web_dir or "",
        "TRUCE_RASTER_SOURCES": json.dumps(settings.raster.sources)})
    options = {**uvicorn_options(settings.api), "http": "server.serving:GuardedFromEnv"}
    uvicorn.run("server.serving:worker_app", factory=True, workers=workers, host=host,
                port=port, log_level="warning", proxy_headers=False, **options)


etl_commands.register(etl_app, clear_errors)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
