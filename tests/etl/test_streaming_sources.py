"""Vector sources stream: every format is read a batch at a time in one pass over the open file
(GeoJSON, newline-delimited GeoJSON, KML, GeoPackage, Shapefile), loads whole, reruns to nothing,
and a file that breaks fails cleanly with none of its rows left. The batch size is made small
here so that a few features span several batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from etl import runner
from etl.jobs import find_job
from etl.runner import run
from etl.sources import geojson, vector

COUNT = 7
BATCH = 3
MAPPING = {"source_id": "uid", "occurred_at": "day", "event_type": "kind"}


def _lon(i: int) -> float:
    return round(36.70 + i / 100, 2)


def _feature(i: int) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [_lon(i), 34.73]},
            "properties": {"uid": f"T{i}", "day": "2016-06-03", "kind": "Shelling"}}


def _geojson(path: Path) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection",
                                "features": [_feature(i) for i in range(COUNT)]}))


def _ndjson(path: Path) -> None:
    path.write_text("".join(json.dumps(_feature(i)) + "\n" for i in range(COUNT)))


def _placemarks(numbers: range) -> str:
    return "".join(
        f'<Placemark><name>T{i}</name><ExtendedData><Data name="uid"><value>T{i}</value></Data>'
        '<Data name="day"><value>2016-06-03</value></Data>'
        '<Data name="kind"><value>Shelling</value></Data></ExtendedData>'
        f"<Point><coordinates>{_lon(i)},34.73,0</coordinates></Point></Placemark>\n"
        for i in numbers)


def _kml(path: Path, placemarks: str = "") -> None:
    placemarks = placemarks or _placemarks(range(COUNT))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/'
                    f'kml/2.2"><Document><name>field</name>\n{placemarks}</Document></kml>\n')


def _ogr(driver: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pyogrio.raw.write(
            str(path), np.array([shapely.to_wkb(shapely.Point(_lon(i), 34.73))
                                 for i in range(COUNT)], dtype=object),
            [np.array([f"T{i}" for i in range(COUNT)], dtype=object),
             np.array(["2016-06-03"] * COUNT, dtype=object), np.array(["Shelling"] * COUNT, dtype=object)],
            ["uid", "day", "kind"], driver=driver, geometry_type="Point", crs="EPSG:4326")
    return write


WRITERS: dict[str, Callable[[Path], None]] = {
    "points.geojson": _geojson, "points.geojsonl": _ndjson, "points.kml": _kml,
    "points.gpkg": _ogr("GPKG"), "points.shp": _ogr("ESRI Shapefile"),
}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Vector batches of BATCH features; the sizes of the batches read, in order."""
    sizes: list[int] = []
    real = vector._batches

    def counting(*args: Any) -> Iterator[Any]:
        for batch in real(*args):
            sizes.append(len(batch[0]))
            yield batch

    monkeypatch.setattr(vector, "BATCH", BATCH)
    monkeypatch.setattr(vector, "_batches", counting)
    monkeypatch.setattr(runner, "BATCH", 2)
    return sizes


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_vector_format_is_read_a_batch_at_a_time(tmp_path: Path, small_batches: list[int],
                                                       name: str) -> None:
    path = tmp_path / name
    WRITERS[name](path)
    records = vector.read_vector(path)
    first = next(records)
    assert small_batches == [BATCH]  # the first feature came before the rest was read
    rest = list(records)
    assert small_batches == [3, 3, 1]
    got = [first, *rest]
    assert [(r.number, r.fields["uid"], r.srid) for r in got] == [
        (i + 1, f"T{i}", 4326) for i in range(COUNT)]
    assert [round(shapely.from_wkb(r.geometry_wkb).x, 2) for r in got] == [
        _lon(i) for i in range(COUNT)]


def test_every_folder_of_a_kml_is_read(tmp_path: Path, small_batches: list[int]) -> None:
    """GDAL makes each KML folder a layer; reading the first one only would lose the others."""
    path = tmp_path / "folders.kml"
    _kml(path, f"<Folder><name>North</name>{_placemarks(range(4))}</Folder>"
               f"<Folder><name>South</name>{_placemarks(range(4, COUNT))}</Folder>")
    records = list(vector.read_vector(path))
    assert [(r.number, r.fields["uid"]) for r in records] == [(i + 1, f"T{i}") for i in range(COUNT)]
    assert small_batches == [3, 1, 3]


def _incidents(engine: Engine, source: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT source_id FROM incidents WHERE source = :s "
                                      "ORDER BY source_id"), {"s": source}).scalars())


@pytest.mark.parametrize("name", ["points.geojson", "points.geojsonl", "points.kml"])
def test_streamed_file_loads_every_feature_and_a_rerun_changes_nothing(
        engine: Engine, sample_loaded: list, tmp_path: Path, small_batches: list[int],
        name: str) -> None:
    path = tmp_path / name
    WRITERS[name](path)
    source = f"etlt_stream_{path.suffix.lstrip('.')}"
    first = run(find_job("incidents", "auto", path), path, engine, source=source, mapping=MAPPING)
    assert (first.status, first.read, first.loaded, first.quarantined) == (
        "completed", COUNT, COUNT, 0), first
    assert small_batches == [3, 3, 1]
    again = run(find_job("incidents", "auto", path), path, engine, source=source, mapping=MAPPING)
    assert (again.status, again.read, again.loaded, again.updated, again.unchanged) == (
        "completed", COUNT, 0, 0, COUNT), again
    assert _incidents(engine, source) == [f"T{i}" for i in range(COUNT)]


def _failed_run(engine: Engine, run_id: int | None) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, error FROM etl_runs WHERE id = :r"),
                           {"r": run_id}).one()
    return row[0], row[1]


def test_truncated_geojson_larger_than_a_batch_quarantines_the_cut_feature(
        engine: Engine, sample_loaded: list, tmp_path: Path, small_batches: list[int]) -> None:
    """Read in Python (etl/sources/cut_json.py): the whole features load, the cut one is
    quarantined; nothing after the cut is invented."""
    path = tmp_path / "truncated.geojson"
    _geojson(path)
    whole = path.read_text()
    path.write_text(whole[: len(whole) * 5 // 6])  # cut inside feature 6, in the last batch
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_stream_cut",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 6, 5, 1), summary
    assert summary.reasons == {"truncated_record": 1}
    assert small_batches == [3, 3]
    assert _incidents(engine, "etlt_stream_cut") == [f"T{i}" for i in range(5)]


def test_truncated_geojson_gdal_reads_fails_with_nothing_left(
        engine: Engine, sample_loaded: list, tmp_path: Path, small_batches: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A collection GDAL streams (one too large to parse whole) cut short is refused whole."""
    monkeypatch.setattr(geojson, "MAX_COLLECTION_BYTES", 0)
    path = tmp_path / "truncated.geojson"
    _geojson(path)
    whole = path.read_text()
    path.write_text(whole[: len(whole) * 5 // 6])  # cut inside the last batch
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_stream_cut2",
                  mapping=MAPPING)
    assert summary.status == "failed" and "cannot be read" in (summary.error or ""), summary
    assert (summary.loaded, summary.quarantined) == (0, 0)
    assert _failed_run(engine, summary.run_id)[0] == "failed"
    assert _incidents(engine, "etlt_stream_cut2") == []


@pytest.mark.parametrize("broken", ["last line cut", "a line in the middle", "first line cut"])
def test_broken_line_of_newline_delimited_geojson_fails_with_nothing_left(
        engine: Engine, sample_loaded: list, tmp_path: Path, small_batches: list[int],
        broken: str) -> None:
    """GDAL skips a line it cannot parse: the file is refused, not loaded without it."""
    path = tmp_path / "feed.ndjson"
    lines = [json.dumps(_feature(i)) for i in range(COUNT)]
    if broken == "last line cut":
        lines[-1] = lines[-1][:40]
        bad = COUNT
    elif broken == "first line cut":  # GDAL cannot open it: no line to name
        lines[0] = lines[0][:40]
        bad = 0
    else:
        lines.insert(4, '{"type": "Feature", "geometry": {"type": "Po')
        bad = 5
    path.write_text("\n".join(lines) + "\n")
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_stream_badline",
                  mapping=MAPPING)
    assert summary.status == "failed", summary
    error = summary.error or ""
    if not bad:
        assert "cannot be read" in error
    else:
        assert f"(line {bad})" in error and "not GeoJSON features" in error
        assert sum(small_batches) >= BATCH  # it failed after streaming batches
    assert _incidents(engine, "etlt_stream_badline") == []


@pytest.mark.parametrize("layout", ["one line", "a feature a line"])
def test_feature_collection_named_as_a_sequence_is_read_whole(tmp_path: Path, layout: str) -> None:
    """The line check applies to what GDAL reads as a sequence, told by the content, not the name."""
    path = tmp_path / "collection.geojsonl"
    if layout == "one line":
        _geojson(path)
    else:
        path.write_text('{"type": "FeatureCollection", "features": [\n'
                        + ",\n".join(json.dumps(_feature(i)) for i in range(COUNT)) + "\n]}\n")
    assert [r.fields["uid"] for r in vector.read_vector(path)] == [f"T{i}" for i in range(COUNT)]


def test_cli_json_counts_and_dry_run_on_a_streamed_file(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path,
        small_batches: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    path = tmp_path / "points.geojsonl"
    _ndjson(path)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    args = ["etl", "load", str(path), "--layer", "incidents", "--mapping", str(mapping),
            "--source", "etlt_stream_cli", "--json", "--no-alerts"]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (json.loads(dry.stdout)["read"], json.loads(dry.stdout)["loaded"]) == (COUNT, COUNT)
    assert _incidents(engine, "etlt_stream_cli") == []
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert {k: out[k] for k in ("status", "read", "loaded", "updated", "unchanged", "quarantined")
            } == {"status": "completed", "read": COUNT, "loaded": COUNT, "updated": 0,
                  "unchanged": 0, "quarantined": 0}
    assert len(_incidents(engine, "etlt_stream_cli")) == COUNT
