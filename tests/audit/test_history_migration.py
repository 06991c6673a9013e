"""Migration 15a on a database that already has a JSON audit log: the previous versions the log
holds become typed history versions, every row gets a baseline seal, the log still verifies and
so does the history; later writes go on from there. A database of its own, built at the
revision just before 15a (today's loader needs every earlier migration)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from cli import pgcluster
from etl import sample
from server.db.migrate import alembic_config, upgrade
from server.services import audit


@pytest.fixture()
def before_15a() -> Iterator[Engine]:
    if os.environ.get("TRUCE_TEST_DATABASE_URL"):
        pytest.skip("needs the local cluster to create a database of its own")
    server_url = pgcluster.up(pgcluster.default_cluster())
    name = f"truce_test_15a_{os.getpid()}"
    url = pgcluster.create_database(server_url, name, recreate=True)
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("15a_versioned_history")
    upgrade(url, str(before.down_revision))
    eng = create_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
        pgcluster.drop_database(server_url, name)


def test_old_entries_migrate_forward_and_stay_verifiable(before_15a: Engine) -> None:
    engine = before_15a
    failed = [s for s in sample.load_all(engine) if s.status != "completed"]
    assert not failed, failed
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:before', true)"))
        conn.execute(text("UPDATE aid_deliveries SET notes = 'first' WHERE id IN (1, 2)"))
        conn.execute(text("UPDATE aid_deliveries SET notes = 'second' WHERE id = 1"))
        conn.execute(text("DELETE FROM aid_deliveries WHERE id = 3"))
    upgrade(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        versions = conn.execute(text("""
            SELECT id, notes, written_by, ended_action, ended_by FROM aid_deliveries_history
            ORDER BY id, valid_to, notes NULLS FIRST""")).all()
        seals = conn.execute(text(
            "SELECT DISTINCT actor FROM audit_seals ORDER BY actor")).scalars().all()
    assert [tuple(v)[1:] for v in versions if v[0] == 1] == [
        (None, versions[0][2], "update", "tests:before"),
        ("first", "tests:before", "update", "tests:before")]
    assert versions[0][2].startswith("etl:run/")
    assert [v[3] for v in versions if v[0] == 3] == ["delete"]
    assert seals == ["migration:baseline", "migration:history"]
    with engine.begin() as conn:  # writes after the migration are versioned and sealed
        conn.execute(text("UPDATE aid_deliveries SET notes = 'third' WHERE id = 1"))
    with Session(engine) as session:
        result = audit.verify(session=session)
    assert result["first_bad"] is None and result["history"]["problems"] == []
    assert result["ok"] is True
