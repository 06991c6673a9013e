"""`python -m bench scale` at a tiny size (bench/scale.py): it builds both sizes in one run and
prints every row with the figures of both sizes side by side, then the scale-out rows, the last
with a real hot standby answering reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import replicas

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(bool(os.environ.get("TRUCE_TEST_DATABASE_URL")),
                                reason="the bench makes a replica of the project-local cluster")

ROWS = ("items bbox 0.5 deg, limit=1000", "items datetime 1 week, limit=1000",
        "items last cursor page, limit=10000", "MVT tiles z6-z12", "deconfliction, 1 point",
        "per-area counts, every area", "per-area counts, every area, June", "ETL load")
SETUPS = ("1 API process + 1 database", "2 API processes + 1 database",
          "2 API processes + 1 read replica")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.mark.timeout(900)  # two builds, four API processes and a base backup on a busy machine
def test_scale_bench_prints_both_sizes_and_the_scale_out() -> None:
    before = _replicas()
    done = subprocess.run([sys.executable, "-m", "bench", "scale", "--rows", "20000",
                           "--base-rows", "2000", "--areas", "50", "--seconds", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    header = next(line for line in lines if line.startswith("| request |"))
    assert "2,000 incidents" in header and "20,000 incidents" in header
    for label in ROWS:
        row = next((line for line in lines if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row {label!r} in:\n{done.stdout}"
        _, base, full, growth = _cells(row)
        unit = "rows/s" if label == "ETL load" else "req/s"
        assert unit in base and unit in full, row
        assert growth.endswith("x"), row
    served: dict[str, list[str]] = {}
    for line in lines:
        cells = _cells(line)
        if cells[0] in SETUPS:
            served[cells[0]] = cells
    assert set(served) == set(SETUPS), done.stdout
    for setup, (_, per_second, p50, p95, _, share) in served.items():
        assert float(per_second) > 0 and float(p50) > 0 and float(p95) >= float(p50), setup
        assert (share != "0%") == setup.endswith("replica"), (setup, share)
    assert _replicas() == before  # the bench removed the replica it made


def _replicas() -> set[int]:
    return {cluster.port for cluster in replicas.known()}
