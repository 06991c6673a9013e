"""The set-based (COPY + SQL) path against the row-wise reference: the same loaded rows, the same
quarantine (line, reasons, raw row, details) and the same counts, on the real UCDP files and on a
file crafted to break every rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

SAMPLES = Path(__file__).resolve().parents[2] / "etl" / "sample" / "ucdp"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
HEADER = ("id,type_of_violence,conflict_name,side_a,side_b,where_prec,where_coordinates,latitude,"
          "longitude,event_clarity,date_prec,date_start,date_end,low,best,high,source_headline")
ROWS = [
    "1,1,c,a,b,1,ok town,34.80,36.70,1,1,2016-01-01,2016-01-01,1,2,3,fine",
    ",1,c,a,b,1,no id,34.80,36.70,1,1,2016-01-01,2016-01-01,1,2,3,missing id",
    "3,1,c,a,b,1,same,36.5,36.5,1,1,2016-01-01,,0,0,0,lon equals lat",
    "4,1,c,a,b,1,range,95.0,200.0,1,1,2016-01-01,,0,0,0,out of range",
    "5,2,c,a,b,2,swapped,36.70,34.80,1,2,2016-01-02,2016-01-05,0,1,1,swapped repaired",
    "6,1,c,a,b,1,far,48.85,2.35,1,1,2016-01-01,,0,0,0,outside aoi",
    "7,1,c,a,b,1,text,abc,36.7,1,1,2016-01-01,,0,0,0,unparseable",
    '8,1,c,a,b,1,comma,"34,80","36,70",1,1,2016-01-01,,0,0,0,comma decimals',
    "9,1,c,a,b,1,future,34.8,36.7,1,1,2099-01-01,,0,0,0,future",
    "10,1,c,a,b,1,bad date,34.8,36.7,1,1,2016-02-30,,0,0,0,no such day",
    "11,1,c,a,b,1,dmy,34.8,36.7,2,1,25/12/2016,12/25/2016,0,0,0,day first then month first",
    "12,1,c,a,b,1,neg,34.8,36.7,1,1,2016-01-01,,-1,-2,3,negative counts",
    "13,1,c,a,b,1,nan,34.8,36.7,1,1,2016-01-01,,x,3.7,-0.5,bad and odd counts",
    "14,7,c,a,b,1,vocab,34.8,36.7,1,1,2016-01-01,,0,0,0,unknown violence type",
    "15,1,c,a,b,1,dup first,34.8,36.7,1,1,2016-01-01,,0,0,0,kept",
    "15,1,c,a,b,1,dup second,34.9,36.8,1,1,2016-01-01,,0,0,0,duplicate",
    "16,1,c,a,b,1,rejected first,95,200,1,1,2016-01-01,,0,0,0,rejected so not seen",
    "16,1,c,a,b,1,then ok,34.9,36.8,1,1,2016-01-01,,0,0,0,accepted",
    ",,,,,,,,,,,,,,,,",
    '  17 , 3 ,"c, with comma", a , b ,9, padded ,  34.8 , 36.7 , 2 , 4 , 2016-03-01T10:00:00 ,'
    "2016-03-01, 1 , 1 , 1 , padded",
    "18,1,c,a,b,1,nan,NaN,nan,1,1,2016-01-01,,0,0,0,nan coordinates",
    "19,1,c,a,b,1,inf,inf,36.7,1,1,01 March 2016,,0,0,0,infinite lon",
    "20,1,c,a,b,1,missing,,36.7,1,1,,,0,0,0,missing lat and date",
    "21,1,c,a,b,1,iso z,34.8,36.7,1,1,2016-03-01T10:00:00Z,2016-03-01 11:30,,,,",
]

Q_COLS = "record_number, source_id, reasons, raw, detail"
I_COLS = ("source_id, occurred_at, occurred_until, time_precision, reported_at, event_type, "
          "sub_event_type, actor1, actor2, fatalities, fatalities_low, fatalities_high, "
          "geo_precision, location_name, notes, verification_status, sensitivity, "
          "ST_AsEWKT(geom) AS geom")


def _state(engine: Engine, source: str, run_id: int | None) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {I_COLS} FROM incidents WHERE source = :s "  # noqa: S608
                                 "ORDER BY id"), {"s": source}).all()  # ids in file order too
        quarantined = conn.execute(text(f"SELECT {Q_COLS} FROM quarantine "  # noqa: S608
                                        "WHERE etl_run_id = :r ORDER BY record_number"),
                                   {"r": run_id}).all()
    return [tuple(r) for r in rows], [tuple(q) for q in quarantined]


def _both(engine: Engine, path: Path) -> None:
    job = find_job("incidents", "ucdp", path)
    ref = run(job, path, engine, source="etlt_rows", now=NOW, row_wise=True)
    fast = run(job, path, engine, source="etlt_copy", now=NOW)
    assert ref.status == fast.status == "completed", (ref.error, fast.error)
    assert (ref.method, fast.method) == ("rows", "copy")
    for name in ("read", "loaded", "updated", "unchanged", "quarantined", "repaired", "reasons"):
        assert getattr(fast, name) == getattr(ref, name), name
    assert _state(engine, "etlt_copy", fast.run_id) == _state(engine, "etlt_rows", ref.run_id)
    again = run(job, path, engine, source="etlt_copy", now=NOW)
    assert (again.method, again.loaded, again.updated) == ("copy", 0, 0)
    assert again.unchanged == fast.loaded + fast.updated + fast.unchanged


@pytest.mark.parametrize("name", ["ged_syria_2016_H1.csv", "ged_syria_2016_H2.csv"])
def test_sql_path_matches_the_python_path_on_ucdp_files(engine: Engine, name: str) -> None:
    _both(engine, SAMPLES / name)


def test_sql_path_matches_the_python_path_on_a_file_breaking_every_rule(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad_ucdp.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([HEADER, *ROWS, ""]).encode())
    _both(engine, path)
    latin = tmp_path / "latin1_ucdp.csv"
    latin.write_bytes("\n".join([HEADER.replace(",", ";"), *[
        r.replace(",", ";").replace("ok town", "Ma\u2019arrat") for r in ROWS[:2]],
        "30;1;c;Caf\u00e9;b;1;t;34.8;36.7;1;1;2016-01-01;;0;0;0;x", ""]).encode("latin-1",
                                                                               "replace"))
    _both(engine, latin)


def test_files_copy_cannot_read_like_csv_reader_take_the_row_wise_path(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("\n".join([HEADER, ROWS[0], "2,1,c,a,b,1,short row", "",
                               '22,1,c,a,b,1,"two\nlines",34.8,36.7,1,1,2016-01-01,,0,0,0,x',
                               ""]))
    summary = run(find_job("incidents", "ucdp", path), path, engine, source="etlt_odd", now=NOW)
    assert summary.method == "rows" and summary.status == "completed"
    assert summary.read == summary.loaded + summary.quarantined == 3
    assert summary.fallback is None  # a planned hand-over, not a failure


def test_an_unforeseen_error_in_the_sql_path_is_reported_and_the_rows_still_load(
        engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace

    path = tmp_path / "fine.csv"
    path.write_text("\n".join([HEADER, ROWS[0], ROWS[4]]) + "\n")
    job = find_job("incidents", "ucdp", path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug in the set-based path\nsecond line")

    with caplog.at_level("WARNING", logger="truce.etl"):
        summary = run(replace(job, sql_load=broken), path, engine, source="etlt_fallback", now=NOW)
    assert summary.status == "completed" and summary.method == "rows"
    assert summary.fallback == "RuntimeError: simulated bug in the set-based path"
    assert summary.as_dict()["fallback"] == summary.fallback  # in the --json summary too
    assert "set-based path failed" in caplog.text
    assert summary.read == summary.loaded == 2
