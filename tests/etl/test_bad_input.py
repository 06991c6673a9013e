"""Broken files made by the tests: none crashes a run; each ends completed or failed with a clear
error, nothing half-loaded, and a corrected file resolves earlier quarantined rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from etl import runner
from etl.jobs import find_job
from etl.loaders import postgis
from etl.runner import run

AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"


def _aid(path: Path, engine: Engine, source: str, fmt: str = "csv") -> runner.RunSummary:
    return run(find_job("aid_deliveries", fmt, path), path, engine, source=source)


def _count(engine: Engine, table: str, source: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE source = :s"),
                                {"s": source}).scalar_one())


def test_header_only_file_completes_with_nothing(engine: Engine, sample_loaded: list,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(AID_HEADER + "\n")
    summary = _aid(path, engine, "etlt_bad_header_only")
    # a run that read no rows completes as `empty`, with a warning saying so
    assert (summary.status, summary.read, summary.loaded) == ("empty", 0, 0)
    assert summary.warnings and "no rows" in summary.warnings[0]


def test_wrong_delimiter_fails_with_a_clear_error(engine: Engine, sample_loaded: list,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "colon.csv"
    path.write_text(AID_HEADER.replace(",", ":") + "\nT-1:2016-03-01:convoy:food:5:tonnes:WFP:34.7:36.7\n")
    summary = _aid(path, engine, "etlt_bad_delimiter")
    assert summary.status == "failed" and "delimiter" in (summary.error or "")


def test_semicolon_and_latin1_files_load(engine: Engine, sample_loaded: list, tmp_path: Path
                                         ) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((AID_HEADER.replace(",", ";") + ";notes\n"
                      "L-1;01/03/2016;convoy;food;5,5;tonnes;Croissant-Rouge;34,73;36,71;"
                      "livré à Homs\n").encode("latin-1"))
    summary = _aid(path, engine, "etlt_bad_latin1")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    with engine.connect() as conn:
        notes, qty = conn.execute(text("SELECT notes, quantity FROM aid_deliveries "
                                       "WHERE source = 'etlt_bad_latin1'")).one()
    assert notes == "livré à Homs" and float(qty) == 5.5


@pytest.mark.parametrize("encoding, bom", [("cp1256", b""), ("utf-16-le", b"\xff\xfe"),
                                           ("utf-16-be", b"\xfe\xff")])
def test_arabic_names_are_stored_as_written_in_every_encoding(
        engine: Engine, sample_loaded: list, tmp_path: Path, encoding: str, bom: bytes) -> None:
    """Excel on an Arabic system writes CSV in Windows Arabic (cp1256): read as Latin-1, every
    name was stored garbled ("ÍãÕ"); a UTF-16 file (with its BOM) failed the run."""
    path = tmp_path / "arabic.csv"
    path.write_bytes(bom + (AID_HEADER + ",notes\nA-1,2016-05-01,convoy,food,5,tonnes,"
                            "الهلال الأحمر,34.73,36.71,حمص\n").encode(encoding))
    source = f"etlt_bad_{encoding.replace('-', '_')}"
    summary = _aid(path, engine, source)
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT organisation, notes FROM aid_deliveries "
                                   "WHERE source = :s"), {"s": source}).one()
    assert tuple(stored) == ("الهلال الأحمر", "حمص")


def test_lon_equals_lat_is_quarantined(engine: Engine, sample_loaded: list, tmp_path: Path
                                       ) -> None:
    # Khan Touman in the aid-worker data: 36.0, 36.0 instead of 36.98, 36.23 or so. lon == lat
    # is no longer a reason by itself (issue 13: Raju is at 36.667, 36.667); this point is
    # refused because it lies in Turkey, outside the loaded country
    path = tmp_path / "khan_touman.csv"
    path.write_text(AID_HEADER + "\nK-1,2016-05-01,convoy,food,5,tonnes,WFP,36.0,36.0\n")
    summary = _aid(path, engine, "etlt_bad_lon_lat")
    assert summary.reasons == {"outside_area_of_interest": 1} and summary.loaded == 0


def test_same_file_twice_changes_nothing(engine: Engine, sample_loaded: list, tmp_path: Path
                                         ) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(AID_HEADER + "\nW-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
                    "W-2,2016-05-02,airdrop,medical,1,kits,ICRC,34.74,36.72\n")
    first = _aid(path, engine, "etlt_bad_twice")
    second = _aid(path, engine, "etlt_bad_twice")
    assert (first.loaded, second.loaded, second.updated, second.unchanged) == (2, 0, 0, 2)


def test_truncated_geojson_quarantines_the_cut_feature(engine: Engine, sample_loaded: list,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "truncated.geojson"
    full = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.7, 34.7]},
         "properties": {"source_id": f"G{i}", "date": "2016-03-01", "method": "convoy",
                        "cargo_type": "food"}} for i in range(3)]})
    path.write_text(full[: len(full) // 2])  # inside the second feature
    summary = _aid(path, engine, "etlt_bad_truncated", fmt="geojson")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 2, 1, 1), summary
    assert summary.reasons == {"truncated_record": 1}
    assert any("ends inside feature 2" in w for w in summary.warnings), summary.warnings
    assert _count(engine, "aid_deliveries", "etlt_bad_truncated") == 1


def _shapefile(tmp_path: Path, name: str, crs: str | None) -> Path:
    path = tmp_path / f"{name}.shp"
    geom = shapely.box(36.70, 34.70, 36.75, 34.75)
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(geom)], dtype=object),
                      [np.array(["S1"], dtype=object), np.array(["Area"], dtype=object),
                       np.array(["signed"], dtype=object)], ["source_id", "name", "status"],
                      driver="ESRI Shapefile", geometry_type="Polygon", crs=crs)
    return path


def test_shapefile_without_dbf_or_prj(engine: Engine, sample_loaded: list, tmp_path: Path
                                      ) -> None:
    no_dbf = _shapefile(tmp_path, "nodbf", "EPSG:4326")
    no_dbf.with_suffix(".dbf").unlink()
    summary = run(find_job("agreement_areas", "auto", no_dbf), no_dbf, engine, source="etlt_bad_nodbf")
    assert summary.status == "failed" and ".dbf" in (summary.error or "")
    no_prj = _shapefile(tmp_path, "noprj", None)
    assert not no_prj.with_suffix(".prj").exists()
    summary = run(find_job("agreement_areas", "auto", no_prj), no_prj, engine, source="etlt_bad_noprj")
    assert (summary.status, summary.loaded) == ("completed", 1)  # lon/lat assumed: it fits
    metres = tmp_path / "metres.shp"
    # a projected file that lost its .prj cannot be placed: refused, with what to do
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    geom = shapely.transform(shapely.box(36.7, 34.7, 36.75, 34.75),
                             lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    pyogrio.raw.write(str(metres), np.array([shapely.to_wkb(geom)], dtype=object),
                      [np.array(["S1"], dtype=object)], ["source_id"], driver="ESRI Shapefile",
                      geometry_type="Polygon")
    summary = run(find_job("agreement_areas", "auto", metres), metres, engine,
                  source="etlt_bad_metres")
    assert summary.status == "failed" and ".prj" in (summary.error or "")


def test_db_error_half_way_leaves_nothing(engine: Engine, sample_loaded: list, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "halfway.csv"
    path.write_text(AID_HEADER + "\n" + "".join(
        f"H-{i},2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n" for i in range(10))
        + "H-bad,2016-05-01,teleport,food,5,tonnes,WFP,34.73,36.71\n")
    calls = {"n": 0}
    real_stage = postgis.stage

    def failing_stage(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full (simulated)")
        real_stage(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "BATCH", 4)
    monkeypatch.setattr(postgis, "stage", failing_stage)
    summary = _aid(path, engine, "etlt_bad_halfway")
    assert summary.status == "failed" and "disk full" in (summary.error or "")
    assert _count(engine, "aid_deliveries", "etlt_bad_halfway") == 0
    assert _count(engine, "quarantine", "etlt_bad_halfway") == 0
    with engine.connect() as conn:
        status, error = conn.execute(text("SELECT status, error FROM etl_runs WHERE id = :i"),
                                     {"i": summary.run_id}).one()
    assert status == "failed" and "disk full" in error


def test_corrected_file_resolves_quarantine(engine: Engine, sample_loaded: list, tmp_path: Path
                                            ) -> None:
    path = tmp_path / "fixme.csv"
    path.write_text(AID_HEADER + "\nR-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
                    "R-2,2016-05-01,teleport,food,5,tonnes,WFP,34.73,36.71\n")
    first = _aid(path, engine, "etlt_bad_resolve")
    assert first.quarantined == 1
    path.write_text(AID_HEADER + "\nR-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
                    "R-2,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    second = _aid(path, engine, "etlt_bad_resolve")
    assert (second.loaded, second.unchanged, second.quarantined) == (1, 1, 0)
    with engine.connect() as conn:
        resolved = conn.execute(text("SELECT resolved_by_run_id FROM quarantine "
                                     "WHERE etl_run_id = :r"), {"r": first.run_id}).scalar_one()
    assert resolved == second.run_id


def test_ucdp_file_without_header(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    from etl.sample import HERE

    lines = (HERE / "ucdp" / "ged_syria_2016_H1.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "candidates.csv"
    path.write_text("\n".join(lines[1:21]) + "\n", encoding="utf-8")
    summary = run(find_job("incidents", "ucdp", path), path, engine, source="etlt_bad_headerless")
    assert (summary.status, summary.read, summary.loaded) == ("completed", 20, 20), summary
