"""ETL tests load into the session's database under sources named `etlt_*`; each test removes
its rows afterwards, so the API tests sharing the session see only the sample data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bench.etl import generate

DATA_TABLES = ("aid_deliveries", "incidents", "agreement_areas", "settlements", "quarantine")


@pytest.fixture(autouse=True)
def _remove_test_rows(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    engine: Engine = request.getfixturevalue("engine")
    with engine.begin() as conn:
        for table in DATA_TABLES:
            conn.execute(text(f"DELETE FROM {table} WHERE source LIKE 'etlt\\_%'"))
        conn.execute(text("DELETE FROM rasters WHERE name LIKE 'etlt-%'"))


@pytest.fixture()
def bigger_than_the_table(engine: Engine, tmp_path: Path) -> tuple[Path, int]:
    """A generated UCDP-like file of more rows than `incidents` holds (or its statistics say it
    holds), so a load of it takes the bulk path: (path, rows)."""
    with engine.connect() as conn:
        existing = conn.execute(text(
            "SELECT greatest(count(*), max(c.reltuples)::bigint) FROM incidents, pg_class c "
            "WHERE c.oid = 'incidents'::regclass")).scalar_one()
    rows = int(existing) + 1_000
    path = tmp_path / "bulk.csv"
    generate(path, rows)
    return path, rows
