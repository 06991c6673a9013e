"""Agreement area history dated by the data (migration 11e): the first entry takes effect on the
agreement's effective_from (else signed_at); a change that comes with a new effective_to or
effective_from takes effect then; otherwise the data does not say (NULL) and only the load time
(`changed_at`) is known. The area report returns both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.server import analysis_data as data


@pytest.fixture()
def cleaned(engine: Engine, sample_loaded: list[object]) -> Iterator[None]:
    with data.cleaned(engine):
        yield


def _history(engine: Engine, area_id: int) -> list[tuple[str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), status
            FROM agreement_area_history WHERE area_id = :a ORDER BY changed_at, id"""),
            {"a": area_id}).all()
    return [(r[0], r[1]) for r in rows]


def test_history_is_dated_by_the_agreements_own_dates(engine: Engine, cleaned: None) -> None:
    signed_only = data.add_area(engine, "h-signed", data.diamond(40.0, 33.0),
                                signed_at="2016-03-01T00:00:00Z")
    effective = data.add_area(engine, "h-effective", data.diamond(40.3, 33.0),
                              signed_at="2016-03-01T00:00:00Z",
                              effective_from="2016-03-05T00:00:00Z")
    undated = data.add_area(engine, "h-undated", data.diamond(40.6, 33.0))
    assert _history(engine, signed_only) == [("2016-03-01", "signed")]
    assert _history(engine, effective) == [("2016-03-05", "signed")]
    assert _history(engine, undated) == [(None, "signed")]
    with engine.begin() as conn:
        conn.execute(text("UPDATE agreement_areas SET status = 'withdrawn', "
                          "effective_to = '2016-07-31T00:00:00Z' WHERE id = :a"), {"a": effective})
        conn.execute(text("UPDATE agreement_areas SET status = 'violated' WHERE id = :a"),
                     {"a": signed_only})
    assert _history(engine, effective) == [("2016-03-05", "signed"), ("2016-07-31", "withdrawn")]
    assert _history(engine, signed_only) == [("2016-03-01", "signed"), (None, "violated")]


def test_the_area_report_gives_effective_and_recorded_dates(
        client: TestClient, engine: Engine, cleaned: None) -> None:
    area = data.add_area(engine, "h-report", data.diamond(40.0, 33.0),
                         signed_at="2016-03-01T00:00:00Z", effective_from="2016-03-05T00:00:00Z")
    response = client.get(f"/analysis/areas/{area}/report", params={"f": "json"})
    assert response.status_code == 200, response.text
    (first,) = response.json()["history"]
    assert first["effective_at"].startswith("2016-03-05")
    assert first["changed_at"][:4] != "2016"  # the load time, kept as the record's date
