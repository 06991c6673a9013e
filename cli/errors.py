"""One way for every `truce` command to end on a known problem: one line, what to do, exit 2."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console

from cli import config, pgcluster

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True)


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
