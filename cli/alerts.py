"""`truce alerts run`: match new incidents against alert subscriptions and deliver the webhooks
(synchronous; run it from cron or a loop)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
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
    """Match incidents written since the last run, then POST pending alerts (with retries)."""
    from server.security.release import policy_from
    from server.services import alerts

    settings = config.app_settings()
    with Session(config.engine()) as session:
        result = alerts.run(session, webhook_secret=settings.security.webhook_secret,
                            settings=settings.alerts,
                            policy=policy_from(settings.security), since_seq=since)
    if as_json:
        print(json.dumps(result))
    else:
        print(f"audit #{result['since']}..#{result['until']}: {result['alerts']} new alerts; "
              f"{result['delivered']} delivered, {result['failed']} failed "
              f"({result['attempts']} attempts)")
