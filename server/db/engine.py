"""The SQLAlchemy engine and session factory; built by the app's lifespan or a CLI command."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from server.db import guard
from server.settings import DatabaseSettings


def make_engine(settings: DatabaseSettings) -> Engine:
    """The pool of the sessions; each connection is attached to the request that holds it
    (server.db.guard: cancelled when the client leaves or the budget is spent)."""
    engine = create_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 5,
            "application_name": "truce",
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        },
    )
    guard.install(engine, default_timeout_ms=settings.statement_timeout_ms, transactional=True)
    return engine


def make_read_engine(settings: DatabaseSettings, *, idle_ping_seconds: float = 10.0) -> Engine:
    """A pool of autocommit connections for hot single-statement reads (feature by id): the
    isolation level is set once per connection, not on every checkout and return, there is no
    BEGIN/ROLLBACK, and a connection is pinged only when it sat idle longer than
    `idle_ping_seconds` (a pinged-dead one is replaced), not before every request."""
    engine = create_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": 5,
            "application_name": "truce-read",
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        },
    )

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_ping_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception:  # the pool drops this connection and checks out another
            raise DisconnectionError("idle connection is gone") from None

    guard.install(engine, default_timeout_ms=settings.statement_timeout_ms, transactional=False)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
