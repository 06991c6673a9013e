"""The app factory: `create_app(settings)`; nothing is built at import time.

Run with `truce serve`, or `uvicorn server.main:create_app --factory` with TRUCE_DATABASE_URL set.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from server.compression import CompressionMiddleware
from server.db.async_reads import AsyncReadPool
from server.db.engine import make_engine, make_read_engine, make_sessionmaker
from server.errors import install_error_handlers
from server.routes import alerts as alerts_routes
from server.routes import analysis, changes, collections, health, rasters, reports, sitrep, tiles
from server.routes import transactions as transactions_routes
from server.security.acted_as import ActedAs
from server.security.limits import BodySizeLimitMiddleware, RateLimitMiddleware
from server.security.nul import NulCharacterMiddleware
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
        docs_url="/api.html",
        redoc_url=None,
        root_path=settings.api.root_path,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.acted_as = ActedAs()
    install_error_handlers(app)
    app.add_middleware(CompressionMiddleware, minimum_size=settings.api.compress_min_bytes,
                       gzip_level=settings.api.gzip_level,
                       brotli_quality=settings.api.brotli_quality)
    security = settings.security
    app.add_middleware(NulCharacterMiddleware)  # inside the body cap and the rate limit
    app.add_middleware(RateLimitMiddleware, rate=security.rate_per_second,
                       burst=security.rate_burst, anonymous_rate=security.anonymous_rate_per_second)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=security.max_body_bytes)
    app.include_router(alerts_routes.router)
    for module in (health, collections, transactions_routes, tiles, rasters, analysis, sitrep,
                   reports, changes):
        app.include_router(module.router)
    if settings.api.web_dir and Path(settings.api.web_dir).is_dir():
        app.mount("/static", CachedStaticFiles(directory=settings.api.web_dir), name="static")
    return app
