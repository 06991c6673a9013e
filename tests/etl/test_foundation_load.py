"""The sample data loads through the ETL jobs, completely, and a rerun changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from etl import sample
from etl.jobs import find_job
from etl.runner import run

# UCDP's own rows whose counts contradict each other (low <= best <= high fails: issue 13)
INCONSISTENT = {"ged_syria_2016_H1.csv": 9, "ged_syria_2016_H2.csv": 6}


def test_every_sample_file_loads_with_nothing_quarantined(sample_loaded: list) -> None:
    for summary in sample_loaded:
        assert summary.status == "completed", summary
        expected = INCONSISTENT.get(Path(summary.path).name, 0)
        assert summary.quarantined == expected, (summary.path, summary.reasons)
        assert summary.reasons == ({"inconsistent_fatalities": expected} if expected else {})
        assert summary.read == (summary.loaded + summary.updated + summary.unchanged
                                + summary.quarantined)


def test_rerunning_every_job_changes_nothing(engine: Engine, sample_loaded: list) -> None:
    for summary in sample.load_all(engine):
        assert summary.status == "completed"
        expected = INCONSISTENT.get(Path(summary.path).name, 0)
        assert (summary.loaded, summary.updated, summary.quarantined) == (0, 0, expected), summary
        assert summary.unchanged == summary.read - expected


def test_aid_deliveries_are_linked_to_areas_and_settlements(engine: Engine,
                                                            sample_loaded: list) -> None:
    with engine.connect() as conn:
        total, with_area, with_place = conn.execute(text(
            "SELECT count(*), count(agreement_area_id), count(settlement_id) "
            "FROM aid_deliveries")).one()
        history = conn.execute(text("SELECT count(*) FROM agreement_area_history")).scalar()
        sources = conn.execute(text("SELECT DISTINCT source FROM agreement_areas")).scalars()
    assert total > 0 and with_area == total and with_place > 0
    assert history >= 16
    assert all("illustrative" in s for s in sources)


def test_bad_rows_are_quarantined_with_reasons(engine: Engine, tmp_path: Path,
                                               sample_loaded: list) -> None:
    path = tmp_path / "aid.csv"
    path.write_text(
        "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude\n"
        "T-1,2016-03-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
        "T-2,2016-03-01,convoy,food,5,tonnes,WFP,36.1,36.1\n"
        "T-3,not a date,convoy,food,5,tonnes,WFP,34.73,36.71\n"
        "T-4,2016-03-01,teleport,food,5,tonnes,WFP,34.73,36.71\n"
        "T-5,2016-03-01,convoy,food,-5,tonnes,WFP,34.73,36.71\n"
        "T-1,2016-03-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
        "T-7,2099-03-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
        "T-8,2016-03-01,convoy,food,5,tonnes,WFP,10.0,10.5\n"
    )
    summary = run(find_job("aid_deliveries", "auto", path), path, engine, source="test_bad_rows")
    assert summary.status == "completed"
    assert summary.read == 8 and summary.loaded == 1 and summary.quarantined == 7
    # T-2 (36.1, 36.1) is no longer refused for lon == lat: it lies near Antakya, in Turkey,
    # outside Syria's polygon (issue 13: the area of interest is the loaded country)
    assert summary.reasons == {
        "unparseable_date": 1, "unknown_vocabulary_value": 1,
        "negative_count": 1, "duplicate_source_id_in_file": 1, "date_in_future": 1,
        "outside_area_of_interest": 2,
    }
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT record_number, raw->>'source_id', reasons FROM quarantine "
            "WHERE etl_run_id = :id ORDER BY record_number"), {"id": summary.run_id}).all()
    assert [r[0] for r in rows] == [3, 4, 5, 6, 7, 8, 9]
    assert rows[0][2] == ["outside_area_of_interest"]


def test_empty_file_fails_cleanly(engine: Engine, tmp_path: Path, sample_loaded: list) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    summary = run(find_job("aid_deliveries", "csv", path), path, engine, source="test_empty")
    assert summary.status == "failed" and "empty" in (summary.error or "")
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status, error FROM etl_runs WHERE id = :id"),
                              {"id": summary.run_id}).one()
    assert status[0] == "failed" and status[1]
