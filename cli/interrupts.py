"""A load ends honestly: a run ended by SIGINT/SIGTERM exits 130/143 (the handler is
etl_commands.interrupts), and a run whose process died is marked `interrupted` by the next
command that touches runs."""

from __future__ import annotations

from typing import Any

#: the signal that interrupted the last run of this process (its exit code: 128 + number)
last_signal: list[int] = []


def interrupt_exit() -> int:
    """The exit code of a run ended by a signal: 130 (SIGINT), 143 (SIGTERM)."""
    from etl.runner import INTERRUPT_EXIT

    return INTERRUPT_EXIT.get(last_signal[-1] if last_signal else 2, 130)


def reap_runs(engine: Any) -> list[int]:
    """Runs whose process died are marked `interrupted` (by every command that touches runs)."""
    from etl.loaders import review

    return review.reap_runs(engine)
