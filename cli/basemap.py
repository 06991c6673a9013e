"""`truce basemap`: vector basemaps (PMTiles) the server offers besides the shipped one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Basemaps: add a local PMTiles extract (e.g. OpenStreetMap) the viewer can "
                       "show instead of the shipped one.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never wrapped


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="a PMTiles v3 file of vector tiles (MVT)", metavar="FILE")],
    name: Annotated[str, typer.Option("--name", help="the name it is listed under: lower-case "
                                                     "letters, digits, - and _")],
    replace: Annotated[bool, typer.Option(help="replace a basemap of that name")] = False,
) -> None:
    """Check FILE and copy it into the basemap folder (TRUCE_BASEMAP_DIRECTORY, default
    .data/basemaps); the running server lists it at /basemaps at once."""
    from server import basemaps
    from server.settings import BasemapSettings

    if not basemaps.NAME.match(name):
        _fail(f"--name {name!r}: use 1 to 40 lower-case letters, digits, - and _ (starting with a "
              "letter or digit)")
    if name == basemaps.SHIPPED:
        _fail(f"--name {name!r} is the shipped basemap's name; choose another")
    if not file.is_file():
        _fail(f"{file}: no such file")
    try:
        found = basemaps.describe(name, file)
    except basemaps.BasemapFileError as exc:
        _fail(str(exc))
        return
    folder = Path(BasemapSettings().directory)
    target = folder / f"{name}.pmtiles"
    if target.exists() and not replace:
        _fail(f"a basemap named {name!r} exists ({target}); use --replace to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(file, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _fail(f"cannot copy {file} to {target}: {exc.strerror or exc}")
    layers = ", ".join(found.vector_layers) or "no layer list"
    print(f"added basemap {name!r}: zooms {found.min_zoom}-{found.max_zoom}, layers: {layers} ({target})")


@app.command("list")
def list_basemaps() -> None:
    """The basemaps the server offers."""
    from cli import config
    from server import basemaps
    from server.settings import BasemapSettings

    for b in basemaps.catalogue(config.web_dir(), BasemapSettings().directory).values():
        print(f"{b.name}\tzooms {b.min_zoom}-{b.max_zoom}\t{'shipped' if b.shipped else b.path}")
