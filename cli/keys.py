"""`truce keys create|list|revoke`: API keys (printed once; only their hash is stored)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from cli import config
from cli.errors import clear_errors

app = typer.Typer(help="API keys and roles (admin, analyst, planner, partner, reporter).",
                  no_args_is_help=True)


def _session() -> Session:
    return Session(config.engine())


@app.command("create")
@clear_errors
def create(
    role: Annotated[str, typer.Option(help="admin|analyst|planner|partner|reporter")],
    org: Annotated[str | None, typer.Option(help="organisation (required for partner)")] = None,
    expires: Annotated[str | None, typer.Option(help="ISO time, e.g. 2026-12-31T00:00Z")] = None,
    label: Annotated[str | None, typer.Option(help="who or what the key is for")] = None,
    as_json: Annotated[bool, typer.Option("--json", help='print {"id": ..., "key": ...}')] = False,
) -> None:
    """Create a key and print it once; store only its hash."""
    from server.services import keys

    expires_at = None
    if expires:
        try:
            expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"--expires {expires!r} is not an ISO date/time") from None
    with _session() as session:
        key_id, key = keys.create(role, org=org, expires_at=expires_at, label=label,
                                  actor="cli", session=session)
    if as_json:
        print(json.dumps({"id": key_id, "key": key}))
    else:
        print(f"id:  {key_id}\nkey: {key}\n(shown once: store it now; only its hash is kept)")


@app.command("list")
@clear_errors
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (never the keys themselves)."""
    from server.services import keys

    with _session() as session:
        rows = keys.list_(session=session)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("id", "role", "org", "label", "state", "created", "expires")
    for r in rows:
        table.add_row(r["id"], r["role"], r["org"] or "", r["label"] or "", r["state"],
                      f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['expires_at']:%Y-%m-%d %H:%M}" if r["expires_at"] else "")
    Console().print(table)


@app.command("revoke")
@clear_errors
def revoke(key_id: Annotated[str, typer.Argument(help="the key's id (see 'truce keys list')")]
           ) -> None:
    """Revoke a key: it gets 401 from now on."""
    from server.services import keys

    with _session() as session:
        keys.revoke(key_id, actor="cli", session=session)
    print(f"key {key_id} revoked")
