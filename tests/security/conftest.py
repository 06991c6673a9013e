"""Real keys for every role, created through the service the CLI uses, against the session app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.services import keys as key_service
from tests.security.webhooks import Receiver

Headers = Callable[[str], dict[str, str]]


@pytest.fixture(scope="session")
def api_keys(engine: Engine, sample_loaded: list[object]) -> dict[str, str]:
    """name -> plain key: one per role, two partner organisations, an expired and a revoked key."""
    made: dict[str, str] = {}
    with Session(engine) as session:
        for name, role, org, expires in [
            ("admin", "admin", None, None), ("analyst", "analyst", None, None),
            ("planner", "planner", None, None), ("reporter", "reporter", None, None),
            ("reporter2", "reporter", None, None), ("partner_a", "partner", "ngo-a", None),
            ("partner_b", "partner", "ngo-b", None),
            ("expired", "analyst", None, datetime.now(UTC) - timedelta(minutes=1)),
            ("revoked", "analyst", None, None),
        ]:
            key_id, key = key_service.create(role, org=org, expires_at=expires, label=name,
                                             actor="tests", session=session)
            made[name] = key
            made[f"{name}_id"] = key_id
        key_service.revoke(made["revoked_id"], actor="tests", session=session)
    return made


@pytest.fixture(scope="session")
def auth(api_keys: dict[str, str]) -> Headers:
    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_keys[name]}"}

    return headers


@pytest.fixture(scope="package", autouse=True)
def _leave_the_data_as_found(engine: Engine) -> Iterator[None]:
    """Reports and the incidents they created are removed after this package, so the layer
    counts other tests rely on are those of the sample data again."""
    yield
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:cleanup', true)"))
        conn.execute(text("DELETE FROM reports"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'report'"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def area(engine: Engine) -> dict[str, Any]:
    """A known agreement area, a point inside it and one well outside it (even buffered)."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT id, ST_X(p), ST_Y(p), ST_XMax(geom) FROM (
              SELECT id, geom, ST_PointOnSurface(geom) AS p FROM agreement_areas
              ORDER BY id LIMIT 1) a""")).one()
    return {"id": row[0], "inside": (row[1], row[2]), "outside": (row[3] + 0.5, row[2])}
