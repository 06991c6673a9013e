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

from server.admission import Admission, AdmissionMiddleware, InFlightMiddleware
from server.compression import CompressionMiddleware
from server.db.async_reads import AsyncReadPool
from server.db.engine import make_engine, make_read_engine, make_sessionmaker
from server.db.replicas import ReplicaSet, RoutedAsyncReads, RoutedSessions
from server.deps import keep_state
from server.errors import install_error_handlers
from server.fast_path import FastPathMiddleware
from server.http_methods import HeadAndVaryMiddleware
from server.metrics import RequestMetrics
from server.openapi import install_openapi
from server.replica_routing import RecentWriters, ReplicaRoutingMiddleware
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
from server.security.cors import CORSMiddleware
from server.security.guard import KeyCheckedApp, key_guard
from server.security.headers import SecurityHeadersMiddleware
from server.security.limits import BodyLimitMiddleware, RateLimitMiddleware
from server.security.nul import NulCharacterMiddleware
from server.services import cql2
from server.services.ops import Readiness
from server.settings import SecuritySettings, Settings
from server.static_files import CachedStaticFiles


def per_worker(security: SecuritySettings, workers: int) -> SecuritySettings:
    """The rate limits one of `workers` processes applies: 1/workers of each rate and burst, so
    a key's or an address's limit holds across the processes (each keeps its own buckets)."""
    if workers <= 1:
        return security
    return security.model_copy(update={
        "rate_per_second": security.rate_per_second / workers,
        "rate_burst": max(1, security.rate_burst // workers),
        "anonymous_rate_per_second": security.anonymous_rate_per_second / workers,
        "anonymous_burst": max(1, security.anonymous_burst // workers)})


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
        # /health/ready's check: a connection of its own, never waiting for the requests' pool
        probe = make_engine(settings.database.model_copy(update={"pool_size": 1}))
        app.state.probe_sessionmaker = make_sessionmaker(probe)
        cql2.warm_up()
        replicas: ReplicaSet = app.state.replicas
        replicas.start()  # a URL that is not a standby of this primary: refused here
        # reads that may go to a healthy replica do (server.replica_routing decides which)
        app.state.sessionmaker = RoutedSessions(app.state.sessionmaker, replicas, "sessions")
        app.state.read_sessionmaker = RoutedSessions(app.state.read_sessionmaker, replicas,
                                                     "read_sessions")
        app.state.async_reads = RoutedAsyncReads(app.state.async_reads, replicas)
        gc.collect()
        gc.freeze()  # what startup built is permanent: no collection walks it again
        yield
        gc.unfreeze()
        await app.state.async_reads.close()
        replicas.stop()
        reads.dispose()
        probe.dispose()
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
    keep_state(app, settings)  # settings, release policy, extents, tile cache, keys' guess
    install_error_handlers(app)
    install_openapi(app)
    app.state.replicas = ReplicaSet(settings.database)
    # innermost: only the routes' reads may go to a replica (a middleware's never do)
    app.add_middleware(ReplicaRoutingMiddleware, replicas=app.state.replicas,
                       writers=RecentWriters(settings.database.ryw_seconds()))
    app.add_middleware(CompressionMiddleware, minimum_size=settings.api.compress_min_bytes,
                       gzip_level=settings.api.gzip_level,
                       brotli_quality=settings.api.brotli_quality)
    security = per_worker(settings.security, settings.api.workers)
    app.add_middleware(NulCharacterMiddleware)  # inside the body cap and the rate limit
    app.state.admission = Admission(settings.api)
    # inside the rate limit: a caller over its share gets 429 without taking a place
    app.add_middleware(AdmissionMiddleware, admission=app.state.admission,
                       costs=security.route_costs)
    app.add_middleware(RateLimitMiddleware, security=security, verified=app.state.acted_as)
    app.add_middleware(BodyLimitMiddleware, max_bytes=security.max_body_bytes,
                       timeout=settings.api.body_timeout_seconds)
    app.add_middleware(CORSMiddleware, origins=settings.api.cors_origins)
    # it alone reads the request's messages, so it sees a disconnect at any time
    app.add_middleware(RequestGuardMiddleware, default_ms=settings.database.statement_timeout_ms,
                       analysis_ms=settings.database.analysis_timeout_ms)
    web_dir = settings.api.web_dir
    static = CachedStaticFiles(directory=web_dir) if web_dir and Path(web_dir).is_dir() else None
    # /health/live and kept files without a key: answered here, before the rest
    app.add_middleware(FastPathMiddleware, static=static)
    app.add_middleware(InFlightMiddleware, admission=app.state.admission)
    app.add_middleware(SecurityHeadersMiddleware)  # every answer gets the headers
    app.add_middleware(HeadAndVaryMiddleware)  # HEAD as GET without a body; Vary: Accept
    app.state.request_metrics = RequestMetrics()
    app.state.readiness = Readiness(ttl=settings.api.ready_cache_seconds)
    # outermost: every answer (a 429, a 413 too) is counted, timed and carries X-Request-Id
    app.add_middleware(RequestIdMiddleware, metrics=app.state.request_metrics)
    app.include_router(alerts_routes.router)
    for module in (health, ops, collections, transactions_routes, tiles, rasters, basemaps, analysis,
                   sitrep, reports, changes, docs):
        app.include_router(module.router)
    if static is not None:
        app.mount("/static", KeyCheckedApp(static), name="static")
    for route in app.router.routes:  # the OpenAPI document and its page: outside key_guard
        if type(route) is Route:
            route.app = KeyCheckedApp(route.app)
    return app
