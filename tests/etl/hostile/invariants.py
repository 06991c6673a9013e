"""What every load of a hostile file must respect, checked against the database: `problems()`
returns what was violated (empty: all held). Shared by the test suite and `python -m bench fuzz`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from etl.transforms.checks import key  # ids are stored without invisible characters (README)

from .case import CANARY_TEXT, Case, Env, ValueCheck

INTERNALS = ("Traceback", "[SQL:", "CONTEXT:", "sqlite3_", "It might help", "/vsi",
             "SHAPE_RESTORE_SHX", "site-packages", ".cpp", "ogrsf_frmts", 'File "', "psycopg",
             "sqlalchemy", CANARY_TEXT)
CLASS_NAME = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b\s*[:(]")
TABLES = {"incidents": "incidents", "agreement_areas": "agreement_areas",
          "aid_deliveries": "aid_deliveries"}
DATA_TABLES = ("incidents", "agreement_areas", "aid_deliveries", "quarantine")


def said(message: str | None, folder: Path) -> list[str]:
    """Internal text in a message shown to a person."""
    if not message:
        return []
    out = [f"internal text {mark!r} in: {message[:300]}" for mark in INTERNALS if mark in message]
    if CLASS_NAME.search(message):
        out.append(f"an exception class name in: {message[:300]}")
    if str(folder) in message:
        out.append(f"the file's directory in: {message[:300]}")
    return out


def _substituted(value: str, env: Env) -> str:
    return value.replace("@CANARY@", str(env.canary)).replace("@LISTENER@", env.listener)


def _as_written(check: ValueCheck, stored: Any, env: Env) -> bool:
    written = _substituted(check.written, env).strip()
    if check.kind == "number":
        try:
            number = Decimal(written)
        except InvalidOperation:
            return False
        return number.is_finite() and stored is not None and Decimal(str(stored)) == number
    if check.kind == "time":
        try:
            moment = datetime.fromisoformat(written)
        except ValueError:
            return False
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return stored is not None and stored == moment
    return stored == written


# a quarantined row's id: the one the transform read, else the file's own (a row the reader could
# not read, or whose line could not be decoded, is quarantined before any transform)
QUARANTINED_ID = "coalesce(source_id, raw->>'source_id', raw->>'id')"


def _values(conn: Any, case: Case, source: str, run_id: int, env: Env) -> list[str]:
    table = TABLES[case.layer]
    out = []
    for check in case.values:
        sid = _substituted(check.source_id, env)
        stored = conn.execute(text(f"SELECT {check.column} FROM {table} WHERE source = :s AND "
                                   "source_id = :i"), {"s": source, "i": key(sid)}).all()
        quarantined = conn.execute(text(
            f"SELECT count(*) FROM quarantine WHERE etl_run_id = :r AND {QUARANTINED_ID} = :i"),
            {"r": run_id, "i": sid}).scalar_one()
        if stored and check.column == "source_id":
            if stored[0][0] != key(sid):
                out.append(f"{sid[:40]}: source_id stored {str(stored[0][0])[:40]!r}")
        elif stored and not _as_written(check, stored[0][0], env):
            out.append(f"{sid[:40]}: {check.column} written {check.written[:40]!r}, stored "
                       f"{str(stored[0][0])[:40]!r}")
        elif not stored and not quarantined:
            out.append(f"{sid[:40]}: neither stored nor quarantined")
    return out


def problems(engine: Engine, case: Case, summary: dict[str, Any], env: Env, folder: Path,
             hits: list[str], source: str, seconds: float) -> list[str]:
    out: list[str] = []
    status = summary.get("status")
    run_id = summary.get("run_id")
    if status not in ("completed", "failed", "empty"):
        out.append(f"status {status!r}")
    if status == "empty" and int(summary.get("read") or 0) != 0:
        out.append(f"status 'empty' after reading {summary.get('read')} rows")
    out += said(summary.get("error"), folder)
    if status == "failed" and not summary.get("error"):
        out.append("a failed run without a reason")
    counts = [int(summary.get(k) or 0) for k in ("loaded", "updated", "unchanged", "quarantined")]
    if status == "completed" and int(summary.get("read") or 0) != sum(counts):
        out.append(f"read {summary.get('read')} != loaded+updated+unchanged+quarantined {counts}")
    if status == "failed" and any(counts[:3]):
        out.append(f"a failed run counts rows as loaded: {counts}")
    if hits:
        out.append(f"requests reached the listener: {hits[:3]}")
    if case.max_seconds is not None and seconds > case.max_seconds:
        out.append(f"took {seconds:.1f} s (at most {case.max_seconds} s)")
    with engine.connect() as conn:
        if run_id is not None:
            row = conn.execute(text("SELECT status, error FROM etl_runs WHERE id = :r"),
                               {"r": run_id}).one()
            if row[0] != status:
                out.append(f"etl_runs says {row[0]!r}, the run {status!r}")
            out += said(row[1], folder)
        for table in DATA_TABLES:
            found = conn.execute(text(
                f"SELECT count(*) FILTER (WHERE row_to_json(t)::text LIKE :c), count(*) "
                f"FROM {table} t WHERE source = :s"), {"s": source, "c": f"%{CANARY_TEXT}%"}
            ).one()
            if found[0]:
                out.append(f"the canary's text is in {table}")
            if status == "failed" and found[1] and table != "quarantine":
                out.append(f"a failed run left {found[1]} rows in {table}")
        if status == "failed" and run_id is not None:
            left = conn.execute(text("SELECT count(*) FROM quarantine WHERE etl_run_id = :r"),
                                {"r": run_id}).scalar_one()
            if left:
                out.append(f"a failed run left {left} quarantined rows")
        if status in ("completed", "empty"):
            out += _completed(conn, case, summary, source, int(run_id or 0), env)
        elif case.must_load or case.must_quarantine:
            out.append(f"failed ({summary.get('error')}), but rows of it must load or be "
                       "quarantined")
    return out


def _completed(conn: Any, case: Case, summary: dict[str, Any], source: str, run_id: int,
               env: Env) -> list[str]:
    out = []
    if case.records is not None and summary.get("read") != case.records:
        out.append(f"read {summary.get('read')} of the file's {case.records} records")
    table = TABLES[case.layer]
    stored = {r[0] for r in conn.execute(text(f"SELECT source_id FROM {table} WHERE source = :s"),
                                         {"s": source})}
    quarantined = {r[0] for r in conn.execute(text(
        f"SELECT {QUARANTINED_ID} FROM quarantine WHERE etl_run_id = :r"), {"r": run_id})}
    missing = sorted(sid for sid in case.must_load if key(sid) not in stored)
    if missing:
        out.append(f"not loaded: {missing} (quarantine: {summary.get('reasons')})")
    kept = sorted(case.must_quarantine - quarantined)
    if kept:
        out.append(f"not quarantined: {kept}")
    return out + _values(conn, case, source, run_id, env)


def nothing_anywhere(engine: Engine) -> list[str]:
    """The canary's text in no table at all, and no run left `running`."""
    out = []
    with engine.connect() as conn:
        for table in ("incidents", "agreement_areas", "aid_deliveries", "settlements"):
            if conn.execute(text(f"SELECT count(*) FROM {table} t WHERE row_to_json(t)::text "
                                 "LIKE :c"), {"c": f"%{CANARY_TEXT}%"}).scalar_one():
                out.append(f"the canary's text is in {table}")
        if conn.execute(text("SELECT count(*) FROM quarantine WHERE raw::text LIKE :c OR "
                             "detail::text LIKE :c"), {"c": f"%{CANARY_TEXT}%"}).scalar_one():
            out.append("the canary's text is in quarantine")
        if conn.execute(text("SELECT count(*) FROM etl_runs WHERE error LIKE :c"),
                        {"c": f"%{CANARY_TEXT}%"}).scalar_one():
            out.append("the canary's text is in etl_runs.error")
        running = conn.execute(text("SELECT count(*) FROM etl_runs WHERE status = 'running' "
                                    "AND source LIKE 'etlt\\_h%'")).scalar_one()
        if running:
            out.append(f"{running} runs left running")
    return out
