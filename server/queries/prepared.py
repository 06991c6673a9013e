"""Server-side prepared statements for hot single-statement reads (feature by id): PostgreSQL
plans such a statement once per connection instead of on every request (planning costs more
than executing a primary-key look-up). psycopg2 does not prepare by itself, so this does it by
name: `PREPARE truce_<hash of the SQL>` once per pooled connection (remembered in the
connection's info), then `EXECUTE` with the values bound by the driver. Used only on autocommit
connections, where a failed PREPARE cannot abort a transaction; anything unpreparable runs as
plain SQL. Each parameter is declared with the type psycopg2's literal would have (an int is
`integer`, or `bigint` past 32 bits; a str `text`, ...): PostgreSQL's own inference can pick
another overload (`ST_Transform(geom, $1)` reads $1 as a PROJ string)."""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from server.db.async_reads import MAX_PREPARED, AsyncReadPool, Statement

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
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


@functools.lru_cache(maxsize=1024)
def _names(sql: str) -> tuple[str, ...]:
    """The bind names of `sql` in order of first use."""
    return tuple(_positional(sql)[1])


@functools.lru_cache(maxsize=1024)
def _shape(sql: str, types: tuple[str | None, ...]) -> tuple[str, str, str, str]:
    """(plain SQL, name, PREPARE, EXECUTE) of `sql` whose binds (`_names`) have
    `types` in order of first use: worked out once per statement text (the hot reads repeat a
    few texts with other values)."""
    plain = _PARAM.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))
    positional, names = _positional(sql)
    declared = f"({', '.join(t or '' for t in types)})" if types else ""
    name = "truce_" + hashlib.blake2b(f"{declared}{positional}".encode(),
                                      digest_size=10).hexdigest()
    execute = f"EXECUTE {name} ({', '.join(['%s'] * len(names))})" if names else f"EXECUTE {name}"
    return plain, name, f"PREPARE {name}{declared} AS {positional}", execute


def statement(sql: str, params: dict[str, Any]) -> Statement:
    """`sql` (with `:name` binds) as a prepared statement (`Statement.name`, its PREPARE and
    the EXECUTE with the values in order), with the plain SQL as its fallback; plain SQL only
    when a value has no declared type (None, a list, ...) or the text holds a `%`."""
    names = _names(sql)
    types = tuple(_sql_type(params[n]) for n in names)
    plain, name, prepare, execute = _shape(sql, types)
    if "%" in sql or None in types:
        return Statement(plain, params)
    return Statement(execute, tuple(params[n] for n in names), name=name, prepare=prepare,
                     fallback=(plain, params))


def one(session: Session, sql: str, params: dict[str, Any]) -> Row[Any]:
    """The single row of `sql` (with `:name` binds), run as a prepared statement when the
    session's connection is in autocommit; plain SQL otherwise."""
    conn = session.connection()
    autocommit = getattr(conn.connection.dbapi_connection, "autocommit", False)
    prepared = statement(sql, params) if autocommit else None
    if prepared is None or prepared.name is None or prepared.prepare is None:
        return session.execute(text(sql), params).one()
    known: dict[str, str] = conn.info.setdefault("truce_prepared", {})
    state = known.get(prepared.name)
    if state is None:
        if len(known) >= MAX_PREPARED:
            return session.execute(text(sql), params).one()
        try:
            conn.exec_driver_sql(prepared.prepare)
            known[prepared.name] = state = prepared.name
        except DBAPIError:  # e.g. a parameter whose type PostgreSQL cannot infer
            known[prepared.name] = state = _UNPREPARABLE
    if state == _UNPREPARABLE:
        return session.execute(text(sql), params).one()
    return conn.exec_driver_sql(prepared.execute, tuple(prepared.args)).one()


async def one_async(reads: AsyncReadPool, sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """The single row of `sql` on the event loop (see `server.db.async_reads`), prepared once
    per connection like `one`."""
    return await reads.one(statement(sql, params))
