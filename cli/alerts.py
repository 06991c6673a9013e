"""`truce alerts run`: retry due webhooks, match new incidents against alert subscriptions and
deliver the new alerts (synchronous; run it from cron or a loop). `after_load` does the same
after an incidents ETL load (`truce etl load|watch`, unless --no-alerts)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cli import config
from cli.errors import clear_errors

app = typer.Typer(help="Alerts: subscriptions matched against new incidents, signed webhooks.",
                  no_args_is_help=True)


@app.command("run")
@clear_errors
def run(
    since: Annotated[int | None, typer.Option(
        help="audit sequence number to match from (default: where the last run stopped)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Retry due alerts, match incidents written since the last run, POST the new alerts.
    A failed POST is retried by a later run after a backoff (TRUCE_ALERTS_BACKOFF_SECONDS,
    doubling, capped), until TRUCE_ALERTS_MAX_ATTEMPTS marks it failed."""
    result = _run(config.engine(), since)
    print(json.dumps(result) if as_json else describe(result))


def _run(engine: Engine, since: int | None = None) -> dict[str, Any]:
    from server.security.release import policy_from
    from server.services import alerts

    settings = config.app_settings()
    with Session(engine) as session:
        return alerts.run(session, webhook_secret=settings.security.webhook_secret,
                          settings=settings.alerts, policy=policy_from(settings.security),
                          since_seq=since)


def describe(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"alerts not run: {result['error']} (`truce alerts run` will pick them up)"
    return (f"alerts: audit #{result['since']}..#{result['until']}: {result['alerts']} new; "
            f"{result['delivered']} delivered, {result['retrying']} to retry, "
            f"{result['failed']} failed ({result['attempts']} attempts)")


def after_load(summary: Any, *, engine: Engine | None = None, dry_run: bool = False
               ) -> dict[str, Any] | None:
    """Alerts after an ETL run that wrote incidents (retry due, match, deliver); None when the
    run was not one. A failure is returned as {"error": ...}: the load itself stands, and the
    next `truce alerts run` matches from where the matcher stopped."""
    if (dry_run or summary.layer != "incidents" or summary.status != "completed"
            or not (summary.loaded or summary.updated)):
        return None
    try:
        return _run(engine or config.engine())
    except (SQLAlchemyError, OSError, ValueError, config.ConfigError) as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
