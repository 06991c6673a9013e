"""ETL tests load into the session's database under sources named `etlt_*`; each test removes
its rows afterwards, so the API tests sharing the session see only the sample data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

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
