"""Server-side prepared statements for hot single-statement reads (feature by id): PostgreSQL
plans such a statement once per connection instead of on every request (planning costs ~3x the
execution of a primary-key look-up). psycopg2 does not prepare by itself, so this does it by
name: `PREPARE truce_<hash of the SQL>` once per pooled connection (remembered in the
connection's info), then `EXECUTE` with the values bound by the driver. Used only on autocommit
connections, where a failed PREPARE cannot abort a transaction; anything unpreparable runs as
plain SQL. Each parameter is declared with the type psycopg2's literal would have (an int is
`integer`, or `bigint` past 32 bits; a str `text`, ...): PostgreSQL's own inference can pick
another overload (`ST_Transform(geom, $1)` reads $1 as a PROJ string)."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_MAX_PER_CONNECTION = 256
_UNPREPARABLE = "-"


def _positional(sql: str) -> tuple[str, list[str]]:
    """`:name` binds as `$n` (each name once, in order of first use) and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), names


def _sql_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if -2**31 <= value < 2**31 else "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "timestamptz" if value.tzinfo else "timestamp"
    if isinstance(value, date):
        return "date"
    return None  # None, lists, decimals...: not prepared


def one(session: Session, sql: str, params: dict[str, Any]) -> Row[Any]:
    """The single row of `sql` (with `:name` binds), run as a prepared statement when the
    session's connection is in autocommit; plain SQL otherwise."""
    conn = session.connection()
    autocommit = getattr(conn.connection.dbapi_connection, "autocommit", False)
    if not autocommit or "%" in sql:
        return session.execute(text(sql), params).one()
    positional, names = _positional(sql)
    types = [_sql_type(params[n]) for n in names]
    if None in types:
        return session.execute(text(sql), params).one()
    declared = f"({', '.join(t or '' for t in types)})" if types else ""
    name = "truce_" + hashlib.blake2b(f"{declared}{positional}".encode(),
                                      digest_size=10).hexdigest()
    known: dict[str, str] = conn.info.setdefault("truce_prepared", {})
    state = known.get(name)
    if state is None:
        if len(known) >= _MAX_PER_CONNECTION:
            return session.execute(text(sql), params).one()
        try:
            conn.exec_driver_sql(f"PREPARE {name}{declared} AS {positional}")
            known[name] = state = name
        except DBAPIError:  # e.g. a parameter whose type PostgreSQL cannot infer
            known[name] = state = _UNPREPARABLE
    if state == _UNPREPARABLE:
        return session.execute(text(sql), params).one()
    args = tuple(params[n] for n in names)
    execute = f"EXECUTE {name} ({', '.join(['%s'] * len(args))})" if args else f"EXECUTE {name}"
    return conn.exec_driver_sql(execute, args).one()
