"""Every reproduction of issue 17, replayed over HTTP against `truce serve` on the test
database (bench/repro.py, also `python -m bench repro` on a million incidents): each is a precise
4xx or a bounded answer within 2 s, and the server's peak RSS stays under 1.5 GB."""

from __future__ import annotations

from pathlib import Path

from bench import repro


def test_every_reproduction_is_refused_or_bounded(database_url: str, sample_loaded: list[object],
                                                   tmp_path: Path) -> None:
    outcomes, peak = repro.run(database_url, tmp_path, limit=2.0)
    repro.report(outcomes, peak, 1500)  # the table, with -s
    failed = [o for o in outcomes if not o.ok]
    assert not failed, "\n".join(f"{o.defect}: {o.what}: {o.status} in {o.seconds:.2f} s {o.note}"
                                 for o in failed)
    assert {o.defect for o in outcomes} >= {str(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12,
                                                              13, 14, 15, 16)}
    assert 0 < peak < 1500
