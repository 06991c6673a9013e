"""Request ids, request metrics and one structured JSON log line per request (ASGI middleware).

A request's `X-Request-Id` is kept when it is a safe token (letters, digits, `.`, `_`, `-`,
`:`, at most 128), else a new one is made; it is returned in the `X-Request-Id` response header,
is in the access log line (logger `truce.access`), and in every other log line written while the
request runs (`JsonLogFormatter` reads it from a context variable)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import RequestMetrics

HEADER = b"x-request-id"
_SAFE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("truce.access")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's template (`/collections/{collection_id}/items`), never the raw path;
    `unmatched` for a path no route has (a 404), so clients cannot grow the label set."""
    route = scope.get("route")  # FastAPI's routes put themselves here
    if route is None and "endpoint" in scope:  # a Starlette route or mount: find which
        routes = getattr(scope.get("app"), "routes", [])
        if "app_root_path" in scope:  # a mount moved the path into root_path
            return next((f"{r.path}/{{path}}" for r in routes if isinstance(r, Mount)
                         and scope.get("root_path", "").endswith(r.path)), "unmatched")
        route = next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", []) if k == HEADER), None)
        rid = given.decode() if given is not None and _SAFE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, with_id)
            failed = False
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.observe(method, route, status, seconds)
            access_log.info("request", extra={"fields": {
                "request_id": rid, "method": scope["method"], "route": route, "path": scope["path"],
                "status": status, "duration_ms": round(seconds * 1000, 3)}})
            if not failed:  # else the 500 handler, outside this middleware, still logs with it
                request_id.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request id when a request
    is running, and any `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def install_json_logging(level: int = logging.INFO) -> None:
    """Send the `truce.*` and `server.*` loggers to stderr as JSON lines (`truce serve`)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    for name in ("truce", "server"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
