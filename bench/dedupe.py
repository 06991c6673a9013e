"""Duplicate matching at crowded places: `python -m bench dedupe [--rows 200000]`.

Writes UCDP-like files of the same size with the bench's generator (bench/etl.py): the bench's
usual spread-out rows, and the same rows moved to 20 places and 20 days (every row has thousands
of alike neighbours, the worst case for matching reports). Duplicates are matched across sources,
so for each kind an empty incidents table first gets a file of another source of the same kind
(another seed), then the timed load (bench.etl_load, a child process) matches against it. Prints
the seconds, the reports linked as duplicates and the ratio crowded / spread (target: <= 2)."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.etl import START, _reset, generate

PLACES = [(36.2 + 0.25 * (k % 5), 33.5 + 0.8 * (k // 5)) for k in range(20)]


def crowd(src: Path, dst: Path) -> None:
    """The rows of `src` moved to PLACES and 20 days (all else as written)."""
    with open(src, newline="", encoding="utf-8") as rows, \
            open(dst, "w", newline="", encoding="utf-8") as out:
        reader = csv.DictReader(rows)
        writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or []),
                                lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(reader):
            lon, lat = PLACES[i % 20]
            day = (START + timedelta(days=(i // 20) % 20)).isoformat()
            row.update(longitude=f"{lon:.6f}", latitude=f"{lat:.6f}", date_start=day,
                       date_end=day)
            writer.writerow(row)


def _load(url: str, path: Path, source: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.etl_load", url, str(path), "ucdp",
                          "--once", "--source", source], check=True, capture_output=True,
                         text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _duplicates(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(text("SELECT count(DISTINCT incident_id) FROM incident_duplicates"))
                .scalar_one())
    engine.dispose()
    return n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dedupe", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)

    from cli import pgcluster
    from server.db.migrate import upgrade

    server_url = pgcluster.up(pgcluster.default_cluster())
    name = "truce_bench_dedupe"
    url = pgcluster.create_database(server_url, name, recreate=True)
    upgrade(url)
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files = {name: Path(tmp) / f"{name}.csv" for name in (
                "spread", "crowded", "spread_other", "crowded_other")}
            generate(files["spread"], args.rows)
            generate(files["spread_other"], args.rows, seed=11)
            crowd(files["spread"], files["crowded"])
            crowd(files["spread_other"], files["crowded_other"])
            for label in ("spread", "crowded"):
                _reset(url)
                _load(url, files[f"{label}_other"], "other")  # the reports to match against
                got = _load(url, files[label], "bench")
                seconds[label] = float(got["seconds"])
                print(f"{label:8}: {got['seconds']:7.2f} s  {int(got['loaded']):,} loaded, "
                      f"{_duplicates(url):,} linked as duplicates")
    finally:
        pgcluster.drop_database(server_url, name)
    print(f"ratio crowded/spread: {seconds['crowded'] / seconds['spread']:.2f} (target <= 2; "
          f"{args.rows:,} rows at 20 places and 20 days against the bench's spread)")


if __name__ == "__main__":
    main()
