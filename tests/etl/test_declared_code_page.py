"""A shapefile's `.cpg` declaring a code page (1256, Arabic Windows) next to a .dbf written in
UTF-8 turned every Arabic name into mojibake: the declaration is now warned about and ignored
(issue 21)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from etl.sources import vector
from etl.sources.tabular import SourceWarning

NAMES = ["حمص", "دمشق"]


def _shapefile(path: Path, cpg: str | None, encoding: str = "UTF-8") -> Path:
    squares = [shapely.box(36.6 + i / 10, 34.6, 36.65 + i / 10, 34.65) for i in range(2)]
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(s) for s in squares], dtype=object),
                      [np.array(["C1", "C2"], dtype=object), np.array(NAMES, dtype=object)],
                      ["source_id", "name"], driver="ESRI Shapefile", geometry_type="Polygon",
                      crs="EPSG:4326", encoding=encoding)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    return path


def _zipped(tmp_path: Path, shp: Path) -> Path:
    target = tmp_path / "areas.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for part in shp.parent.glob(f"{shp.stem}.*"):
            archive.write(part, f"inside/{part.name}")
    return target


@pytest.mark.parametrize("zipped", [False, True])
def test_a_wrong_code_page_is_warned_and_ignored(engine: Engine, sample_loaded: list,
                                                 tmp_path: Path, zipped: bool) -> None:
    (tmp_path / "shp").mkdir()
    path = _shapefile(tmp_path / "shp" / "areas.shp", "1256")
    if zipped:
        path = _zipped(tmp_path, path)
    summary = run(find_job("agreement_areas", "auto", path), path, engine,
                  source=f"etlt_cpg_{int(zipped)}")
    assert (summary.status, summary.loaded) == ("completed", 2), summary
    assert len(summary.warnings) == 1 and "1256" in summary.warnings[0], summary.warnings
    assert "UTF-8" in summary.warnings[0]
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM agreement_areas WHERE source = :s "
                                  "ORDER BY source_id"), {"s": summary.source}).scalars().all()
    assert names == NAMES


def test_a_right_code_page_is_honoured_without_a_warning(tmp_path: Path) -> None:
    """A .dbf really in 1256 (not valid UTF-8) is read in 1256, as declared; a UTF-8 one
    declared UTF-8 gives no warning."""
    legacy = _shapefile(tmp_path / "legacy.shp", None, encoding="CP1256")
    legacy.with_suffix(".cpg").write_text("1256")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SourceWarning)
        names = [r.fields["name"] for r in vector.read_vector(legacy)]
        plain = [r.fields["name"]
                 for r in vector.read_vector(_shapefile(tmp_path / "u.shp", "UTF-8"))]
    assert names == NAMES and plain == NAMES
    assert [w for w in caught if issubclass(w.category, SourceWarning)] == []


def test_the_warning_is_in_the_cli_json(engine: Engine, sample_loaded: list, database_url: str,
                                        tmp_path: Path) -> None:
    path = _shapefile(tmp_path / "cli.shp", "1256")
    done = subprocess.run([sys.executable, "-m", "cli.main", "etl", "load", str(path), "--layer",
                           "agreement_areas", "--source", "etlt_cpg_cli", "--json"],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "completed" and "1256" in out["warnings"][0], out
