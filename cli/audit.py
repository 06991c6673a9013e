"""`truce audit verify`: recompute the audit log's hash chain; exit 1 at the first broken entry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from cli import config
from cli.errors import clear_errors

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
@clear_errors
def verify(
    expect_head: Annotated[str | None, typer.Option(
        help="a head hash published earlier: also detects entries cut off the end")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute every entry's hash and link; report the first edited or deleted entry."""
    from server.services import audit

    with Session(config.engine()) as session:
        result = audit.verify(session=session)
        if expect_head and result["ok"]:
            result["ok"] = audit.contains_hash(expect_head, session=session)
            if not result["ok"]:
                result["first_bad"] = {"broken": "head", "expected_head": expect_head}
    if as_json:
        print(json.dumps(result, default=str))
    elif result["ok"]:
        print(f"audit log intact: {result['entries']} entries, head #{result['head_seq']} "
              f"{result['head_hash']}")
    else:
        bad = result["first_bad"]
        if bad.get("broken") == "head":
            print(f"audit log BROKEN: the published head {expect_head} is not in the log "
                  "(entries were removed from its end)")
        else:
            what = {"content": "its content was edited",
                    "unsealed": "no block seals it (added by hand, or its block was removed)",
                    }.get(bad["broken"], "an entry before it was deleted, or its block edited")
            print(f"audit log BROKEN at entry #{bad['seq']} ({bad['table_name']} row "
                  f"{bad['row_id']}): {what}")
    if not result["ok"]:
        raise typer.Exit(1)
