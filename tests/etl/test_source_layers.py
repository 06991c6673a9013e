"""Files of several layers (a GeoPackage's tables, a zip of shapefiles): without `--source-layer`
such a file is refused naming its layers (nothing loaded, the run recorded as failed), rather than
its first layer loaded and the others left out; with it, that layer loads; an unknown name is a
usage error listing the layers. A one-layer file loads as before. Real files written with GDAL."""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from etl.jobs import find_job
from etl.runner import run
from etl.sources import vector
from tests.etl.layer_files import LAYERS, MAPPING, layer_uids, layers_gpkg, loaded_uids, write_layer


def _zipped_folder(directory: Path, layers: tuple[str, ...] = ("north", "south"),
                   folder: str = "areas/") -> Path:
    """A folder of shapefiles zipped as people do it (the folder inside the zip), or flat."""
    parts = directory / "parts"
    parts.mkdir()
    for layer in layers:
        write_layer(parts / f"{layer}.shp", layer, LAYERS[layer], "ESRI Shapefile")
    path = directory / "areas.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(parts.iterdir()):
            archive.write(part, folder + part.name)
    return path


BUILDERS = {"gpkg": layers_gpkg, "zipped folder": _zipped_folder,
            "flat zip": lambda d, *layers: _zipped_folder(d, *layers, folder="")}


def _run_row(engine: Engine, run_id: int | None) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, error FROM etl_runs WHERE id = :r"),
                           {"r": run_id}).one()
    return row[0], row[1]


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_file_of_several_layers_is_refused_naming_them(engine: Engine, sample_loaded: list,
                                                       tmp_path: Path, kind: str) -> None:
    path = BUILDERS[kind](tmp_path)
    assert vector.source_layers(path) == ["north", "south"]
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_layers_refused",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded) == ("failed", 0, 0), summary
    error = summary.error or ""
    assert "2 layers (north, south)" in error and "--source-layer" in error, error
    assert _run_row(engine, summary.run_id) == ("failed", error)
    assert loaded_uids(engine, "etlt_layers_refused") == []


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_the_layer_asked_for_loads_and_only_it(engine: Engine, sample_loaded: list,
                                               tmp_path: Path, kind: str) -> None:
    path = BUILDERS[kind](tmp_path)
    source = "etlt_layers_" + kind.replace(" ", "_")
    for layer in ("south", "north"):
        summary = run(find_job("incidents", "auto", path), path, engine, source=source,
                      mapping=MAPPING, options={"source_layer": layer})
        assert (summary.status, summary.read, summary.loaded) == (
            "completed", LAYERS[layer], LAYERS[layer]), summary
        if layer == "south":
            assert loaded_uids(engine, source) == layer_uids("south")
    assert loaded_uids(engine, source) == sorted(layer_uids("north") + layer_uids("south"))
    with engine.connect() as conn:
        recorded = conn.execute(text("SELECT options->>'source_layer' FROM etl_runs "
                                     "WHERE id = :r"), {"r": summary.run_id}).scalar_one()
    assert recorded == "north"


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_one_layer_file_loads_without_the_option(engine: Engine, sample_loaded: list,
                                                 tmp_path: Path, kind: str) -> None:
    path = BUILDERS[kind](tmp_path, ("south",))
    source = "etlt_layers_one_" + kind.replace(" ", "_")
    summary = run(find_job("incidents", "auto", path), path, engine, source=source,
                  mapping=MAPPING)
    assert (summary.status, summary.loaded) == ("completed", 3), summary
    assert loaded_uids(engine, source) == layer_uids("south")


def test_every_folder_of_a_kml_is_still_read_and_one_can_be_picked(tmp_path: Path) -> None:
    path = tmp_path / "folders.kml"
    folders = "".join(
        f"<Folder><name>{layer}</name>" + "".join(
            f"<Placemark><name>{uid}</name><Point><coordinates>36.7,34.73</coordinates></Point>"
            "</Placemark>" for uid in layer_uids(layer)) + "</Folder>" for layer in LAYERS)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                    f'kml/2.2"><Document>{folders}</Document></kml>')
    assert [r.fields["Name"] for r in vector.read_vector(path)] == layer_uids("north") + layer_uids("south")
    assert [r.fields["Name"] for r in vector.read_vector(path, layer="south")] == layer_uids("south")


def _cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> Any:
    from cli.main import app

    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    return CliRunner().invoke(app, [*args, "--mapping", str(mapping), "--no-alerts"])


def test_cli_source_layer_loads_refuses_and_names_unknown_layers(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = layers_gpkg(tmp_path)
    load = ["etl", "load", str(path), "--layer", "incidents", "--source", "etlt_layers_cli",
            "--json"]
    refused = _cli(database_url, monkeypatch, tmp_path, *load)
    assert refused.exit_code == 1, refused.output  # a run that failed, recorded
    out = json.loads(refused.stdout)
    assert out["status"] == "failed" and out["run_id"] and "(north, south)" in out["error"]

    unknown = _cli(database_url, monkeypatch, tmp_path, *load, "--source-layer", "east")
    assert unknown.exit_code == 2, unknown.output  # a bad option: no run starts
    out = json.loads(unknown.stdout)
    assert (out["status"], out["run_id"], out["loaded"]) == ("failed", None, 0)
    assert out["error"] == "areas.gpkg has no layer 'east'; its layers: north, south"
    plain = _cli(database_url, monkeypatch, tmp_path, *load[:-1], "--source-layer", "east")
    assert plain.exit_code == 2 and "its layers: north, south" in plain.stderr
    assert plain.stdout == "" and len(plain.stderr.strip().splitlines()) == 1
    assert loaded_uids(engine, "etlt_layers_cli") == []

    done = _cli(database_url, monkeypatch, tmp_path, *load, "--source-layer", "south")
    assert done.exit_code == 0, done.output
    assert (json.loads(done.stdout)["status"], json.loads(done.stdout)["loaded"]) == ("completed", 3)
    assert loaded_uids(engine, "etlt_layers_cli") == layer_uids("south")


def test_cli_source_layer_on_a_csv_is_a_usage_error(
        database_url: str, sample_loaded: list, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.csv"
    path.write_text("uid,day,kind,lat,lon\nC1,2016-06-03,Shelling,34.73,36.71\n")
    done = _cli(database_url, monkeypatch, tmp_path, "etl", "load", str(path), "--layer",
                "incidents", "--source", "etlt_layers_csv", "--source-layer", "x", "--json")
    assert done.exit_code == 2, done.output
    assert "--source-layer picks a layer of a vector file" in json.loads(done.stdout)["error"]


def test_watch_records_a_file_of_several_layers_as_failed_and_goes_on(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    layers_gpkg(inbox)
    one = tmp_path / "one"
    one.mkdir()
    (inbox / "single.gpkg").write_bytes(layers_gpkg(one, ("south",)).read_bytes())
    done = _cli(database_url, monkeypatch, tmp_path, "etl", "watch", str(inbox), "--layer",
                "incidents", "--source", "etlt_layers_watch", "--once", "--json")
    assert done.exit_code == 0, done.output
    lines = {Path(line["path"]).name: line for line in map(json.loads, done.stdout.splitlines())}
    assert lines["single.gpkg"]["status"] == "completed" and lines["single.gpkg"]["loaded"] == 3
    refused = lines["areas.gpkg"]
    assert refused["status"] == "failed" and "(north, south)" in refused["error"]
    assert _run_row(engine, refused["run_id"]) == ("failed", refused["error"])
    assert loaded_uids(engine, "etlt_layers_watch") == layer_uids("south")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder) of a local HTTP server thread serving the folder."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_url_of_a_file_of_several_layers(database_url: str, engine: Engine, sample_loaded: list,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         served: tuple[str, Path]) -> None:
    base, folder = served
    _zipped_folder(folder)
    # the local server is on loopback, refused unless listed
    monkeypatch.setenv("TRUCE_ETL_URL_ALLOW", json.dumps([base.removeprefix("http://")]))
    load = ["etl", "load", f"{base}/areas.zip", "--layer", "incidents", "--source",
            "etlt_layers_url", "--json"]
    refused = _cli(database_url, monkeypatch, tmp_path, *load)
    assert refused.exit_code == 1, refused.output
    out = json.loads(refused.stdout)
    assert out["status"] == "failed" and "areas.zip has 2 layers (north, south)" in out["error"]
    assert _run_row(engine, out["run_id"]) == ("failed", out["error"])
    unknown = _cli(database_url, monkeypatch, tmp_path, *load, "--source-layer", "east")
    assert unknown.exit_code == 2 and "its layers: north, south" in json.loads(unknown.stdout)["error"]
    done = _cli(database_url, monkeypatch, tmp_path, *load, "--source-layer", "north")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["path"] == f"{base}/areas.zip"
    assert loaded_uids(engine, "etlt_layers_url") == layer_uids("north")
