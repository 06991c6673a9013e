"""`python -m bench [etl|api|analysis|viewer] [options]`: run a benchmark (or every one) and print
figures and ratios. Not part of "all": `python -m bench fuzz [--runs N]`, a hostile-file campaign
against the ETL; `python -m bench dedupe [--rows N]`, duplicate matching at crowded places;
`python -m bench crowd [--clients 50,200,800]`, a crowd on the public map; `python -m bench
repro`, issue 17's reproductions replayed against a served Truce, each a precise 4xx or a bounded
answer in time."""

from __future__ import annotations

import importlib
import sys

ALL = ("api", "etl", "analysis", "viewer")
ON_DEMAND = ("fuzz", "dedupe", "crowd", "repro")


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
    rest = sys.argv[2:] if which != "all" else []
    if which not in (*ALL, *ON_DEMAND, "all"):
        sys.exit(f"unknown benchmark {which!r}; choose one of {', '.join(ALL + ON_DEMAND)}")
    for name in ALL if which == "all" else (which,):
        importlib.import_module(f"bench.{name}").main(rest)


if __name__ == "__main__":
    main()
