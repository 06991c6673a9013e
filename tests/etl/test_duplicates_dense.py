"""Duplicate matching stays bounded where reports crowd: many reports of two sources at a few
places on one day cost no more candidate work than as many reports spread over the map and the
year (counted as the rows every step of the matching statement handles, EXPLAIN ANALYZE), and the
links are still the best pairs (etl/dedupe.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.etl import in_syria
from etl import dedupe
from etl.jobs import find_job
from etl.runner import RunSummary, run

HEADER = "source_id,occurred_at,event_type,lat,lon,fatalities\n"
PLACES = [(34.70, 36.70), (35.10, 37.20), (33.50, 36.30), (36.20, 37.15)]
PER_SOURCE = 2_000


def _load(engine: Engine, tmp_path: Path, source: str, rows: list[str]) -> RunSummary:
    path = tmp_path / f"{source}.csv"
    path.write_text(HEADER + "".join(rows))
    summary = run(find_job("incidents", "csv", path), path, engine, source=source)
    assert summary.status == "completed", summary.error
    assert summary.loaded == len(rows)
    return summary


def _rows_handled(node: dict[str, Any]) -> int:
    own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
    return own + sum(_rows_handled(child) for child in node.get("Plans", []))


def _matching_work(engine: Engine, summary: RunSummary, source: str) -> int:
    """Rows handled by the matching statement of `summary`'s run (run again, rolled back)."""
    assert summary.run_id is not None
    params = dedupe.link_params(run_id=summary.run_id, source=source)
    with engine.connect() as conn:
        conn.execute(text(dedupe.UNLINK), {"run_id": summary.run_id})
        conn.execute(text("SET LOCAL work_mem = '128MB'"))
        plan = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + dedupe.LINK),
                            params).scalar_one()
        conn.rollback()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return _rows_handled(plan[0]["Plan"])


def _crowded(prefix: str) -> list[str]:
    return [f"{prefix}{i},2021-05-10,shelling,{PLACES[i % 4][0]},{PLACES[i % 4][1]},1\n"
            for i in range(PER_SOURCE)]


def _spread(prefix: str, seed: int) -> list[str]:
    """Reports spread over the year and the country (inside Syria: the area of interest)."""
    rng = random.Random(seed)
    rows = []
    for i in range(PER_SOURCE):
        day = f"2022-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lat, lon = rng.uniform(32.5, 37.0), rng.uniform(36.0, 42.0)
        while not in_syria(lon, lat):
            lat, lon = rng.uniform(32.5, 37.0), rng.uniform(36.0, 42.0)
        rows.append(f"{prefix}{i},{day},shelling,{lat:.5f},{lon:.5f},1\n")
    return rows


def test_crowded_reports_cost_no_more_than_spread_ones(engine: Engine, sample_loaded: list,
                                                       tmp_path: Path) -> None:
    _load(engine, tmp_path, "etlt_crowd_a", _crowded("A"))
    crowded = _load(engine, tmp_path, "etlt_crowd_b", _crowded("B"))
    # 500 alike reports of each source at each place: the pair of their first-recorded reports
    # is each other's best, once per place
    assert crowded.duplicates == 4
    with engine.connect() as conn:
        linked = conn.execute(text("""
            SELECT dup.source_id, orig.source_id FROM incident_duplicates d
            JOIN incidents dup ON dup.id = d.incident_id JOIN incidents orig ON orig.id = d.duplicate_of
            WHERE dup.source = 'etlt_crowd_b' ORDER BY 1""")).all()
    assert [tuple(r) for r in linked] == [("B0", "A0"), ("B1", "A1"), ("B2", "A2"), ("B3", "A3")]

    _load(engine, tmp_path, "etlt_spread_a", _spread("A", 1))
    spread = _load(engine, tmp_path, "etlt_spread_b", _spread("B", 2))

    crowded_work = _matching_work(engine, crowded, "etlt_crowd_b")
    spread_work = _matching_work(engine, spread, "etlt_spread_b")
    # quadratic matching handles 4 x 500 x 500 = 1,000,000 pairs here, several times over
    assert crowded_work <= 2 * spread_work, (crowded_work, spread_work)
