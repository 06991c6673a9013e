"""The SQLAlchemy engine and session factory; built by the app's lifespan or a CLI command."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from server.settings import DatabaseSettings


def make_engine(settings: DatabaseSettings) -> Engine:
    return create_engine(
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


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
