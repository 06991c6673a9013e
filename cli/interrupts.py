"""A load ends honestly: a run ended by SIGINT/SIGTERM exits 130/143 (etl/interrupt.py), and a
run whose process died is marked `interrupted` by the next command that touches runs."""

from __future__ import annotations

from typing import Any


def reap_runs(engine: Any) -> list[int]:
    """Runs whose process died are marked `interrupted` (by every command that touches runs)."""
    from etl.loaders import review

    return review.reap_runs(engine)
