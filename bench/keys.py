"""API keys for the benches: created in the bench database (only their hash is stored)."""

from __future__ import annotations


def new_key(url: str, role: str) -> str:
    """A fresh key of `role` in the database at `url`; the plain key is returned."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from server.services import keys as key_service

    engine = create_engine(url)
    with Session(engine) as session:
        _, key = key_service.create(role, label=f"bench:{role}", actor="bench", session=session)
    engine.dispose()
    return key
