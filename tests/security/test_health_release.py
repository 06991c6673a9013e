"""/health counts only the rows the caller may see: anonymous callers the released incidents,
keyed callers per their release rules (analysts every row, a partner also its own reports)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.security.conftest import Headers


def _incidents(client: TestClient, headers: dict[str, str] | None = None) -> int:
    response = client.get("/health", headers=headers or {})
    assert response.status_code == 200, response.text
    return int(response.json()["layers"]["incidents"])


def _released(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM incidents WHERE verification_status = 'confirmed' "
            "AND sensitivity = 'public'")).scalar_one())


@pytest.fixture
def restricted(engine: Engine) -> Iterator[None]:
    """Two incidents the public may not see: confirmed but restricted, and public but only
    reported (not yet confirmed)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:health', true)"))
        for sid, status, sensitivity in (("health-1", "confirmed", "restricted"),
                                          ("health-2", "reported", "public")):
            conn.execute(text("""
                INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                       verification_status, sensitivity, geom)
                VALUES ('health-test', :sid, '2016-03-02T06:31:17Z', 'state_based_violence',
                        :status, :sens, ST_SetSRID(ST_MakePoint(36.7, 34.7), 4326))"""),
                         {"sid": sid, "status": status, "sens": sensitivity})
    yield
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:health', true)"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'health-test'"))


def test_anonymous_health_counts_only_released_incidents(
        client: TestClient, auth: Headers, engine: Engine, sample_loaded: list[object]) -> None:
    public = _incidents(client)
    assert public == _released(engine) < _incidents(client, auth("analyst"))
    answer = client.get("/health")
    assert answer.json()["layers"]["settlements"] == 308  # unrestricted layers: every row
    assert "X-API-Key" in answer.headers["vary"]  # the answer depends on the key


def test_restricted_rows_do_not_move_the_anonymous_count(
        client: TestClient, auth: Headers, engine: Engine, sample_loaded: list[object],
        request: pytest.FixtureRequest) -> None:
    callers = {"public": None, "reporter": auth("reporter"), "partner": auth("partner_a"),
               "analyst": auth("analyst")}
    before = {who: _incidents(client, headers) for who, headers in callers.items()}
    request.getfixturevalue("restricted")
    after = {who: _incidents(client, headers) for who, headers in callers.items()}
    assert after == {**before, "analyst": before["analyst"] + 2}
