"""One limit per field whatever the load path: a value longer than TRUCE_ETL_MAX_FIELD_CHARS
quarantines its row as `field_too_long` naming the field (csv's own 131,072-character limit
failed the whole file on the row-wise path while COPY took it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run

HEADER = "source_id,occurred_at,event_type,fatalities,lat,lon,notes\n"


def _details(engine: Engine, run_id: int | None) -> dict[str, tuple[list[str], str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, reasons, detail->>'field' FROM quarantine "
                                 "WHERE etl_run_id = :r"), {"r": run_id}).all()
    return {str(r[0]): (list(r[1]), r[2]) for r in rows}


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_cell_over_the_limit_quarantines_its_row_on_both_paths(
        engine: Engine, sample_loaded: list, tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "long_cells.csv"
    path.write_text(HEADER
                    + "ok-1,2016-06-01,shelling,1,34.73,36.71,short\n"
                    + f"huge-1,2016-06-01,shelling,1,34.73,36.71,{'n' * 200_000}\n"
                    + f"long-1,2016-06-01,shelling,1,34.73,36.71,{'n' * 10_001}\n"
                    + f"edge-1,2016-06-01,shelling,1,34.73,36.71,{'n' * 10_000}\n"
                    + f"both-1,2016-06-01,shelling,x,34.73,36.71,{'n' * 10_001}\n")
    summary = run(find_job("incidents", "csv", path), path, engine,
                  source=f"etlt_limits_{int(row_wise)}", row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 5, 2, 3), summary
    assert _details(engine, summary.run_id) == {
        "huge-1": (["field_too_long"], "notes"), "long-1": (["field_too_long"], "notes"),
        "both-1": (["unparseable_number", "field_too_long"], "notes")}


@pytest.mark.parametrize("row_wise", [False, True])
def test_the_limit_is_a_setting(engine: Engine, sample_loaded: list, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, row_wise: bool) -> None:
    monkeypatch.setenv("TRUCE_ETL_MAX_FIELD_CHARS", "300")
    path = tmp_path / "setting.csv"
    path.write_text(HEADER + "ok-1,2016-06-01,shelling,1,34.73,36.71,short\n"
                    + f"long-1,2016-06-01,{'s' * 301},1,34.73,36.71,short\n")
    summary = run(find_job("incidents", "csv", path), path, engine,
                  source=f"etlt_limits_setting_{int(row_wise)}", row_wise=row_wise)
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert _details(engine, summary.run_id) == {"long-1": (["field_too_long"], "event_type")}


def test_a_long_property_of_a_feature(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    import json

    point = {"type": "Point", "coordinates": [36.71, 34.73]}
    features = [{"type": "Feature", "geometry": point,
                 "properties": {"source_id": sid, "occurred_at": "2016-06-01",
                                "event_type": "shelling", "notes": notes}}
                for sid, notes in (("F1", "short"), ("F2", "n" * 10_001))]
    path = tmp_path / "long.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_limits_vector")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert _details(engine, summary.run_id) == {"F2": (["field_too_long"], "notes")}
