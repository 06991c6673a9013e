"""`truce etl load|quarantine|raster|watch` as scripts use them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from sqlalchemy import Engine, text

from tests.etl.acled_rows import ACLED_HEADER, acled_row

TRUCE = [sys.executable, "-m", "cli.main"]
AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"


def _truce(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": url, **env})


def test_load_json_quarantine_list_show_export(database_url: str, sample_loaded: list,
                                               tmp_path: Path) -> None:
    path = tmp_path / "field.csv"
    path.write_text("Ref,When,What,Y,X\nC1,2016-06-01,Shelling,34.73,36.71\n"
                    "C2,2016-06-01,Shelling,,\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: When\nevent_type: What\nlat: Y\nlon: X\n")
    done = _truce(database_url, "etl", "load", str(path), "--layer", "incidents", "--mapping",
                  str(mapping), "--source", "etlt_cli_generic", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {k: out[k] for k in ("status", "read", "loaded", "updated", "unchanged",
                                "quarantined")} == {"status": "completed", "read": 2, "loaded": 1,
                                                    "updated": 0, "unchanged": 0, "quarantined": 1}
    assert out["reasons"] == {"missing_coordinates": 1} and out["run_id"]
    listed = _truce(database_url, "etl", "quarantine", "list", "--run", str(out["run_id"]),
                    "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["reasons"] == ["missing_coordinates"]
    shown = json.loads(_truce(database_url, "etl", "quarantine", "show", str(rows[0]["id"])).stdout)
    assert shown["raw"]["Ref"] == "C2" and shown["record_number"] == 3
    for suffix in (".csv", ".json"):
        target = tmp_path / f"q{suffix}"
        done = _truce(database_url, "etl", "quarantine", "export", str(target), "--run",
                      str(out["run_id"]))
        assert done.returncode == 0 and "C2" in target.read_text()
    dry = _truce(database_url, "etl", "load", str(path), "--layer", "incidents", "--mapping",
                 str(mapping), "--source", "etlt_cli_dry", "--dry-run", "--json")
    assert json.loads(dry.stdout)["loaded"] == 1


def test_failed_load_exits_non_zero(database_url: str, sample_loaded: list, tmp_path: Path
                                    ) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    done = _truce(database_url, "etl", "load", str(path), "--layer", "aid_deliveries", "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["status"] == "failed"


def test_watch_loads_each_new_file_once(database_url: str, engine: Engine, sample_loaded: list,
                                        tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text(AID_HEADER + "\nWA-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    args = ["etl", "watch", str(inbox), "--layer", "aid_deliveries", "--source", "etlt_cli_watch",
            "--once", "--json"]
    first = _truce(database_url, *args)
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["loaded"] for line in first.stdout.splitlines()] == [1]
    (inbox / "b.csv").write_text(AID_HEADER + "\nWB-1,2016-05-02,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    second = _truce(database_url, *args)
    assert [json.loads(line)["path"] for line in second.stdout.splitlines()] == [str(inbox / "b.csv")]
    assert _truce(database_url, *args).stdout == ""


def test_raster_becomes_a_cog_in_the_catalog(database_url: str, engine: Engine,
                                             sample_loaded: list, tmp_path: Path) -> None:
    source = tmp_path / "pop.tif"
    data = np.arange(64 * 64, dtype="float32").reshape(64, 64)
    with rasterio.open(source, "w", driver="GTiff", width=64, height=64, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1,
                       transform=from_origin(36.0, 35.0, 0.01, 0.01)) as dst:
        dst.write(data, 1)
    directory = tmp_path / "rasters"
    done = _truce(database_url, "etl", "raster", str(source), "--name", "etlt-pop", "--kind",
                  "population", "--json", TRUCE_RASTER_DIRECTORY=str(directory))
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert Path(info["path"]) == (directory / "etlt-pop.tif").resolve()
    from rio_cogeo.cogeo import cog_validate

    assert cog_validate(info["path"])[0]
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT kind, crs, resolution_x, band_stats, round(ST_XMin(bounds)::numeric, 2), "
            "round(ST_YMax(bounds)::numeric, 2) FROM rasters WHERE name = 'etlt-pop'")).one()
    assert row[:3] == ("population", "EPSG:4326", 0.01)
    assert row[3][0]["min"] == 0 and row[3][0]["max"] == 4095
    assert (float(row[4]), float(row[5])) == (36.0, 35.0)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    done = _truce(database_url, "etl", "raster", str(bad), "--name", "bad", "--kind", "terrain")
    assert done.returncode == 2 and "cannot be read as a raster" in done.stderr


def test_acled_since_skips_rows_reported_before(database_url: str, engine: Engine,
                                               sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "acled.csv"
    old = acled_row("SYR-OLD", "2016-03-01", "Jablah", "35.3621", "35.9276")
    new = acled_row("SYR-NEW", "2016-03-02", "Jablah", "35.3621", "35.9276")
    path.write_text("\n".join([ACLED_HEADER, old.replace("1618317040", "1600000000"),
                               new.replace("1618317040", "1700000000")]) + "\n")
    done = subprocess.run([*TRUCE, "etl", "load", str(path), "--layer", "incidents", "--source",
                           "etlt_since", "--since", "2021-01-01", "--json"], capture_output=True,
                          text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["read"], out["loaded"], out["unchanged"], out["quarantined"]) == (2, 1, 1, 0)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT source_id FROM incidents WHERE source = 'etlt_since'")
                           ).scalars().all()
    assert ids == ["SYR-NEW"]


def test_watch_reports_a_file_it_cannot_load_and_goes_on(database_url: str, engine: Engine,
                                                         sample_loaded: list, tmp_path: Path
                                                         ) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(b"PK\x03\x04 not a format the ETL reads")
    (inbox / "b.csv").write_text(
        "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude\n"
        "WW-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")
    args = [*TRUCE, "etl", "watch", str(inbox), "--layer", "aid_deliveries", "--source",
            "etlt_watch_goes_on", "--once", "--json"]
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(Path(x["path"]).name, x["status"]) for x in lines] == [("a.xlsx", "failed"),
                                                                   ("b.csv", "completed")]
    assert "cannot tell the format" in lines[0]["error"] and lines[1]["loaded"] == 1
