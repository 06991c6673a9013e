"""FastAPI dependencies as Annotated aliases (SessionDep, SettingsDep, PolicyDep), the typed
accessors of the per-app state, and `base_url`. The per-app state is built once, in
`server.main.create_app` (`keep_state`), and lives on `app.state`: no module holds any."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy.orm import Session

from server.security.acted_as import ActedAs
from server.security.release import ReleasePolicy, policy_from
from server.services.features import Extents
from server.services.tiles import TileCache
from server.settings import Settings


def keep_state(app: FastAPI, settings: Settings) -> None:
    """What an app keeps for its lifetime besides its connections: its settings, their release
    policy, the collections' extents by caller class, the vector tile cache, and which
    principal each key last acted as (the hot paths' guess)."""
    app.state.settings = settings
    app.state.policy = policy_from(settings.security)
    app.state.extents = Extents()
    app.state.tile_cache = TileCache(settings.api.tile_cache_mb * 1024 * 1024)
    app.state.acted_as = ActedAs()


def base_url(request: Request) -> str:
    """The API's base URL as the caller reached it (root path included), without a final /."""
    return str(request.base_url).rstrip("/")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def policy_of(request: Request) -> ReleasePolicy:
    policy: ReleasePolicy = request.app.state.policy
    return policy


def extents_of(request: Request) -> Extents:
    extents: Extents = request.app.state.extents
    return extents


def tile_cache_of(request: Request) -> TileCache:
    cache: TileCache = request.app.state.tile_cache
    return cache


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


async def get_policy(request: Request) -> ReleasePolicy:
    return policy_of(request)


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
PolicyDep = Annotated[ReleasePolicy, Depends(get_policy)]
