"""The ETL bench's child process:
`python -m bench.etl_load URL PATH FORMAT [--profile] [--once] [--source NAME]`.

Loads PATH with the project's job, then loads it again (the idempotent rerun; not with --once),
and prints one JSON line: seconds, rerun seconds, rows loaded and quarantined, the path taken,
peak RSS and, with --profile, the slowest SQL statements of the first load (wall seconds, the
database's time including its triggers; the COPY of the file is not a statement here and shows
as the rest). With --once: seconds, rows loaded and updated."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event

from bench.etl import GENERIC_MAPPING
from etl.jobs import find_job
from etl.runner import run


def _profiled(engine: Any) -> list[tuple[float, str]]:
    spent: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_t", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["bench_t"].pop()
        spent.append((time.perf_counter() - started, " ".join(statement.split())[:90]))

    return spent


def main(argv: list[str]) -> None:
    url, path, fmt = argv[0], Path(argv[1]), argv[2]
    engine = create_engine(url)
    spent = _profiled(engine) if "--profile" in argv else None
    source = argv[argv.index("--source") + 1] if "--source" in argv else "bench"
    job = find_job("incidents", fmt, path)
    mapping = GENERIC_MAPPING if fmt == "csv" else None  # a generic CSV's columns
    t0 = time.perf_counter()
    first = run(job, path, engine, source=source, mapping=mapping)
    seconds = time.perf_counter() - t0
    assert first.status == "completed", first.error
    top = sorted(spent, reverse=True)[:8] if spent is not None else []
    if "--once" in argv:
        print(json.dumps({"seconds": seconds, "loaded": first.loaded, "updated": first.updated}))
        return
    if spent is not None:
        spent.clear()
    t0 = time.perf_counter()
    again = run(job, path, engine, source=source, mapping=mapping)
    rerun = time.perf_counter() - t0
    assert again.status == "completed" and again.loaded == again.updated == 0, again
    print(json.dumps({
        "seconds": seconds, "rerun": rerun, "loaded": first.loaded,
        "quarantined": first.quarantined, "method": first.method,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "profile": [[round(s, 2), sql] for s, sql in top]}))


if __name__ == "__main__":
    main(sys.argv[1:])
