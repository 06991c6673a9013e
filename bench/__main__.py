"""`python -m bench [etl|api|analysis|viewer] [options]`: run a benchmark (or every one) and print
figures and ratios. `python -m bench fuzz [--runs N]`: a hostile-file campaign against the ETL
(not part of "all"). `python -m bench repro`: issue 17's reproductions replayed against a served
Truce, each a precise 4xx or a bounded answer in time (not part of "all")."""

from __future__ import annotations

import sys


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
    rest = sys.argv[2:] if which != "all" else []
    if which in ("api", "all"):
        from bench import api

        api.main(rest)
    if which in ("etl", "all"):
        from bench import etl

        etl.main(rest)
    if which in ("analysis", "all"):
        from bench import analysis

        analysis.main(rest)
    if which in ("viewer", "all"):
        from bench import viewer

        viewer.main(rest)
    if which == "fuzz":
        from bench import fuzz

        fuzz.main(rest)
    if which == "repro":
        from bench import repro

        repro.main(rest)
    if which not in ("api", "etl", "analysis", "viewer", "fuzz", "repro", "all"):
        sys.exit(f"unknown benchmark {which!r}; choose api, etl, analysis, viewer, fuzz or repro")


if __name__ == "__main__":
    main()
