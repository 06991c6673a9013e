"""The app factory: `create_app(settings)`; nothing is built at import time.

Run with `truce serve`, or `uvicorn server.main:create_app --factory` with TRUCE_DATABASE_URL set.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.routing import Route

from server.compression import CompressionMiddleware
from server.db.async_reads import AsyncReadPool
from server.db.engine import make_engine, make_read_engine, make_sessionmaker
from server.errors import install_error_handlers
from server.metrics import RequestMetrics
from server.openapi import install_openapi
from server.request_guard import RequestGuardMiddleware
from server.request_id import RequestIdMiddleware
from server.routes import alerts as alerts_routes
from server.routes import (
    analysis,
    basemaps,
    changes,
    collections,
    docs,
    health,
    ops,
    rasters,
    reports,
    sitrep,
    tiles,
)
from server.routes import transactions as transactions_routes
from server.security.acted_as import ActedAs
from server.security.cors import CORSMiddleware
from server.security.guard import KeyCheckedApp, key_guard
from server.security.headers import SecurityHeadersMiddleware
from server.security.limits import BodyLimitMiddleware, RateLimitMiddleware
from server.security.nul import NulCharacterMiddleware
from server.services.ops import Readiness
from server.settings import Settings
from server.static_files import CachedStaticFiles


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # no arguments: everything from TRUCE_* variables

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        reads = make_read_engine(settings.database)  # feature by id: see make_read_engine
        app.state.read_engine = reads
        app.state.read_sessionmaker = make_sessionmaker(reads)
        app.state.async_reads = AsyncReadPool(settings.database)  # the hot reads, no thread
        gc.collect()
        gc.freeze()  # what startup built is permanent: no collection walks it again
        yield
        gc.unfreeze()
        await app.state.async_reads.close()
        reads.dispose()
        engine.dispose()

    app = FastAPI(
        title="Truce map API",
        version="0.1.0",
        description="OGC API Features and Tiles for ceasefire coordination: agreement areas, "
        "incidents, aid deliveries, reference layers.",
        openapi_url="/api",
        docs_url=None,  # /api.html: server.routes.docs, served locally under the CSP
        redoc_url=None,
        root_path=settings.api.root_path,
        lifespan=lifespan,
        dependencies=[Depends(key_guard)],  # a presented key is checked on every route
    )
    app.state.settings = settings
    app.state.acted_as = ActedAs()
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(CompressionMiddleware, minimum_size=settings.api.compress_min_bytes,
                       gzip_level=settings.api.gzip_level,
                       brotli_quality=settings.api.brotli_quality)
    security = settings.security
    app.add_middleware(NulCharacterMiddleware)  # inside the body cap and the rate limit
    app.add_middleware(RateLimitMiddleware, security=security, verified=app.state.acted_as)
    app.add_middleware(BodyLimitMiddleware, max_bytes=security.max_body_bytes,
                       timeout=settings.api.body_timeout_seconds)
    app.add_middleware(CORSMiddleware, origins=settings.api.cors_origins)
    # it alone reads the request's messages, so it sees a disconnect at any time
    app.add_middleware(RequestGuardMiddleware, default_ms=settings.database.statement_timeout_ms,
                       analysis_ms=settings.database.analysis_timeout_ms)
    app.add_middleware(SecurityHeadersMiddleware)  # every answer gets the headers
    app.state.request_metrics = RequestMetrics()
    app.state.readiness = Readiness(ttl=settings.api.ready_cache_seconds)
    # outermost: every answer (a 429, a 413 too) is counted, timed and carries X-Request-Id
    app.add_middleware(RequestIdMiddleware, metrics=app.state.request_metrics)
    app.include_router(alerts_routes.router)
    for module in (health, ops, collections, transactions_routes, tiles, rasters, basemaps, analysis,
                   sitrep, reports, changes, docs):
        app.include_router(module.router)
    if settings.api.web_dir and Path(settings.api.web_dir).is_dir():
        app.mount("/static", KeyCheckedApp(CachedStaticFiles(directory=settings.api.web_dir)),
                  name="static")
    for route in app.router.routes:  # the OpenAPI document and its page: outside key_guard
        if type(route) is Route:
            route.app = KeyCheckedApp(route.app)
    return app
