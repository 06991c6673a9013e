"""Every request's database work is stoppable: the request guard.

The `RequestGuardMiddleware` (server.request_guard) gives each HTTP request a `RequestGuard` in
the context variable `CURRENT`. Every database connection the request takes, whichever path
takes it (a SQLAlchemy session on a worker thread, the autocommit read pool, or the event-loop
reads of `server.db.async_reads`), is attached to that guard while the request holds it: the
pools' checkout and checkin events attach and detach it (`install`), the async pool does the
same itself. When the client disconnects, or the request outlives its time budget, the guard
is stopped: every attached connection's statement is cancelled server-side (psycopg2's
`connection.cancel()`, which may be called from any thread), and a statement the request tries
after that is refused before it is sent. A connection is detached before it goes back to its
pool, under the guard's lock, so a cancel can never reach another request's statement.

The budget is enforced twice: by PostgreSQL, as the statement timeout of the request's class
(`SET LOCAL statement_timeout` when the class differs from the connection's default), and by
the server, whose timer stops the guard when the budget is spent however many statements it
took. Either way the answer is a 503 `query_timeout`, logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from contextvars import ContextVar
from typing import Any

import psycopg2.errors
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, ExceptionContext

from server.errors import ClientClosedError, QueryTimeoutError, TruceError

log = logging.getLogger(__name__)

TIMEOUT = "timeout"
DISCONNECTED = "disconnected"


class RequestGuard:
    """One request's connections, its budget, and why it was stopped (None while it runs)."""

    def __init__(self, label: str, *, budget_ms: int) -> None:
        self.label = label
        self.budget_ms = budget_ms
        self.reason: str | None = None
        self._connections: set[Any] = set()
        self._lock = threading.Lock()

    def attach(self, raw: Any) -> None:
        with self._lock:
            self._connections.add(raw)

    def detach(self, raw: Any) -> None:
        with self._lock:
            self._connections.discard(raw)

    def stop(self, reason: str) -> int:
        """Stop the request for `reason`: cancel the statement running on each attached
        connection. Blocking (a cancel request is a short connection to the server): run it
        off the event loop. Returns how many connections were cancelled."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
            cancelled = 0
            for raw in list(self._connections):
                with contextlib.suppress(Exception):
                    if not raw.closed:
                        raw.cancel()
                        cancelled += 1
            return cancelled

    def error(self) -> TruceError | None:
        """What a statement of a stopped request raises (None while it runs)."""
        if self.reason == TIMEOUT:
            return QueryTimeoutError(
                f"the query took too long: this request's time budget is "
                f"{self.budget_ms / 1000:g} s; narrow it (a shorter datetime, a smaller bbox, "
                f"fewer rows)", budget_ms=self.budget_ms)
        if self.reason == DISCONNECTED:
            return ClientClosedError("the client closed the connection; the query was cancelled")
        return None

    def check(self) -> None:
        """Refuse to start a statement once the request is stopped."""
        error = self.error()
        if error is not None:
            raise error


CURRENT: ContextVar[RequestGuard | None] = ContextVar("truce_request_guard", default=None)


async def stop(guard: RequestGuard, reason: str) -> None:
    """Stop `guard` from the event loop (the cancel requests are sent from a worker thread)."""
    guard.reason = guard.reason or reason  # statements not yet sent are refused at once
    cancelled = await asyncio.to_thread(guard.stop, reason)
    if guard.reason == TIMEOUT:
        log.warning("query timeout: %s spent its budget of %d ms; %d statement(s) cancelled",
                    guard.label, guard.budget_ms, cancelled)
    else:
        log.info("client disconnected: %s; %d statement(s) cancelled", guard.label, cancelled)


def translate(exc: BaseException) -> TruceError | None:
    """The domain error for a database error in a request: the guard's reason when it was
    stopped, a query timeout when PostgreSQL's statement timeout fired (logged); else None."""
    guard = CURRENT.get()
    if guard is None:  # not a request's (a command's, a test's): the driver's error as it is
        return None
    error = guard.error()
    if error is not None:
        return error
    if isinstance(exc, psycopg2.errors.QueryCanceled):  # not by the guard: the statement timeout
        log.warning("query timeout: %s hit the statement timeout (%d ms)", guard.label,
                    guard.budget_ms)
        return QueryTimeoutError("the query took too long (the database's statement timeout); "
                                 "narrow it (a shorter datetime, a smaller bbox, fewer rows)",
                                 budget_ms=guard.budget_ms)
    return None


def install(engine: Engine, *, default_timeout_ms: int, transactional: bool) -> None:
    """Attach the connections `engine` lends to the current request's guard; apply the request
    class's statement timeout (`transactional` engines only: SET LOCAL needs a transaction);
    refuse statements of a stopped request; translate a cancelled statement's error."""

    @event.listens_for(engine, "checkout")
    def _checkout(raw: Any, record: Any, proxy: Any) -> None:
        guard = CURRENT.get()
        if guard is not None:
            guard.attach(raw)
            record.info["guard"] = guard

    @event.listens_for(engine, "checkin")
    def _checkin(raw: Any, record: Any) -> None:
        guard = record.info.pop("guard", None)
        if guard is not None and raw is not None:
            guard.detach(raw)

    @event.listens_for(engine, "close")
    def _close(raw: Any, record: Any) -> None:
        guard = record.info.pop("guard", None)
        if guard is not None:
            guard.detach(raw)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        guard = CURRENT.get()
        if guard is not None:
            guard.check()

    if transactional:
        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            guard = CURRENT.get()
            if guard is None or guard.budget_ms == default_timeout_ms:
                return
            guard.check()
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute("SET LOCAL statement_timeout = %s", (guard.budget_ms,))
            finally:
                cursor.close()

    @event.listens_for(engine, "handle_error")
    def _error(context: ExceptionContext) -> BaseException | None:
        return translate(context.original_exception)
