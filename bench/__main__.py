"""`python -m bench [etl|api|analysis|viewer] [options]`: run a benchmark (or every one) and print
figures and ratios. Not part of "all": `python -m bench fuzz [--runs N]`, a hostile-file campaign
against the ETL; `python -m bench dedupe [--rows N]`, duplicate matching at crowded places;
`python -m bench crowd [--clients 50,200,800]`, a crowd on the public map; `python -m bench
repro`, issue 17's reproductions replayed against a served Truce, each a precise 4xx or a bounded
answer in time; `python -m bench scale [--rows 10000000]`, the same questions at 1M and 10M
incidents and the read path scaled out to 2 processes and a replica.

`--markdown` (anywhere on the line) also writes what each benchmark printed into its section of
docs/BENCHMARKS.md; `--markdown=PATH` into PATH, `--markdown=-` prints the sections (see
bench/markdown.py)."""

from __future__ import annotations

import importlib
import sys

from bench import markdown

ALL = ("api", "etl", "analysis", "viewer")
ON_DEMAND = ("fuzz", "dedupe", "crowd", "repro", "scale")


def main() -> None:
    argv, target = markdown.split_flag(sys.argv[1:])
    which = argv[0] if argv and not argv[0].startswith("-") else "all"
    rest = argv[1:] if which != "all" else []
    if which not in (*ALL, *ON_DEMAND, "all"):
        sys.exit(f"unknown benchmark {which!r}; choose one of {', '.join(ALL + ON_DEMAND)}")
    for name in ALL if which == "all" else (which,):
        bench = importlib.import_module(f"bench.{name}").main
        if target is None:
            bench(rest)
        else:  # written after each benchmark: a later one failing keeps the earlier figures
            markdown.write(target, markdown.measured(name, rest, bench))


if __name__ == "__main__":
    main()
