"""Issue 13, item 4, for GeoJSON: a file cut short (a download or a copy that stopped) does not
store its last feature shortened, and does not lose the whole file. A FeatureCollection or a
GeoJSON sequence whose end falls inside a feature loads the whole features before it and
quarantines the cut one as `truncated_record` (fatalities 131 cut to 13 is never stored); one
cut between two features loads them with a warning that it may have been cut; a feature broken
elsewhere still fails the file (etl/sources/cut_json.py tells one from the other)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from etl.sources import geojson
from etl.sources.cut_json import cut_short


def _feature(i: int) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
            "properties": {"source_id": f"c-{i}", "occurred_at": "2017-03-04",
                           "event_type": "Shelling", "fatalities": 131,
                           "notes": 'Shelling near the café "al-Salam" (Homs)'}}


FEATURES = [_feature(i) for i in range(3)]
COLLECTION = json.dumps({"type": "FeatureCollection", "name": "events", "features": FEATURES},
                        ensure_ascii=False)
LAST = json.dumps(FEATURES[-1], ensure_ascii=False)


def _rows(engine: Engine, source: str) -> dict[str, int | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT source_id, fatalities FROM incidents "
                                      "WHERE source = :s"), {"s": source}).tuples().all())


def _quarantined(engine: Engine, run_id: int | None) -> list[tuple[list[str], str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reasons, raw FROM quarantine WHERE etl_run_id = :r"),
                            {"r": run_id}).all()
    return [(list(r[0]), str(r[1].get("feature"))) for r in rows]


# where the end falls in the last feature: its fatalities 131 as 13, inside a string, after a
# key, inside an escape, inside the coordinates
CUTS = {"in a number": '"fatalities": 13', "in a string": '"notes": "Shelling near',
        "after a key": '"fatalities"', "in an escape": "café \\",
        "in the coordinates": '"coordinates": [36.7'}


@pytest.mark.parametrize("where", list(CUTS))
def test_a_collection_cut_inside_its_last_feature(engine: Engine, sample_loaded: list,
                                                  tmp_path: Path, where: str) -> None:
    start = COLLECTION.rindex('{"type": "Feature"')
    end = COLLECTION.index(CUTS[where], start) + len(CUTS[where])
    path = tmp_path / "events.geojson"
    path.write_text(COLLECTION[:end], encoding="utf-8")
    source = f"etlt_cutjson_{where.replace(' ', '_')}"
    summary = run(find_job("incidents", "geojson", path), path, engine, source=source)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 3, 2, 1), summary
    assert summary.reasons == {"truncated_record": 1}
    assert _rows(engine, source) == {"c-0": 131, "c-1": 131}  # never 13
    [(reasons, raw)] = _quarantined(engine, summary.run_id)
    assert reasons == ["truncated_record"] and raw == COLLECTION[start:end]
    assert any("ends inside feature 3" in w for w in summary.warnings), summary.warnings


def test_a_collection_cut_between_two_features_loads_them_with_a_warning(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "events.geojson"
    path.write_text(COLLECTION[:COLLECTION.rindex('{"type": "Feature"')], encoding="utf-8")
    summary = run(find_job("incidents", "geojson", path), path, engine,
                  source="etlt_cutjson_between")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 2, 2, 0), summary
    assert any("ends before its FeatureCollection closes, after feature 2" in w
               for w in summary.warnings), summary.warnings


def test_a_sequence_cut_inside_its_last_line(engine: Engine, sample_loaded: list,
                                             tmp_path: Path) -> None:
    path = tmp_path / "events.geojsonl"
    lines = [json.dumps(f, ensure_ascii=False) for f in FEATURES]
    cut = lines[-1][:lines[-1].index('"fatalities": 13') + len('"fatalities": 13')]
    path.write_text("\n".join([*lines[:-1], cut]), encoding="utf-8")  # no line end after it
    summary = run(find_job("incidents", "auto", path), path, engine,
                  source="etlt_cutjson_seq")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 3, 2, 1), summary
    assert summary.reasons == {"truncated_record": 1}
    assert _rows(engine, "etlt_cutjson_seq") == {"c-0": 131, "c-1": 131}
    assert any("ends inside its last feature" in w for w in summary.warnings)


def test_a_whole_sequence_without_its_last_line_end_loads(engine: Engine, sample_loaded: list,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "events.geojsonl"
    path.write_text("\n".join(json.dumps(f) for f in FEATURES), encoding="utf-8")
    summary = run(find_job("incidents", "auto", path), path, engine,
                  source="etlt_cutjson_whole")
    assert (summary.read, summary.loaded, summary.warnings) == (3, 3, []), summary


@pytest.mark.parametrize("broken", ["a bad value", "a missing comma", "closed after the cut"])
def test_a_collection_broken_elsewhere_still_fails(engine: Engine, sample_loaded: list,
                                                   tmp_path: Path, broken: str) -> None:
    if broken == "a bad value":
        content = COLLECTION.replace('"fatalities": 131', '"fatalities": 1x1', 1)
    elif broken == "a missing comma":
        content = COLLECTION.replace('}, {"type": "Feature"', '} {"type": "Feature"', 1)
    else:  # a cut file someone closed by hand: the feature it cut is not at the end
        content = COLLECTION[:COLLECTION.index('"fatalities": 13') + 16] + "]}"
    path = tmp_path / "events.geojson"
    path.write_text(content, encoding="utf-8")
    source = f"etlt_cutjson_broken_{broken.replace(' ', '_')}"
    summary = run(find_job("incidents", "geojson", path), path, engine, source=source)
    assert summary.status == "failed" and "cannot be read" in (summary.error or ""), summary
    assert _rows(engine, source) == {}


def test_a_collection_gdal_reads_cut_short_still_fails(engine: Engine, sample_loaded: list,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geojson, "MAX_COLLECTION_BYTES", 0)  # as if it were too large
    path = tmp_path / "events.geojson"
    path.write_text(COLLECTION[:-40], encoding="utf-8")
    summary = run(find_job("incidents", "geojson", path), path, engine,
                  source="etlt_cutjson_gdal")
    assert summary.status == "failed" and "cannot be read" in (summary.error or ""), summary
    assert _rows(engine, "etlt_cutjson_gdal") == {}


@pytest.mark.parametrize(("rest", "cut"), [
    ('{"a": 1', True), ('{"a": "b', True), ('{"a"', True), ('{"a": [1, -', True),
    ('{"a": tr', True), ('{"a": "\\u00', True), ('{"a": {"b": [[1, 2], [3', True),
    ('{"a": 1}}', False), ('{"a": 1]', False), ('{"a" 1', False), ('{"a": 1x', False),
    ("", False), ('{"a": 1} {"b"', False),
])
def test_what_is_a_cut(rest: str, cut: bool) -> None:
    assert cut_short(rest) is cut
