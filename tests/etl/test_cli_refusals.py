"""Every refusal of `truce etl load` is one plain sentence: a usage problem is exit 2 with one
JSON object under --json, a failed run exit 1; never a traceback, a usage box, SQL or GDAL's
internals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRUCE = [sys.executable, "-m", "cli.main"]
INTERNALS = ("Traceback", "[SQL:", "CONTEXT:", "sqlite3_", "Error:", "It might help",
             "SHAPE_RESTORE_SHX", "/vsi", "Usage:")


def _load(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, "etl", "load", *args, "--json"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TRUCE_DATABASE_URL": url})


def _plain(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    out = json.loads(lines[0])
    assert out["status"] == "failed"
    for text in (out["error"], done.stderr):
        assert not any(mark in text for mark in INTERNALS), text
    return str(out["error"])


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "field.csv"
    path.write_text("source_id,occurred_at,event_type,lat,lon\nR1,2016-06-01,shelling,34.7,36.7\n")
    return path


def test_usage_problems_are_exit_2_with_one_json_object(database_url: str, sample_loaded: list,
                                                        tmp_path: Path, csv_file: Path) -> None:
    common = ["--layer", "incidents", "--source", "etlt_refusals"]
    said = _plain(_load(database_url, str(csv_file), *common, "--since", "yesterday"), 2)
    assert said == ("--since: 'yesterday' is not a date; give one as 2016-03-01 or "
                    "2016-03-01T12:00:00Z")
    said = _plain(_load(database_url, str(csv_file), *common, "--mapping",
                        str(tmp_path / "none.yaml")), 2)
    assert said.startswith("--mapping: no such file:")
    broken = tmp_path / "broken.yaml"
    broken.write_text("source_id: [Ref\n  lat: Y\n")
    said = _plain(_load(database_url, str(csv_file), *common, "--mapping", str(broken)), 2)
    assert said.startswith("--mapping: broken.yaml is not a YAML or JSON mapping (line ")
    folder = tmp_path / "inbox.csv"
    folder.mkdir()
    said = _plain(_load(database_url, str(folder), *common), 2)
    assert said.endswith("is a folder: give one file (`truce etl watch " + str(folder)
                         + "` loads each file of a folder)")


def test_a_broken_vector_file_says_so_without_gdal_internals(database_url: str,
                                                             sample_loaded: list,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "areas.geojson"
    # broken, not cut short (a cut file quarantines its cut feature: tests/etl/test_cut_json.py)
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"geometry": nul}]}')
    said = _plain(_load(database_url, str(path), "--layer", "agreement_areas", "--source",
                        "etlt_refusals"), 1)
    assert said.startswith("areas.geojson cannot be read as a vector file: ")
    assert said.endswith("export it again or send the original file")
    assert str(tmp_path) not in said


def test_the_log_stays_off_stderr_unless_asked(database_url: str, sample_loaded: list,
                                              tmp_path: Path) -> None:
    """The runner's warnings quote the database verbatim (SQL, CONTEXT, class names); Python
    printed them on stderr when nothing configured logging. They show only when asked."""
    path = tmp_path / "utf16.csv"
    path.write_bytes("source_id,occurred_at,event_type,lat,lon,location_name\n"
                     "U1,2016-06-01,shelling,34.7,36.7,حمص\n".encode("utf-16"))
    args = [str(path), "--layer", "incidents", "--source", "etlt_refusals_log", "--no-alerts"]
    done = _load(database_url, *args)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert json.loads(done.stdout)["status"] == "completed"
    assert not any(mark in done.stderr for mark in (*INTERNALS, "WARNING")), done.stderr
    asked = subprocess.run([*TRUCE, "etl", "load", str(tmp_path / "none.csv"), "--layer",
                            "incidents", "--json"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "TRUCE_DATABASE_URL": database_url,
                                "TRUCE_LOG_LEVEL": "nonsense"})
    assert asked.returncode == 2 and len(asked.stdout.splitlines()) == 1
    assert "TRUCE_LOG_LEVEL='NONSENSE' is not a log level" in asked.stderr
