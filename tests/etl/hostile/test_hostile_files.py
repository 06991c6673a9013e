"""Every hostile file of the generator (fixed seed) through the real loader: the run completes or
fails with a plain sentence, its counts add up, a failed run changes nothing, nothing outside the
file is read (no canary text stored, no request to the listener) and every value is stored as
written or its row quarantined. A few go through the real CLI (`--json`, exit 0, 1 or 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from .case import Case, Env
from .drive import Listener, make_env, run_case
from .generator import cases
from .invariants import nothing_anywhere

#: Cases known to fail, by case id, with the defect (strict: a fix makes them XPASS, and the
#: marker goes). None today.
KNOWN_OPEN: dict[str, str] = {}

CASES = cases()


def _param(n: int, case: Case) -> object:
    marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_OPEN[case.id])]
             if case.id in KNOWN_OPEN else [])
    return pytest.param(n, case, id=case.id, marks=marks)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    served = Listener()
    yield served
    served.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> Env:
    return make_env(tmp_path_factory.mktemp("canary"), listener)


@pytest.mark.parametrize("n, case", [_param(n, c) for n, c in enumerate(CASES)])
def test_a_hostile_file_is_loaded_or_refused_cleanly(
        engine: Engine, database_url: str, sample_loaded: list, tmp_path: Path,
        listener: Listener, env: Env, n: int, case: Case) -> None:
    outcome = run_case(engine, database_url, case, env, tmp_path / "in", listener,
                       source=f"etlt_h_{n:03d}")
    assert not outcome.problems, (outcome.summary.get("status"), outcome.summary.get("error"),
                                  outcome.problems)


def test_nothing_outside_the_files_was_read(engine: Engine, sample_loaded: list,
                                            listener: Listener) -> None:
    """After every case (this test runs last in the module): the canary's text is in no table,
    no run is left `running`, and the listener was never called."""
    assert nothing_anywhere(engine) == []
    assert listener.hits == []
