"""Issue 13, item 5: the day/month order is decided once per file and column (from the dates
that read one way only, or --date-order), on both load paths; evidence both ways quarantines
the ambiguous rows; Arabic-Indic and Persian digits; dates of a year or a month; a date built
from year/month/day columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from etl.jobs import find_job
from etl.runner import run

NOW = datetime(2024, 6, 1, tzinfo=UTC)
HEADER = "source_id,occurred_at,event_type,lat,lon\n"


def _row(i: str, day: str) -> str:
    return f"{i},{day},shelling,34.73,36.71\n"


def _dates(engine: Engine, source: str) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT source_id, occurred_at, occurred_until, time_precision FROM incidents "
            "WHERE source = :s"), {"s": source}).all()
    return {r[0]: (r[1].date().isoformat(), r[2], r[3]) for r in rows}


def _reasons(engine: Engine, run_id: int | None) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, reasons FROM quarantine "
                                 "WHERE etl_run_id = :r"), {"r": run_id}).all()
    return {str(r[0]): list(r[1]) for r in rows}


def _load(engine: Engine, path: Path, source: str, row_wise: bool, **kw: Any) -> Any:
    summary = run(find_job("incidents", "csv", path), path, engine, now=NOW, source=source,
                  row_wise=row_wise, **kw)
    assert summary.status == "completed", summary
    return summary


@pytest.mark.parametrize("row_wise", [False, True])
def test_month_first_file_is_read_month_first_throughout(engine: Engine, sample_loaded: list,
                                                          tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "mdy.csv"
    path.write_text(HEADER + _row("a", "03/04/2017") + _row("b", "03/25/2017")
                    + _row("c", "12/01/2016"))
    source = f"etlt_dates_mdy_{int(row_wise)}"
    summary = _load(engine, path, source, row_wise)
    assert summary.method == ("rows" if row_wise else "copy") and summary.loaded == 3
    got = _dates(engine, source)
    assert {k: v[0] for k, v in got.items()} == {"a": "2017-03-04", "b": "2017-03-25",
                                                 "c": "2016-12-01"}
    assert summary.warnings == []


@pytest.mark.parametrize("row_wise", [False, True])
def test_evidence_both_ways_quarantines_the_ambiguous_rows(
        engine: Engine, sample_loaded: list, tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "both.csv"
    path.write_text(HEADER + _row("dmy", "25/03/2017") + _row("mdy", "03/25/2017")
                    + _row("amb", "03/04/2017") + _row("same", "04/04/2017")
                    + _row("iso", "2017-05-06"))
    summary = _load(engine, path, f"etlt_dates_both_{int(row_wise)}", row_wise)
    assert (summary.loaded, summary.quarantined) == (4, 1)
    assert summary.reasons == {"ambiguous_date": 1}
    assert _reasons(engine, summary.run_id) == {"amb": ["ambiguous_date"]}
    assert any("--date-order" in w for w in summary.warnings), summary.warnings


@pytest.mark.parametrize("row_wise", [False, True])
def test_date_order_forces_the_reading(engine: Engine, sample_loaded: list, tmp_path: Path,
                                       row_wise: bool) -> None:
    path = tmp_path / "forced.csv"
    path.write_text(HEADER + _row("a", "03/04/2017") + _row("b", "25/03/2017"))
    source = f"etlt_dates_forced_{int(row_wise)}"
    summary = _load(engine, path, source, row_wise, options={"date_order": "mdy"})
    assert (summary.loaded, summary.quarantined) == (1, 1)
    assert _dates(engine, source)["a"][0] == "2017-03-04"
    assert _reasons(engine, summary.run_id) == {"b": ["unparseable_date"]}


@pytest.mark.parametrize("row_wise", [False, True])
def test_arabic_indic_and_persian_digits(engine: Engine, sample_loaded: list, tmp_path: Path,
                                         row_wise: bool) -> None:
    path = tmp_path / "digits.csv"
    path.write_text(HEADER + _row("arabic", "٢٠١٧-٠٣-٠٥") + _row("persian", "۱۵/۰۳/۲۰۱۷"),
                    encoding="utf-8")
    source = f"etlt_dates_digits_{int(row_wise)}"
    summary = _load(engine, path, source, row_wise)
    assert summary.loaded == 2, summary
    assert {k: v[0] for k, v in _dates(engine, source).items()} == {
        "arabic": "2017-03-05", "persian": "2017-03-15"}


def test_a_year_or_a_month_is_a_period(engine: Engine, sample_loaded: list,
                                       tmp_path: Path) -> None:
    path = tmp_path / "periods.csv"
    path.write_text(HEADER + _row("year", "2016") + _row("month", "2016-02")
                    + _row("named", "March 2016") + _row("day", "2016-02-03"))
    source = "etlt_dates_periods"
    summary = _load(engine, path, source, False)
    assert summary.loaded == 4 and summary.method == "rows"  # the SQL path leaves periods
    got = _dates(engine, source)
    assert got["year"][0] == "2016-01-01" and got["year"][2] == "year"
    assert got["year"][1] == datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert got["month"][0] == "2016-02-01" and got["month"][2] == "month"
    assert got["month"][1] == datetime(2016, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert got["named"][2] == "month" and got["named"][0] == "2016-03-01"
    assert got["day"] == ("2016-02-03", None, "day")


def test_a_date_built_from_year_month_day_columns(engine: Engine, sample_loaded: list,
                                                  tmp_path: Path, database_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    path = tmp_path / "parts.csv"
    path.write_text("Ref,Year,Month,Day,Kind,Y,X\n"
                    "p-1,2016,3,5,shelling,34.73,36.71\n"
                    "p-2,2016,3,,shelling,34.73,36.71\n"
                    "p-3,2016,,,shelling,34.73,36.71\n"
                    "p-4,,,,shelling,34.73,36.71\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: {year: Year, month: Month, day: Day}\n"
                       "event_type: Kind\nlat: Y\nlon: X\n")
    done = CliRunner().invoke(app, ["etl", "load", str(path), "--layer", "incidents",
                                    "--mapping", str(mapping), "--source", "etlt_dates_parts",
                                    "--json", "--no-alerts"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert (body["loaded"], body["quarantined"], body["reasons"]) == (
        3, 1, {"missing_date": 1}), body
    got = _dates(engine, "etlt_dates_parts")
    assert got["p-1"] == ("2016-03-05", None, "day")
    assert got["p-2"][0] == "2016-03-01" and got["p-2"][2] == "month"
    assert got["p-3"][0] == "2016-01-01" and got["p-3"][2] == "year"


def test_date_order_option_is_checked(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    path = tmp_path / "x.csv"
    path.write_text(HEADER + _row("a", "03/04/2017"))
    done = CliRunner().invoke(app, ["etl", "load", str(path), "--layer", "incidents",
                                    "--date-order", "ydm", "--json", "--no-alerts"])
    assert done.exit_code == 2 and "--date-order" in json.loads(done.stdout)["error"]


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_file_that_never_shows_its_order_is_read_day_first_with_a_warning(
        engine: Engine, sample_loaded: list, tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "unsettled.csv"
    path.write_text(HEADER + _row("a", "03/04/2017") + _row("b", "05/06/2017"))
    source = f"etlt_dates_unsettled_{int(row_wise)}"
    summary = _load(engine, path, source, row_wise)
    assert summary.loaded == 2 and summary.method == ("rows" if row_wise else "copy")
    assert _dates(engine, source)["a"][0] == "2017-04-03"
    assert [w for w in summary.warnings if "--date-order mdy" in w], summary.warnings


@pytest.mark.parametrize("row_wise", [False, True])
def test_a_year_or_a_month_is_a_period_in_hxl_too(engine: Engine, sample_loaded: list,
                                                  tmp_path: Path, row_wise: bool) -> None:
    """An HXL incident export's #date of a year or a month is its first and last instant, not
    a failed date (the set-based path leaves such a file to the row-wise one)."""
    path = tmp_path / "periods_hxl.csv"
    path.write_text("Event ID,Date,Type,Lat,Lon\n#event+id,#date+occurred,#event+type,"
                    "#geo+lat,#geo+lon\n"
                    "year,2016,Shelling,34.73,36.71\nmonth,2016-02,Shelling,34.73,36.71\n"
                    "day,2016-02-03,Shelling,34.73,36.71\nfuture,2099,Shelling,34.73,36.71\n")
    source = f"etlt_dates_hxl_{int(row_wise)}"
    summary = run(find_job("incidents", "hxl", path), path, engine, now=NOW, source=source,
                  row_wise=row_wise)
    assert (summary.status, summary.loaded, summary.method) == ("completed", 3, "rows"), summary
    assert summary.reasons == {"date_in_future": 1}
    got = _dates(engine, source)
    assert got["year"] == ("2016-01-01", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                           "year")
    assert got["month"] == ("2016-02-01", datetime(2016, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
                            "month")
    assert got["day"] == ("2016-02-03", None, "day")


@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
def test_a_date_built_from_parts_of_a_vector_file(engine: Engine, sample_loaded: list,
                                                  tmp_path: Path, database_url: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  kind: str) -> None:
    """Year/Month/Day as numbers (a GeoPackage's REAL columns give 3.0): the parts are whole
    numbers, not text that no date rule reads; a part the file lacks is refused before a run."""
    import numpy as np
    import pyogrio
    import shapely

    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    rows = [("v-1", 2016.0, 3.0, 5.0), ("v-2", 2016.0, 3.0, None), ("v-3", 2016.0, None, None)]
    path = tmp_path / f"parts.{kind}"
    if kind == "geojson":
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
             "properties": {"Ref": ref, "Year": y, "Month": m, "Day": d, "Kind": "shelling"}}
            for ref, y, m, d in rows]}))
    else:
        point = shapely.to_wkb(shapely.Point(36.71, 34.73))
        pyogrio.raw.write(str(path), np.array([point] * 3, dtype=object), [
            np.array([r[0] for r in rows], dtype=object),
            *[np.array([np.nan if r[i] is None else r[i] for r in rows]) for i in (1, 2, 3)],
            np.array(["shelling"] * 3, dtype=object)], ["Ref", "Year", "Month", "Day", "Kind"],
            driver="GPKG", geometry_type="Point", crs="EPSG:4326")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: {year: Year, month: Month, day: Dya}\n"
                       "event_type: Kind\n")
    source = f"etlt_dates_vparts_{kind}"
    args = ["etl", "load", str(path), "--layer", "incidents", "--mapping", str(mapping),
            "--source", source, "--json", "--no-alerts"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "occurred_at: column 'Dya' is not in the fields" in refused.stdout
    mapping.write_text(mapping.read_text().replace("Dya", "Day"))
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert (body["loaded"], body["quarantined"]) == (3, 0), body
    got = _dates(engine, source)
    assert got["v-1"] == ("2016-03-05", None, "day")
    assert got["v-2"][0] == "2016-03-01" and got["v-2"][2] == "month"
    assert got["v-3"][0] == "2016-01-01" and got["v-3"][2] == "year"
