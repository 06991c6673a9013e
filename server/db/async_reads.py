"""Single-statement reads on the event loop: psycopg2's asynchronous connections, no thread.

The two most frequent requests of a map client (a feature by id, an unfiltered page) are one
statement each. Run in a worker thread, each request pays two thread hops, and with several
clients the worker threads and the event loop contend for the GIL: the tail latency grows.
Here the statement is sent on a non-blocking psycopg2 connection (`async_=True`) and the event
loop waits for its socket (`loop.add_reader`/`add_writer`), as tipg does with asyncpg.

Connections are autocommit (psycopg2's asynchronous connections always are), opened lazily up
to `size`, with the same statement timeout and application name scheme as the other pools. A
statement prepared once on a connection (`PREPARE name AS ...`) is remembered on it. A
connection on which anything failed, or whose request was cancelled mid-statement, is closed,
never reused; a statement that failed because an idle connection was gone is retried once on
a new connection (these are reads).

Each connection is attached to the current request's guard (server.db.guard) while the request
holds it: a client that disconnects, or a spent budget, cancels its statement server-side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from server.db import guard as guards
from server.settings import DatabaseSettings

MAX_PREPARED = 256  # statements prepared per connection; past it, plain SQL


@dataclass(frozen=True)
class Statement:
    """What to run: `execute` with `args` (psycopg2's `%s` placeholders); when `name` is set,
    `prepare` first declares it on a connection that has not yet (once per connection)."""

    execute: str
    args: Sequence[Any] | dict[str, Any]
    name: str | None = None
    prepare: str | None = None
    fallback: tuple[str, dict[str, Any]] | None = None  # plain SQL when PREPARE is refused


@dataclass
class _Connection:
    raw: Any
    prepared: dict[str, bool] = field(default_factory=dict)  # name -> prepared (False: refused)
    used: bool = False


def _connect_args(settings: DatabaseSettings) -> dict[str, Any]:
    url = make_url(settings.url)
    args: dict[str, Any] = {
        "host": url.host or "localhost", "port": url.port or 5432, "dbname": url.database,
        "user": url.username, "connect_timeout": 5, "application_name": "truce-read-async",
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
    }
    if url.password is not None:
        args["password"] = url.password
    return {k: v for k, v in args.items() if v is not None}


class AsyncReadPool:
    def __init__(self, settings: DatabaseSettings) -> None:
        self._args = _connect_args(settings)
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(settings.pool_size)

    async def one(self, statement: Statement) -> tuple[Any, ...]:
        """The single row of `statement` (a `LookupError` when there is none)."""
        guard = guards.CURRENT.get()
        for attempt in (1, 2):
            if guard is not None:
                guard.check()  # a stopped request sends nothing more
            conn = await self._checkout()
            if guard is not None:
                guard.attach(conn.raw)
            reused = bool(conn.prepared) or conn.used
            try:
                row = await self._run(conn, statement)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                gone = bool(conn.raw.closed)
                self._discard(conn, guard)
                if attempt == 1 and reused and gone:
                    continue  # an idle connection that was gone: once more on a new one
                _raise_translated(exc)
                raise
            except psycopg2.Error as exc:  # a refused statement
                self._discard(conn, guard)
                _raise_translated(exc)
                raise
            except BaseException:  # the request cancelled mid-way
                self._discard(conn, guard)
                raise
            self._checkin(conn, guard)
            return row
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close the idle connections. Like SQLAlchemy's `dispose`, the pool stays usable: it
        opens new connections if it is used again (an app's lifespan may be entered twice)."""
        for conn in self._idle:
            conn.raw.close()
        self._idle.clear()

    async def _run(self, conn: _Connection, statement: Statement) -> tuple[Any, ...]:
        conn.used = True
        sql, args = statement.execute, statement.args
        if statement.name is not None and statement.prepare is not None:
            state = conn.prepared.get(statement.name)
            if state is None and len(conn.prepared) >= MAX_PREPARED:
                state = False
            elif state is None:
                try:
                    (await self._execute(conn, statement.prepare, ())).close()
                    state = conn.prepared[statement.name] = True
                except psycopg2.ProgrammingError:  # e.g. a type PostgreSQL cannot infer
                    state = conn.prepared[statement.name] = False
            if not state:
                if statement.fallback is None:
                    raise LookupError("the statement could not be prepared")
                sql, args = statement.fallback
        cursor = await self._execute(conn, sql, args)
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            raise LookupError("the statement returned no row")
        return tuple(row)

    async def _execute(self, conn: _Connection, sql: str, args: Any) -> Any:
        cursor = conn.raw.cursor()
        cursor.execute(sql, args)
        await _wait(conn.raw)
        return cursor

    async def _checkout(self) -> _Connection:
        await self._slots.acquire()
        if self._idle:
            return self._idle.pop()
        try:
            raw = psycopg2.connect(**self._args, async_=True)
            await _wait(raw)
        except BaseException:
            self._slots.release()
            raise
        return _Connection(raw)

    def _checkin(self, conn: _Connection, guard: guards.RequestGuard | None) -> None:
        if guard is not None:
            guard.detach(conn.raw)
        if conn.raw.closed:
            self._discard(conn, None)
            return
        self._idle.append(conn)
        self._slots.release()

    def _discard(self, conn: _Connection, guard: guards.RequestGuard | None) -> None:
        if guard is not None:
            guard.detach(conn.raw)
        with contextlib.suppress(Exception):
            if not conn.raw.closed and conn.raw.isexecuting():
                conn.raw.cancel()  # a statement cancelled with its request: stop it server-side
        with contextlib.suppress(Exception):
            conn.raw.close()
        self._slots.release()


def _raise_translated(exc: psycopg2.Error) -> None:
    """The domain error of a cancelled or timed-out statement (see server.db.guard)."""
    error = guards.translate(exc)
    if error is not None:
        raise error from exc


def _done(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def _wait(raw: Any) -> None:
    """Until psycopg2's asynchronous `raw` has finished what it is doing (connecting, or a
    statement), waiting for its socket on the running loop."""
    loop = asyncio.get_running_loop()
    while True:
        state = raw.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            add, remove = loop.add_reader, loop.remove_reader
        elif state == psycopg2.extensions.POLL_WRITE:
            add, remove = loop.add_writer, loop.remove_writer
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        ready: asyncio.Future[None] = loop.create_future()
        fd = raw.fileno()
        add(fd, _done, ready)
        try:
            await ready
        finally:
            remove(fd)
