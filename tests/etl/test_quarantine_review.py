"""The quarantine keeps one entry per rejected row however often its file is loaded (both paths),
and a reviewer can accept a row (it loads on the next run, who accepted it recorded, audited) or
discard it (closed; loading it again adds nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from tests.etl.ucdp_rows import HEADER, NOW, ROWS

TRUCE = [sys.executable, "-m", "cli.main"]


def _truce(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": url})


def _entries(engine: Engine, source: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT record_number, source_id, reasons FROM quarantine WHERE source = :s "
            "ORDER BY record_number"), {"s": source}).all()]


@pytest.mark.parametrize("row_wise", [True, False])
def test_loading_a_file_again_adds_no_second_entry(engine: Engine, tmp_path: Path,
                                                   row_wise: bool) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, *ROWS, ""]))
    job = find_job("incidents", "ucdp", path)
    source = f"etlt_idem_{'rows' if row_wise else 'copy'}"
    first = run(job, path, engine, source=source, now=NOW, row_wise=row_wise)
    entries = _entries(engine, source)
    assert first.quarantined > 0 and len(entries) == first.quarantined
    assert first.method == ("rows" if row_wise else "copy")
    again = run(job, path, engine, source=source, now=NOW, row_wise=row_wise)
    assert (again.status, again.quarantined) == ("completed", first.quarantined)  # counted
    assert _entries(engine, source) == entries  # not stored twice
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rows_quarantined FROM etl_runs WHERE id = :r"),
                            {"r": again.run_id}).scalar_one() == first.quarantined
    # the same file under another name: the rows without an id are the same lines of it
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    run(job, copy, engine, source=source, now=NOW, row_wise=row_wise)
    assert _entries(engine, source) == entries


def test_accept_loads_the_row_on_the_next_run_and_discard_closes_it(
        database_url: str, engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    path.write_text("\n".join([HEADER, ROWS[0], ROWS[5], ROWS[9], ""]))  # ok, far, bad date
    args = ["etl", "load", str(path), "--layer", "incidents", "--format", "ucdp", "--source",
            "etlt_review", "--json", "--no-alerts"]
    done = _truce(database_url, *args)
    out = json.loads(done.stdout)
    assert (out["loaded"], out["quarantined"]) == (1, 2), done.stderr
    listed = json.loads(_truce(database_url, "etl", "quarantine", "list", "--run",
                               str(out["run_id"]), "--unresolved", "--json").stdout)
    by_id = {r["source_id"]: r["id"] for r in listed}
    assert set(by_id) == {"6", "10"}
    missing = _truce(database_url, "etl", "quarantine", "accept", "999999", "--reason", "x")
    assert missing.returncode == 2 and "no open quarantined row" in missing.stderr
    accepted = _truce(database_url, "etl", "quarantine", "accept", str(by_id["6"]), "--reason",
                      "checked: the report is of Syrians in Paris", "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["review"] == "accepted"
    discarded = _truce(database_url, "etl", "quarantine", "discard", str(by_id["10"]),
                       "--reason", "no such day; the source will not correct it")
    assert discarded.returncode == 0, discarded.stderr
    again = json.loads(_truce(database_url, *args).stdout)
    assert (again["status"], again["loaded"], again["quarantined"]) == ("completed", 1, 1)
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT count(*) FROM incidents WHERE source = 'etlt_review' "
                                   "AND source_id = '6'")).scalar_one()
        reviews = conn.execute(text(
            "SELECT source_id, review, reviewed_by, review_reason IS NOT NULL, "
            "resolved_by_run_id, resolved_at IS NOT NULL FROM quarantine "
            "WHERE source = 'etlt_review' ORDER BY source_id")).all()
        audited = conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE table_name = 'quarantine_reviews' "
            "AND actor LIKE 'cli:%' AND after->>'quarantine_id' IN (:a, :b)"),
            {"a": str(by_id["6"]), "b": str(by_id["10"])}).scalar_one()
    assert loaded == 1
    who = reviews[0][2]
    assert str(who).startswith("cli:")
    assert [tuple(r) for r in reviews] == [("10", "discarded", who, True, None, True),
                                           ("6", "accepted", who, True, again["run_id"], True)]
    assert audited == 2
    unresolved = json.loads(_truce(database_url, "etl", "quarantine", "list", "--unresolved",
                                   "--json").stdout)
    assert not [r for r in unresolved if r["source"] == "etlt_review"]
