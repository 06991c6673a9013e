"""`python -m bench fuzz [--runs N] [--seed S] [--only CLASS] [--cli] [--keep]`: a longer hostile-file
campaign than the test suite's, with the same generator and invariants (tests/etl/hostile/).

Run 1 is every case of the seed; each further run draws new byte-level mutations (bit flips,
truncation, NUL bytes) from the next seed. Every file goes through the real loader in-process
(with --cli, the cases the suite sends through the CLI go through it here too), in a database of
its own with the sample data loaded. Prints the counts per class and per outcome, and each
violated invariant; exits 1 when one was."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

RANDOM_CLASSES = ("bitflip", "truncate", "nul")
DATA_TABLES = ("aid_deliveries", "incidents", "agreement_areas", "settlements", "quarantine")


def _clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in DATA_TABLES:
            conn.execute(text(f"DELETE FROM {table} WHERE source LIKE 'etlt\\_h%'"))  # noqa: S608


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench fuzz", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=21, help="the first run's seed")
    parser.add_argument("--only", help="only this class (bitflip, values, xml, zip ...)")
    parser.add_argument("--cli", action="store_true", help="send the CLI cases through the CLI")
    parser.add_argument("--keep", action="store_true", help="keep the fuzz database")
    args = parser.parse_args(argv)
    # GDAL's warnings and the runner's log would bury the report; each outcome is in it
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)

    from cli import pgcluster
    from etl import sample
    from server.db.migrate import upgrade
    from tests.etl.hostile.drive import Listener, make_env, run_case
    from tests.etl.hostile.generator import cases
    from tests.etl.hostile.invariants import nothing_anywhere

    server_url = pgcluster.up(pgcluster.default_cluster())
    name = "truce_bench_fuzz"
    url = pgcluster.create_database(server_url, name, recreate=True)
    upgrade(url)
    engine = create_engine(url)
    failed = [s for s in sample.load_all(engine) if s.status != "completed"]
    if failed:
        sys.exit(f"the sample data did not load: {failed}")
    listener = Listener()
    outcomes: Counter[tuple[str, str]] = Counter()
    violations: list[tuple[str, list[str]]] = []
    started = time.perf_counter()
    n = 0
    try:
        with tempfile.TemporaryDirectory(prefix="truce-fuzz-") as tmp:
            env = make_env(Path(tmp) / "canary", listener)
            for run in range(args.runs):
                batch = cases(args.seed + run)
                if run:
                    batch = [replace(c, id=f"{c.id}@{args.seed + run}") for c in batch
                             if c.cls in RANDOM_CLASSES]
                for case in batch:
                    if args.only and case.cls != args.only:
                        continue
                    case = case if args.cli else replace(case, cli=False)
                    n += 1
                    outcome = run_case(engine, url, case, env, Path(tmp) / f"case{n}", listener,
                                       source=f"etlt_h_{n}")
                    status = str(outcome.summary.get("status"))
                    outcomes[(case.cls, "violation" if outcome.problems else status)] += 1
                    if outcome.problems:
                        violations.append((case.id, outcome.problems))
                    _clean(engine)
        violations += [("(after every case)", found) for found in [nothing_anywhere(engine)]
                       if found]
    finally:
        listener.close()
        engine.dispose()
        if not args.keep:
            pgcluster.drop_database(server_url, name)
    _report(outcomes, violations, n, time.perf_counter() - started)
    if violations:
        sys.exit(1)


def _report(outcomes: Counter[tuple[str, str]], violations: list[tuple[str, list[str]]],
            files: int, seconds: float) -> None:
    kinds = ("completed", "failed", "violation")
    classes = sorted({cls for cls, _ in outcomes})
    print(f"{files} hostile files in {seconds:.0f} s")
    print(f"{'class':<12}" + "".join(f"{k:>11}" for k in kinds))
    for cls in classes:
        print(f"{cls:<12}" + "".join(f"{outcomes[(cls, k)]:>11}" for k in kinds))
    print(f"{'all':<12}" + "".join(f"{sum(v for (_, o), v in outcomes.items() if o == k):>11}"
                                   for k in kinds))
    for case_id, found in violations:
        print(f"VIOLATION {case_id}:")
        for problem in found:
            print(f"  - {problem[:300]}")
