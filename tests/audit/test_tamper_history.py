"""The versioned history and its seals (migration 15a): an update moves the previous version into
the typed history table, an insert writes only its seal, and `truce audit verify` names a live
row, a history version and a seal each edited behind the triggers' back (as a superuser with
triggers off). Everything here runs in one transaction that is rolled back: the sample stays as
it was for the other tests."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app as cli_app
from server.services import audit


@pytest.fixture()
def conn(engine: Engine, sample_loaded: list[object]) -> Iterator[Connection]:
    """A connection in a transaction, rolled back after the test."""
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


def _verify(conn: Connection) -> dict[str, object]:
    with Session(bind=conn) as session:
        return audit.verify(session=session)


def test_the_sample_verifies_with_its_history(database_url: str, engine: Engine,
                                              sample_loaded: list[object]) -> None:
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--json"],
                                env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    body = json.loads(result.stdout)
    assert result.exit_code == 0 and body["history"]["problems"] == []
    expected = CliRunner().invoke(
        cli_app, ["audit", "verify", "--expect-head", body["history"]["seal_head"]],
        env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert expected.exit_code == 0 and "versioned history intact" in expected.stdout
    with engine.connect() as c:
        inserts = c.execute(text(
            "SELECT count(*), sum(written) FROM audit_seals "
            "WHERE table_name = 'incidents' AND action = 'insert'")).one()
        copies = c.execute(text("SELECT count(*) FROM incidents_history "
                                "WHERE ended_by LIKE 'etl:run/%'")).scalar_one()
    assert inserts[0] >= 2 and inserts[1] >= 6155  # one seal per load statement, not per row
    assert copies == 0  # an insert copies nothing into the history


def test_an_update_keeps_the_previous_version_typed(conn: Connection) -> None:
    conn.execute(text("SELECT set_config('truce.actor', 'tests:history', true)"))
    before = conn.execute(text("SELECT notes, etl_run_id FROM aid_deliveries WHERE id = 1")).one()
    conn.execute(text("UPDATE aid_deliveries SET notes = 'moved' WHERE id = 1"))
    conn.execute(text("DELETE FROM aid_deliveries WHERE id = 1"))
    versions = conn.execute(text("""
        SELECT notes, written_by, ended_action, ended_by, valid_from <= valid_to
        FROM aid_deliveries_history WHERE id = 1 ORDER BY ended_seal""")).all()
    assert [tuple(v) for v in versions] == [
        (before.notes, f"etl:run/{before.etl_run_id}", "update", "tests:history", True),
        ("moved", "tests:history", "delete", "tests:history", True)]
    seals = conn.execute(text("""
        SELECT action, actor, written, ended FROM audit_seals
        WHERE table_name = 'aid_deliveries' ORDER BY id DESC LIMIT 2""")).all()
    assert [tuple(s) for s in seals] == [("delete", "tests:history", 0, 1),
                                         ("update", "tests:history", 1, 1)]
    problems = _verify(conn)["history"]["problems"]  # type: ignore[index]
    assert problems == []


def test_verify_names_a_live_row_a_history_version_and_a_seal_edited(conn: Connection) -> None:
    # legitimate writes, in a savepoint of their own (so a transaction id of their own)
    with conn.begin_nested():
        conn.execute(text("UPDATE aid_deliveries SET notes = 'audited' WHERE id = 2"))
    seal = conn.execute(text("SELECT max(id) FROM audit_seals")).scalar_one()
    incident = conn.execute(text("SELECT min(id) + 5 FROM incidents")).scalar_one()
    assert _verify(conn)["ok"] is True
    with conn.begin_nested():  # behind the triggers' back, as a superuser
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE incidents SET fatalities = fatalities + 1 WHERE id = :i"),
                     {"i": incident})
        conn.execute(text("UPDATE aid_deliveries_history SET notes = 'forged' "
                          "WHERE id = 2 AND ended_seal = :s"), {"s": seal})
        conn.execute(text("UPDATE audit_seals SET actor = 'forged' WHERE id = :s"), {"s": seal})
        conn.execute(text("SET LOCAL session_replication_role = origin"))
    result = _verify(conn)
    problems = result["history"]["problems"]  # type: ignore[index]
    assert result["ok"] is False
    assert {"broken": "live_row", "table_name": "incidents", "row_id": str(incident)} in problems
    assert {"broken": "history_row", "table_name": "aid_deliveries", "row_id": "2",
            "seal": seal} in problems
    assert {"broken": "seal", "seal": seal, "table_name": "aid_deliveries"} in problems


def test_verify_names_rows_deleted_and_seals_removed(conn: Connection) -> None:
    with conn.begin_nested():
        conn.execute(text("DELETE FROM aid_deliveries WHERE id = 3"))
    deleting = conn.execute(text("SELECT max(id) FROM audit_seals")).scalar_one()
    with conn.begin_nested():
        conn.execute(text("UPDATE settlements SET name = name || ' (2)' WHERE id = 4"))
    with conn.begin_nested():
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM incidents WHERE id = (SELECT max(id) FROM incidents)"))
        conn.execute(text("DELETE FROM aid_deliveries_history WHERE id = 3"))
        conn.execute(text("DELETE FROM audit_seals WHERE id = :s"), {"s": deleting})
        conn.execute(text("SET LOCAL session_replication_role = origin"))
    problems = _verify(conn)["history"]["problems"]  # type: ignore[index]
    kinds = {(p["broken"], p.get("table_name")) for p in problems}
    assert ("live_row_removed", "incidents") in kinds
    assert ("seal_removed", "settlements") in kinds
