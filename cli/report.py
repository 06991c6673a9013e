"""`truce report`: situation-report documents written to files (the same as the API's /reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli import config

app = typer.Typer(help="Situation reports: standalone files to hand to partners.",
                  no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never wrapped


@app.command("area")
def area(
    area_id: Annotated[int, typer.Argument(help="agreement area id", metavar="ID")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write")],
    start: Annotated[str | None, typer.Option(help="first day or instant (RFC 3339); default: "
                                                   "the signing, or 30 days before --end")] = None,
    end: Annotated[str | None, typer.Option(help="last day (inclusive) or instant; default: "
                                                 "30 days after the start")] = None,
    buffer: Annotated[float, typer.Option(help="search distance around the area, metres")]
    = 5000.0,
) -> None:
    """Write the situation-report map of one agreement area: one HTML file that opens offline."""
    from sqlalchemy.orm import Session

    from server import basemaps
    from server.errors import TruceError
    from server.security.principal import Principal, Role
    from server.security.release import release_for
    from server.services import sitrep

    try:
        if out.is_dir():
            raise ValueError(f"--out {out} is a directory; give a file name such as report.html")
        if not out.parent.exists():
            raise ValueError(f"the folder {out.parent} does not exist")
        with Session(config.engine()) as session:
            report = sitrep.area_map(
                area_id, sitrep.parse_instant(start, name="--start"),
                sitrep.parse_instant(end, name="--end", end_of_day=True),
                # the operator's own tool: every incident the sitrep shows (not restricted ones)
                release_for(Principal(Role.ADMIN), "incidents", alias="i"),
                buffer_m=buffer, session=session, basemap=basemaps.shipped(config.web_dir()))
        out.write_text(report.html, encoding="utf-8")
    except (TruceError, config.ConfigError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {getattr(exc, 'detail', exc)}", highlight=False)
        raise typer.Exit(2) from None
    print(f"wrote {out} ({len(report.html.encode()) // 1024} KiB): {report.incidents} incidents, "
          f"{report.deliveries} aid deliveries, {report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}")
