"""`truce etl watch DIR` takes the load options `truce etl load` takes and passes them to each file:
`--source-layer` (a layer of a GeoPackage / zip of shapefiles / KML; a file without it, or not a
vector file, reported failed with the layers it has, and the watch goes on; a file is done
for the layer it was loaded from, not for its others) and `--since`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tests.etl.acled_rows import ACLED_HEADER, acled_row
from tests.etl.layer_files import MAPPING, layer_uids, layers_gpkg, loaded_uids


def _watch(database_url: str, monkeypatch: pytest.MonkeyPatch, inbox: Path, source: str,
           *options: str) -> list[dict[str, Any]]:
    from cli.main import app

    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    done = CliRunner().invoke(app, ["etl", "watch", str(inbox), "--layer", "incidents",
                                    "--source", source, "--once", "--json", "--no-alerts",
                                    *options])
    assert done.exit_code == 0, done.output
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_watch_passes_source_layer_to_every_file(database_url: str, engine: Engine,
                                                 sample_loaded: list, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    layers_gpkg(inbox)  # areas.gpkg: north and south
    other = tmp_path / "other"
    other.mkdir()
    (inbox / "north_only.gpkg").write_bytes(layers_gpkg(other, ("north",)).read_bytes())
    (inbox / "events.csv").write_text("uid,day,kind,lat,lon\nC1,2016-06-03,Shelling,34.73,36.71\n")
    (inbox / "field.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document>" + "".join(
            f"<Folder><name>{layer}</name><Placemark><name>{layer}-k</name><ExtendedData>"
            f'<Data name="uid"><value>{layer}-k</value></Data><Data name="day"><value>2016-06-03'
            '</value></Data><Data name="kind"><value>Shelling</value></Data></ExtendedData>'
            "<Point><coordinates>36.71,34.73</coordinates></Point></Placemark></Folder>"
            for layer in ("north", "south")) + "</Document></kml>")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    lines = _watch(database_url, monkeypatch, inbox, "etlt_watch_layer", "--mapping",
                   str(mapping), "--source-layer", "south")
    by_name = {Path(line["path"]).name: line for line in lines}
    assert sorted(by_name) == ["areas.gpkg", "events.csv", "field.kml", "north_only.gpkg"]
    assert (by_name["areas.gpkg"]["status"], by_name["areas.gpkg"]["loaded"]) == ("completed", 3)
    assert (by_name["field.kml"]["status"], by_name["field.kml"]["loaded"]) == ("completed", 1)
    assert by_name["north_only.gpkg"]["status"] == "failed"
    assert by_name["north_only.gpkg"]["error"] == (
        "north_only.gpkg has no layer 'south'; its layers: north")
    assert by_name["events.csv"]["status"] == "failed"
    assert "--source-layer picks a layer of a vector file" in by_name["events.csv"]["error"]
    assert loaded_uids(engine, "etlt_watch_layer") == sorted([*layer_uids("south"), "south-k"])
    with engine.connect() as conn:
        recorded = conn.execute(text("SELECT options->>'source_layer' FROM etl_runs "
                                     "WHERE id = :r"), {"r": by_name["areas.gpkg"]["run_id"]}
                                ).scalar_one()
    assert recorded == "south"
    again = _watch(database_url, monkeypatch, inbox, "etlt_watch_layer", "--mapping",
                   str(mapping), "--source-layer", "south")
    assert sorted(Path(line["path"]).name for line in again) == ["events.csv", "north_only.gpkg"]
    # a file done for its south layer is not done for its north one
    north = {Path(line["path"]).name: line for line in _watch(
        database_url, monkeypatch, inbox, "etlt_watch_layer", "--mapping", str(mapping),
        "--source-layer", "north")}
    assert sorted(north) == ["areas.gpkg", "events.csv", "field.kml", "north_only.gpkg"]
    assert {name: line["status"] for name, line in north.items()} == {
        "areas.gpkg": "completed", "events.csv": "failed", "field.kml": "completed",
        "north_only.gpkg": "completed"}
    assert (north["areas.gpkg"]["loaded"], north["field.kml"]["loaded"]) == (len(layer_uids("north")), 1)
    assert loaded_uids(engine, "etlt_watch_layer") == sorted(
        [*layer_uids("south"), "south-k", *layer_uids("north"), "north-k"])


def test_watch_passes_since(database_url: str, engine: Engine, sample_loaded: list,
                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = acled_row("SYR-WOLD", "2016-03-01", "Jablah", "35.3621", "35.9276")
    new = acled_row("SYR-WNEW", "2016-03-02", "Jablah", "35.3621", "35.9276")
    (inbox / "acled.csv").write_text("\n".join([ACLED_HEADER,
                                                old.replace("1618317040", "1600000000"),
                                                new.replace("1618317040", "1700000000")]) + "\n")
    lines = _watch(database_url, monkeypatch, inbox, "etlt_watch_since", "--since", "2021-01-01")
    assert [(line["status"], line["read"], line["loaded"]) for line in lines] == [
        ("completed", 2, 1)]
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT source_id FROM incidents WHERE source = "
                                "'etlt_watch_since'")).scalars().all()
    assert ids == ["SYR-WNEW"]
