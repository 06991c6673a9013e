"""One way for every `truce` command to end on a known problem: one line, what to do, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from cli import config, pgcluster

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never wrapped


def clear_errors(func: F) -> F:
    """Known problems end with one line saying what is wrong and what to do, not a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from server.errors import TruceError

        try:
            return func(*args, **kwargs)
        except (pgcluster.ProvisionError, config.ConfigError, TruceError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def clear_errors_json(as_json: bool) -> Iterator[None]:
    """clear_errors for a block; with `as_json` the error is also one JSON object on stdout
    (`{"run_id": null, "status": "failed", "error": ..., counts 0}`), so scripts reading stdout
    see it. Exit 2 (a run that started and failed exits 1)."""
    from server.errors import TruceError

    try:
        yield
    except (pgcluster.ProvisionError, config.ConfigError, TruceError, ValueError) as exc:
        _fail(as_json, str(exc), getattr(exc, "problems", None))
    except OSError as exc:  # a file that cannot be opened: its name and the system's reason
        name = getattr(exc, "filename", None)
        _fail(as_json, f"{name or 'a file'}: {exc.strerror or exc}")


def _fail(as_json: bool, message: str, problems: list[str] | None = None) -> None:
    """`problems`: every problem found (a mapping's), each on its line and in the JSON."""
    if as_json:
        print(json.dumps({"run_id": None, "status": "failed", "read": 0, "loaded": 0,
                          "updated": 0, "unchanged": 0, "quarantined": 0, "reasons": {},
                          "error": message, "warnings": [],
                          **({"problems": problems} if problems else {})}))
    if problems and len(problems) > 1:
        err.print(f"[red]error:[/red] {len(problems)} problem(s)", highlight=False)
        for problem in problems:
            err.print(f"  - {problem}", highlight=False, markup=False)
    else:
        err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2) from None
