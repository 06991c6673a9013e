"""GeoJSON features are read as written, one by one: a feature GDAL cannot read is counted and
quarantined (not skipped), an array in one feature quarantines only that feature, dates keep
their offsets and fractions of a second, a feature with thousands of properties reads in linear
time, and an agreement area must be an area in range (issue 21)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from etl.sources import geojson, vector

POINT = {"type": "Point", "coordinates": [36.71, 34.73]}
SQUARE = {"type": "Polygon", "coordinates": [[[36.6, 34.6], [36.8, 34.6], [36.8, 34.8],
                                              [36.6, 34.8], [36.6, 34.6]]]}


def _feature(sid: str, geometry: dict[str, Any] | None = POINT, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"source_id": sid, **props}, "geometry": geometry}


def _incident(sid: str, **props: Any) -> dict[str, Any]:
    return _feature(sid, **{"occurred_at": "2016-06-01", "event_type": "shelling", **props})


def _write(path: Path, features: list[Any]) -> Path:
    if path.suffix == ".geojsonl":
        path.write_text("".join(json.dumps(f) + "\n" for f in features))
    else:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _quarantine(engine: Engine, run_id: int | None) -> list[tuple[int, str | None, list[str],
                                                                  dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT record_number, source_id, reasons, detail FROM quarantine "
                                 "WHERE etl_run_id = :r ORDER BY record_number"),
                            {"r": run_id}).all()
    return [(int(r[0]), r[1], list(r[2]), dict(r[3])) for r in rows]


def _stored(engine: Engine, source: str, column: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT source_id, {column} FROM incidents "  # noqa: S608
                                      "WHERE source = :s"), {"s": source}).tuples().all())


@pytest.fixture(params=["python", "gdal"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both readers of a FeatureCollection: in Python (up to geojson.MAX_COLLECTION_BYTES) and
    GDAL's (larger files)."""
    if request.param == "gdal":
        monkeypatch.setattr(geojson, "MAX_COLLECTION_BYTES", 0)
    return str(request.param)


def test_a_feature_gdal_cannot_read_is_counted_and_quarantined(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    features: list[Any] = [_incident(f"U{i}") for i in range(5)]
    features[2]["type"] = "Featur"
    features[3]["geometry"] = {"type": "Pointt", "coordinates": [36.7, 34.7]}
    path = _write(tmp_path / "typo.geojson", features)
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_feat_typo")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 5, 3, 2), summary
    quarantined = _quarantine(engine, summary.run_id)
    assert [(n, reasons, d["feature_index"]) for n, _, reasons, d in quarantined] == [
        (3, ["unreadable_feature"], 2), (4, ["unreadable_feature"], 3)]
    assert "Featur" in quarantined[0][3]["problem"]
    assert set(_stored(engine, "etlt_feat_typo", "fatalities")) == {"U0", "U1", "U4"}


def test_a_large_collection_with_a_feature_gdal_cannot_read_is_refused(
        engine: Engine, sample_loaded: list, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Over geojson.MAX_COLLECTION_BYTES GDAL reads the file: the loss is counted, and the
    file refused rather than loaded without the feature."""
    monkeypatch.setattr(geojson, "MAX_COLLECTION_BYTES", 0)
    features: list[Any] = [_incident(f"U{i}", notes='say \\"geometry": no') for i in range(5)]
    features[2]["type"] = "Featur"
    path = _write(tmp_path / "typo.geojson", features)
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_feat_typo_gdal")
    assert summary.status == "failed", summary
    assert "GDAL read 4 features but the file has 5" in (summary.error or "")
    assert _stored(engine, "etlt_feat_typo_gdal", "fatalities") == {}
    features[2]["type"] = "Feature"
    path = _write(tmp_path / "fine.geojson", features)
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_feat_typo_gdal")
    assert (summary.status, summary.loaded) == ("completed", 5), summary


@pytest.mark.parametrize("suffix", [".geojson", ".geojsonl"])
def test_an_array_in_the_first_feature_quarantines_only_that_feature(
        engine: Engine, sample_loaded: list, tmp_path: Path, reader: str, suffix: str) -> None:
    if reader == "gdal" and suffix == ".geojsonl":
        pytest.skip("a sequence is always read in Python")
    features = [_incident("A0", fatalities=[1, 2]), _incident("A1", fatalities=3),
                _incident("A2", fatalities=4, notes={"a": 1}), _incident("A3", fatalities=5)]
    path = _write(tmp_path / f"arrays{suffix}", features)
    source = f"etlt_feat_arrays_{reader}{suffix[1:]}"
    summary = run(find_job("incidents", "auto", path), path, engine, source=source)
    assert (summary.status, summary.read, summary.loaded) == ("completed", 4, 3), summary
    assert [(sid, reasons) for _, sid, reasons, _ in _quarantine(engine, summary.run_id)] == [
        ("A0", ["unparseable_number"])]
    assert _stored(engine, source, "fatalities") == {"A1": 3, "A2": 4, "A3": 5}


@pytest.mark.parametrize("suffix", [".geojson", ".geojsonl"])
def test_offsets_and_fractions_of_a_second_are_kept(
        engine: Engine, sample_loaded: list, tmp_path: Path, reader: str, suffix: str) -> None:
    if reader == "gdal" and suffix == ".geojsonl":
        pytest.skip("a sequence is always read in Python")
    features = [_incident("D0", occurred_at="2016-06-01"),
                _incident("D1", occurred_at="2016-06-01T23:30+05:00"),
                _incident("D2", occurred_at="2016-06-01T10:00:00.123456Z"),
                _incident("D3", occurred_at="2016-06-01T10:00:00.5-02:30")]
    path = _write(tmp_path / f"dates{suffix}", features)
    source = f"etlt_feat_dates_{reader}{suffix[1:]}"
    summary = run(find_job("incidents", "auto", path), path, engine, source=source)
    assert (summary.status, summary.loaded) == ("completed", 4), summary
    assert _stored(engine, source, "occurred_at") == {
        "D0": datetime(2016, 6, 1, tzinfo=UTC),
        "D1": datetime(2016, 6, 1, 18, 30, tzinfo=UTC),
        "D2": datetime(2016, 6, 1, 10, 0, 0, 123456, tzinfo=UTC),
        "D3": datetime(2016, 6, 1, 12, 30, 0, 500000, tzinfo=UTC)}


def test_a_feature_with_20000_properties_reads_in_linear_time(
        engine: Engine, sample_loaded: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """GDAL's reading time grows with the square of a feature's properties (100,000: minutes);
    each property is now looked at a fixed number of times."""
    many = {f"p{i}": i for i in range(20_000)}
    path = _write(tmp_path / "wide.geojson", [_incident("W0", **many), _incident("W1")])
    converted = 0
    real = geojson._value

    def counting(value: Any) -> Any:
        nonlocal converted
        converted += 1
        return real(value)

    monkeypatch.setattr(geojson, "_value", counting)
    started = time.monotonic()
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_feat_wide")
    assert time.monotonic() - started < 30
    assert (summary.status, summary.loaded) == ("completed", 2), summary
    assert converted == len(many) + 2 * 3  # every property once


def test_feature_numbers_follow_the_file_in_batches(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector, "BATCH", 2)
    features: list[Any] = [_incident(f"N{i}") for i in range(5)]
    features[1] = "not a feature"
    path = _write(tmp_path / "numbers.geojson", features)
    records = list(vector.read_vector(path))
    assert [r.number for r in records] == [1, 2, 3, 4, 5]
    assert geojson.UNREADABLE in records[1].fields
    assert [r.fields.get("source_id") for r in records] == ["N0", None, "N2", "N3", "N4"]


def test_an_agreement_area_must_be_an_area_in_range(engine: Engine, sample_loaded: list,
                                                    tmp_path: Path) -> None:
    """A point, a line or a flat polygon was stored as MULTIPOLYGON EMPTY; an area at (500, 500)
    or far from the area of interest was stored as given."""
    far = {"type": "Polygon", "coordinates": [[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1],
                                               [2.0, 48.1], [2.0, 48.0]]]}
    beyond = {"type": "Polygon", "coordinates": [[[500, 500], [501, 500], [501, 501],
                                                  [500, 501], [500, 500]]]}
    flat = {"type": "Polygon", "coordinates": [[[36.6, 34.6], [36.7, 34.7], [36.8, 34.8],
                                                [36.6, 34.6]]]}
    line = {"type": "LineString", "coordinates": [[36.6, 34.6], [36.8, 34.8]]}
    features = [_feature("G-ok", SQUARE, name="ok"), _feature("G-point", POINT, name="point"),
                _feature("G-line", line, name="line"), _feature("G-flat", flat, name="flat"),
                _feature("G-beyond", beyond, name="beyond"), _feature("G-far", far, name="far")]
    path = _write(tmp_path / "areas.geojson", features)
    summary = run(find_job("agreement_areas", "auto", path), path, engine,
                  source="etlt_feat_areas")
    assert (summary.status, summary.read, summary.loaded) == ("completed", 6, 1), summary
    assert {sid: reasons for _, sid, reasons, _ in _quarantine(engine, summary.run_id)} == {
        "G-point": ["not_an_area"], "G-line": ["not_an_area"], "G-flat": ["not_an_area"],
        "G-beyond": ["coordinates_out_of_range"], "G-far": ["outside_area_of_interest"]}
    with engine.connect() as conn:
        empty = conn.execute(text("SELECT count(*) FROM agreement_areas WHERE source = :s "
                                  "AND ST_IsEmpty(geom)"), {"s": "etlt_feat_areas"}).scalar()
    assert empty == 0
