"""Published audit heads: `truce audit publish-head` signs the chain's head into a head log;
`truce audit verify --heads` catches a chain a superuser rewrote and re-hashed from an edited
entry on (which plain `verify` cannot), and a head log line that was edited."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from cli.main import app as cli_app

KEY = "test-audit-head-key-0123456789"
GENESIS = bytes(32)


def _audit(database_url: str, *args: str, key: str = KEY) -> Result:
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url,
           "TRUCE_SECURITY_AUDIT_HEAD_KEY": key}
    return CliRunner().invoke(cli_app, ["audit", *args], env=env)


def _verify(database_url: str, heads: Path, key: str = KEY) -> tuple[int, dict[str, Any]]:
    result = _audit(database_url, "verify", "--heads", str(heads), "--json", key=key)
    return result.exit_code, json.loads(result.stdout)


def _write(engine: Engine, notes: str) -> int:
    """A direct SQL write (audited: one new block); the seq of its entry."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE aid_deliveries SET notes = :n WHERE id = "
                          "(SELECT min(id) FROM aid_deliveries)"), {"n": notes})
        return int(conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one())


def _rewrite_from(conn: Connection, seq: int) -> None:
    """What an attacker with superuser rights does: edit an entry, recompute its hash, then
    re-seal its block and every block after it, so the chain verifies again."""
    conn.execute(text("UPDATE audit_log SET after = jsonb_set(after, '{notes}', '\"forged\"') "
                      "WHERE seq = :seq"), {"seq": seq})
    conn.execute(text("UPDATE audit_log SET hash = sha256(convert_to(audit_entry_text(seq, at, "
                      "actor, action, table_name, row_id, before, after), 'UTF8')) "
                      "WHERE seq = :seq"), {"seq": seq})
    first = conn.execute(text("SELECT id FROM audit_blocks WHERE :seq BETWEEN first_seq AND "
                              "last_seq"), {"seq": seq}).scalar_one()
    prev = conn.execute(text("SELECT hash FROM audit_blocks WHERE id < :id ORDER BY id DESC "
                             "LIMIT 1"), {"id": first}).scalar() or GENESIS
    for block in conn.execute(text("SELECT id FROM audit_blocks WHERE id >= :id ORDER BY id"),
                              {"id": first}).scalars().all():
        prev = conn.execute(text("""
            UPDATE audit_blocks b SET prev_hash = :prev,
                   hash = audit_block_hash(:prev, b.id, b.first_seq, b.last_seq, b.entries,
                          (SELECT string_agg(l.hash, ''::bytea ORDER BY l.seq) FROM audit_log l
                           WHERE l.seq BETWEEN b.first_seq AND b.last_seq))
            WHERE b.id = :id RETURNING hash"""), {"prev": prev, "id": block}).scalar_one()


@pytest.fixture()
def rewritable(engine: Engine, sample_loaded: list[object]) -> Iterator[Engine]:
    """The append-only guards off (a superuser); after the test, the entries and blocks
    written (and rewritten) during it are removed, so the log is as it was before."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE audit_blocks DISABLE TRIGGER audit_blocks_append_only"))
        head = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_blocks")).scalar_one()
    yield engine
    with engine.begin() as conn:  # the blocks and entries written here go, those before stay
        first = conn.execute(text("SELECT first_seq FROM audit_blocks WHERE id > :id "
                                  "ORDER BY id LIMIT 1"), {"id": head}).scalar()
        if first is not None:
            conn.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": first})
        conn.execute(text("DELETE FROM audit_blocks WHERE id > :id"), {"id": head})
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE audit_blocks ENABLE TRIGGER audit_blocks_append_only"))


def test_published_heads_catch_a_chain_rewritten_and_rehashed(
        database_url: str, rewritable: Engine, tmp_path: Path) -> None:
    log = tmp_path / "audit-heads.jsonl"
    with rewritable.connect() as conn:
        notes = conn.execute(text("SELECT notes FROM aid_deliveries ORDER BY id LIMIT 1")).scalar()
    try:
        assert _audit(database_url, "publish-head", "--log", str(log)).exit_code == 0
        edited = _write(rewritable, "delivered in full")
        assert _audit(database_url, "publish-head", "--log", str(log)).exit_code == 0
        _write(rewritable, "second visit")
        printed = _audit(database_url, "publish-head", "--log", str(log))
        assert printed.exit_code == 0
        lines = log.read_text().splitlines()
        assert len(lines) == 3 and json.loads(printed.stdout) == json.loads(lines[-1])
        assert set(json.loads(lines[0])) == {"at", "block", "entry", "head", "sig"}
        code, result = _verify(database_url, log)
        assert code == 0 and result["heads"] == {"checked": 3, "first_bad": None}

        with rewritable.begin() as conn:
            _rewrite_from(conn, edited)
        plain = _audit(database_url, "verify", "--json")
        assert plain.exit_code == 0  # the rewrite is invisible without published heads
        code, result = _verify(database_url, log)
        assert code == 1 and result["first_bad"] is None
        bad = result["heads"]["first_bad"]
        second = json.loads(lines[1])
        assert bad["line"] == 2 and bad["reason"] == "not_in_chain"
        assert (bad["entry"], bad["head"]) == (second["entry"], second["head"])
        said = _audit(database_url, "verify", "--heads", str(log)).stdout
        assert "REWRITTEN" in said and "head log line 2" in said
        assert f"entry #{second['entry']}" in said
    finally:
        with rewritable.begin() as conn:
            conn.execute(text("UPDATE aid_deliveries SET notes = :n WHERE id = "
                              "(SELECT min(id) FROM aid_deliveries)"), {"n": notes})


def test_an_edited_or_foreign_head_line_fails_its_signature(
        database_url: str, sample_loaded: list[object], tmp_path: Path) -> None:
    log = tmp_path / "audit-heads.jsonl"
    for _ in range(2):
        assert _audit(database_url, "publish-head", "--log", str(log)).exit_code == 0
    assert _verify(database_url, log)[0] == 0
    first, second = log.read_text().splitlines()
    # the attacker puts the rewritten chain's head into the log, keeping the signature
    forged = {**json.loads(second), "head": "ab" * 32}
    log.write_text(first + "\n" + json.dumps(forged) + "\n")
    code, result = _verify(database_url, log)
    assert code == 1 and result["heads"]["first_bad"]["line"] == 2
    assert result["heads"]["first_bad"]["reason"] == "signature"
    said = _audit(database_url, "verify", "--heads", str(log)).stdout
    assert "head log line 2 BROKEN: its signature does not match" in said
    # a log signed with another key fails at its first line; a line that is not JSON too
    log.write_text(first + "\n" + second + "\n")
    other = _verify(database_url, log, key="another-key-entirely-9876543210")
    assert other[0] == 1 and other[1]["heads"]["first_bad"] == {
        **{k: v for k, v in json.loads(first).items() if k != "sig"}, "line": 1,
        "reason": "signature"}
    log.write_text(first + "\nnot a head\n")
    assert _verify(database_url, log)[1]["heads"]["first_bad"] == {"line": 2,
                                                                  "reason": "malformed"}


def test_publish_head_prints_without_a_log_and_says_what_is_wrong(
        database_url: str, sample_loaded: list[object], tmp_path: Path) -> None:
    head = _audit(database_url, "head")
    line = _audit(database_url, "publish-head")
    assert head.exit_code == 0 and line.exit_code == 0
    assert {k: v for k, v in json.loads(line.stdout).items() if k in ("block", "entry", "head")
            } == json.loads(head.stdout)
    missing = _audit(database_url, "verify", "--heads", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "cannot read the head log" in missing.stderr
