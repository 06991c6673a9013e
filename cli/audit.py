"""`truce audit`: verify the audit log's hash chain (exit 1 at the first broken entry), and
publish its head to a signed head log that `verify --heads` checks later (see
server/services/audit_heads.py). Publish daily from cron, e.g.
`15 3 * * * truce audit publish-head --log /var/lib/truce/audit-heads.jsonl`, and copy the log
off the machine."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from cli import config
from cli.errors import clear_errors

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _head_key() -> str:
    return config.app_settings().security.audit_head_key


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise config.ConfigError(f"cannot read the head log {path}: {exc}") from None


@app.command("verify")
@clear_errors
def verify(
    expect_head: Annotated[str | None, typer.Option(
        help="a head hash published earlier: also detects entries cut off the end")] = None,
    heads: Annotated[Path | None, typer.Option(
        help="a head log written by `publish-head`: check every line's signature and that the "
             "chain still holds each head (detects a chain rewritten and re-hashed)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute every entry's hash and link; report the first edited or deleted entry."""
    from server.services import audit, audit_heads

    lines = _read_lines(heads) if heads else None
    with Session(config.engine()) as session:
        result = audit.verify(session=session)
        if expect_head and result["ok"]:
            result["ok"] = audit.contains_hash(expect_head, session=session)
            if not result["ok"]:
                result["first_bad"] = {"broken": "head", "expected_head": expect_head}
        if lines is not None:
            result["heads"] = audit_heads.check(lines, _head_key(), session=session)
            result["ok"] = result["ok"] and result["heads"]["first_bad"] is None
    if as_json:
        print(json.dumps(result, default=str))
    else:
        print(_describe(result, expect_head))
    if not result["ok"]:
        raise typer.Exit(1)


def _describe(result: dict[str, Any], expect_head: str | None) -> str:
    bad = result["first_bad"]
    checked = result.get("heads")
    history = _describe_history(result.get("history"))
    if bad is None:
        state = "intact" if result["ok"] or "BROKEN" in history else "hashes recompute"
        said = (f"audit log {state}: {result['entries']} entries, head #{result['head_seq']} "
                f"{result['head_hash']}")
    elif bad.get("broken") == "head":
        said = (f"audit log BROKEN: the published head {expect_head} is not in the log "
                "(entries were removed from its end)")
    else:
        what = {"content": "its content was edited",
                "unsealed": "no block seals it (added by hand, or its block was removed)",
                }.get(bad["broken"], "an entry before it was deleted, or its block edited")
        said = (f"audit log BROKEN at entry #{bad['seq']} ({bad['table_name']} row "
                f"{bad['row_id']}): {what}")
    said = f"{said}\n{history}" if history else said
    if checked is None:
        return said
    head = checked["first_bad"]
    if head is None:
        return (f"{said}\npublished heads: {checked['checked']} checked, all signed and still "
                "in the chain")
    where = f"head log line {head['line']}"
    if head["reason"] == "malformed":
        return f"{said}\n{where}: not a signed head line"
    if head["reason"] == "signature":
        return (f"{said}\n{where} BROKEN: its signature does not match (the line was edited, "
                "or signed with another TRUCE_SECURITY_AUDIT_HEAD_KEY)")
    return (f"{said}\naudit log REWRITTEN: the head published at {head['at']} ({where}: "
            f"entry #{head['entry']}, block {head['block']}, {head['head']}) is no longer in "
            "the chain: entries up to it were edited and re-hashed, or cut off")


_HISTORY_PROBLEMS = {
    "live_row": "{table_name} row {row_id}: edited or inserted behind the triggers (no seal "
                "names the transaction that wrote it)",
    "live_row_removed": "{table_name} row {row_id}: deleted behind the triggers (a seal wrote "
                        "it; it is neither live nor in the history)",
    "history_row": "{table_name} history version of row {row_id} (ended by seal #{seal}): "
                   "edited or added behind the triggers",
    "history_removed": "{table_name} history version of row {row_id}: removed (seal #{seal} "
                       "ended it)",
    "history_digest": "{table_name} history: the versions seal #{seal} ended do not rehash",
    "seal": "seal #{seal} ({table_name}): edited (its hash does not recompute)",
    "seal_removed": "a seal between #{after_seal} and #{seal} was removed (the link of "
                    "#{seal} does not match)",
    "digest": "{table_name}: the versions sealed do not rehash to the live rows and history",
}


def _describe_history(history: dict[str, Any] | None) -> str:
    if history is None:
        return ""
    if not history["problems"]:
        return (f"versioned history intact: {history['seals']} seals, head "
                f"#{history['seal_head_id']} {history['seal_head']}")
    lines = [_HISTORY_PROBLEMS[p["broken"]].format_map({"row_id": "?", **p})
             for p in history["problems"]]
    return "versioned history BROKEN:\n  " + "\n  ".join(lines)


@app.command("head")
@clear_errors
def head() -> None:
    """Print the chain's head now (last block, its last entry, its hash) as JSON."""
    from server.services import audit_heads

    with Session(config.engine()) as session:
        print(json.dumps(audit_heads.current(session=session)))


@app.command("publish-head")
@clear_errors
def publish_head(
    log: Annotated[Path | None, typer.Option(
        help="append the signed line to this file (created if missing); copy it off the "
             "machine. Without it the line is only printed")] = None,
) -> None:
    """Sign the chain's head now (HMAC-SHA256, TRUCE_SECURITY_AUDIT_HEAD_KEY) as one JSON line:
    at, block, entry, head, sig. Run it daily (cron) and after anything that matters."""
    from server.services import audit_heads

    key = _head_key()
    with Session(config.engine()) as session:
        line = audit_heads.publish(key, datetime.now(UTC), session=session)
    if log is not None:
        try:
            with log.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise config.ConfigError(f"cannot append to the head log {log}: {exc}") from None
    print(line)
