"""Running a hostile case: its files written, loaded in-process (`etl.runner.run`) or through the
real CLI (`python -m cli.main etl load --json`), and its invariants checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from etl.jobs import UnknownFormatError, find_job
from etl.runner import run

from .. import listener
from .case import CANARY_TEXT, Case, Env
from .invariants import problems, said

CLI_TIMEOUT = 120


class Listener(listener.Listener):
    """The shared local listener, answering with the canary's text."""

    def __init__(self) -> None:
        super().__init__(CANARY_TEXT)


def make_env(folder: Path, listener: Listener) -> Env:
    folder.mkdir(parents=True, exist_ok=True)
    canary = folder / "secret.csv"
    canary.write_text(f"id,name,lon,lat\n1,{CANARY_TEXT},36.7,34.7\n")
    return Env(canary, listener.url)


@dataclass
class Outcome:
    summary: dict[str, Any]
    problems: list[str]
    seconds: float


def _in_process(engine: Engine, case: Case, path: Path, source: str) -> dict[str, Any]:
    try:
        job = find_job(case.layer, case.fmt, path)
    except UnknownFormatError as exc:  # what the CLI says with exit 2: no run starts
        return {"run_id": None, "status": "failed", "read": 0, "loaded": 0, "updated": 0,
                "unchanged": 0, "quarantined": 0, "error": str(exc)}
    return run(job, path, engine, source=source, mapping=case.mapping,
               row_wise=case.row_wise).as_dict()


def _cli(database_url: str, case: Case, path: Path, source: str) -> tuple[dict[str, Any],
                                                                         list[str]]:
    args = [sys.executable, "-m", "cli.main", "etl", "load", str(path), "--layer", case.layer,
            "--format", case.fmt, "--source", source, "--json", "--no-alerts"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    out: list[str] = []
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary: dict[str, Any] = {"status": f"exit {done.returncode}"}
    if len(lines) != 1:
        out.append(f"{len(lines)} lines on stdout, not one JSON object: {done.stdout[:300]}")
    else:
        try:
            summary = json.loads(lines[0])
        except ValueError:
            out.append(f"stdout is not JSON: {lines[0][:300]}")
    if not isinstance(summary, dict):
        out.append(f"stdout is not one JSON object: {lines[0][:300]}")
        summary = {"status": f"exit {done.returncode}"}
    expected = {"completed": (0,), "failed": (1, 2)}.get(str(summary.get("status")), ())
    if done.returncode not in expected:
        out.append(f"exit {done.returncode} for status {summary.get('status')!r}")
    if "Traceback" in done.stderr:
        out.append(f"a traceback on stderr: {done.stderr[-500:]}")
    out += [f"stderr: {p}" for p in said(done.stderr, path.parent)]
    return summary, out


def run_case(engine: Engine, database_url: str, case: Case, env: Env, folder: Path,
             listener: Listener, source: str) -> Outcome:
    path = case.write(folder, env)
    before = len(listener.hits)
    started = time.perf_counter()
    extra: list[str] = []
    if case.cli:
        summary, extra = _cli(database_url, case, path, source)
    else:
        summary = _in_process(engine, case, path, source)
    seconds = time.perf_counter() - started
    found = problems(engine, case, summary, env, folder, listener.hits[before:], source,
                     seconds if not case.cli else 0.0)
    return Outcome(summary, extra + found, seconds)
