"""Values are stored as written or the row is quarantined with a reason naming what is wrong:
no fraction rounded, no NaN or 309-digit number stored, no end before its start, no line
reduced to one of its points, and one bad value never fails the whole file. Both load paths
(set-based and row by row) give the same answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"
UCDP_HEADER = ("id,type_of_violence,conflict_name,side_a,side_b,where_prec,where_coordinates,"
               "latitude,longitude,event_clarity,date_prec,date_start,date_end,low,best,high,"
               "source_headline")


def _quarantined(engine: Engine, run_id: int | None) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, reasons FROM quarantine WHERE etl_run_id = :r"),
                            {"r": run_id}).all()
    return {str(r[0]): list(r[1]) for r in rows}


def test_aid_quantities_that_are_not_finite_or_too_large(engine: Engine, sample_loaded: list,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "aid.csv"
    rows = [("Q-ok", "5.5"), ("Q-nan", "NaN"), ("Q-inf", "Infinity"), ("Q-big", "1" + "0" * 308),
            ("Q-true", "true")]
    path.write_text(AID_HEADER + "\n" + "".join(
        f"{sid},2016-05-01,convoy,food,{q},tonnes,WFP,34.73,36.71\n" for sid, q in rows))
    summary = run(find_job("aid_deliveries", "csv", path), path, engine, source="etlt_values_aid")
    assert (summary.status, summary.read, summary.loaded) == ("completed", 5, 1), summary
    assert _quarantined(engine, summary.run_id) == {
        "Q-nan": ["unparseable_number"], "Q-inf": ["unparseable_number"],
        "Q-big": ["out_of_range"], "Q-true": ["unparseable_number"]}


@pytest.mark.parametrize("row_wise", [False, True])
def test_counts_are_whole_finite_and_in_range(engine: Engine, sample_loaded: list,
                                              tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "counts.csv"
    rows = [("C-ok", "3"), ("C-whole", "4.0"), ("C-frac", "2.7"), ("C-bool", "true"),
            ("C-inf", "inf"), ("C-huge", "1e308"), ("C-over", "3000000000")]
    path.write_text("source_id,occurred_at,event_type,fatalities,lat,lon\n" + "".join(
        f"{sid},2016-06-01,shelling,{n},34.73,36.71\n" for sid, n in rows))
    summary = run(find_job("incidents", "csv", path), path, engine,
                  source=f"etlt_values_counts_{int(row_wise)}", row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.status, summary.read, summary.loaded) == ("completed", 7, 2), summary
    assert _quarantined(engine, summary.run_id) == {
        "C-frac": ["unparseable_number"], "C-bool": ["unparseable_number"],
        "C-inf": ["unparseable_number"], "C-huge": ["out_of_range"],
        "C-over": ["out_of_range"]}
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT source_id, fatalities FROM incidents "
                                        "WHERE source = :s"), {"s": summary.source}).all())
    assert stored == {"C-ok": 3, "C-whole": 4}


@pytest.mark.parametrize("row_wise", [False, True])
def test_an_end_before_its_start_is_quarantined(engine: Engine, sample_loaded: list,
                                                tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "ucdp.csv"
    path.write_text(UCDP_HEADER + "\n"
                    "1,1,c,a,b,1,town,34.80,36.70,1,1,2016-01-05,2016-01-07,1,2,3,fine\n"
                    "2,1,c,a,b,1,town,34.80,36.70,1,1,2016-01-05,2016-01-02,1,2,3,reversed\n")
    summary = run(find_job("incidents", "ucdp", path), path, engine,
                  source=f"etlt_values_dates_{int(row_wise)}", row_wise=row_wise)
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert _quarantined(engine, summary.run_id) == {"2": ["inconsistent_dates"]}


def _feature(sid: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"source_id": sid, **props}, "geometry": geometry}


def test_an_incident_or_delivery_that_is_not_a_point(engine: Engine, sample_loaded: list,
                                                     tmp_path: Path) -> None:
    """A line is not reduced to one of its points, and not replaced by its place name's point."""
    line = {"type": "LineString", "coordinates": [[36.70, 34.73], [37.16, 36.20]]}
    point = {"type": "Point", "coordinates": [36.71, 34.73]}
    common = {"occurred_at": "2016-06-01", "event_type": "shelling", "location_name": "Homs"}
    path = tmp_path / "incidents.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature("P1", point, **common), _feature("L1", line, **common)]}))
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_values_line")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert _quarantined(engine, summary.run_id) == {"L1": ["not_a_point"]}
    aid = {"delivered_at": "2016-06-01", "method": "convoy", "cargo_type": "food",
           "location_name": "Homs"}
    path = tmp_path / "aid.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature("A1", point, **aid), _feature("A2", line, **aid)]}))
    summary = run(find_job("aid_deliveries", "auto", path), path, engine,
                  source="etlt_values_line")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert _quarantined(engine, summary.run_id) == {"A2": ["not_a_point"]}


def test_an_agreement_area_end_that_is_unreadable_or_reversed(engine: Engine, sample_loaded: list,
                                                             tmp_path: Path) -> None:
    """One bad effective_to quarantines its area, not the whole file."""
    square = {"type": "Polygon", "coordinates": [[[36.6, 34.6], [36.8, 34.6], [36.8, 34.8],
                                                  [36.6, 34.8], [36.6, 34.6]]]}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature("G1", square, name="ok", effective_from="2016-02-27", effective_to="2030-01-01"),
        _feature("G2", square, name="bad end", effective_from="2016-02-27",
                 effective_to="31/02/2016"),
        _feature("G3", square, name="reversed", effective_from="2016-02-27",
                 effective_to="2016-02-01")]}))
    summary = run(find_job("agreement_areas", "auto", path), path, engine,
                  source="etlt_values_areas")
    assert (summary.status, summary.read, summary.loaded) == ("completed", 3, 1), summary
    assert _quarantined(engine, summary.run_id) == {"G2": ["unparseable_date"],
                                                     "G3": ["inconsistent_dates"]}


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_10_kb_id_quarantines_its_row_not_the_file(engine: Engine, sample_loaded: list,
                                                     tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "long_id.csv"
    long_id = "X" * 10_000
    path.write_text("source_id,occurred_at,event_type,fatalities,lat,lon\n"
                    "ok-1,2016-06-01,shelling,1,34.73,36.71\n"
                    f"{long_id},2016-06-01,shelling,1,34.73,36.71\n")
    summary = run(find_job("incidents", "csv", path), path, engine,
                  source=f"etlt_values_long_id_{int(row_wise)}", row_wise=row_wise)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 2, 1, 1), summary
    assert summary.reasons == {"field_too_long": 1}
