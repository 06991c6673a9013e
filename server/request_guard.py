"""The middleware that gives each HTTP request its `RequestGuard` (server.db.guard).

It alone reads the request's messages from the server (a pump task, passing them on to the app
one at a time through a queue of one), so it sees the client's `http.disconnect` while a route
is still working, on a worker thread or on the event loop, and stops the guard: the request's
statements are cancelled in PostgreSQL at once. A timer stops the guard when the request's
budget (its class's: /analysis/ or the rest) is spent before the answer has started."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.db import guard as guards

_DISCONNECT: Message = {"type": "http.disconnect"}


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, *, default_ms: int, analysis_ms: int) -> None:
        self.app = app
        self.default_ms = default_ms
        self.analysis_ms = analysis_ms

    def budget_ms(self, path: str) -> int:
        return self.analysis_ms if path.startswith("/analysis/") else self.default_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        guard = guards.RequestGuard(f"{scope.get('method', '')} {path}",
                                    budget_ms=self.budget_ms(path))
        token = guards.CURRENT.set(guard)
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        state = {"gone": False, "started": False, "answered": False}
        stopping: set[asyncio.Task[None]] = set()

        def stop(reason: str) -> None:
            if not state["answered"] and guard.reason is None:
                task = asyncio.ensure_future(guards.stop(guard, reason))
                stopping.add(task)

        async def pump() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    state["gone"] = True
                    stop(guards.DISCONNECTED)
                    await queue.put(message)
                    return
                await queue.put(message)

        async def guarded_receive() -> Message:
            if state["gone"] and queue.empty():
                return _DISCONNECT
            return await queue.get()

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["answered"] = True  # before sending: the server then reports a disconnect
            await send(message)

        def expired() -> None:
            if not state["started"]:
                stop(guards.TIMEOUT)

        loop = asyncio.get_running_loop()
        pumping = asyncio.ensure_future(pump())
        timer = loop.call_later(guard.budget_ms / 1000, expired)
        try:
            await self.app(scope, guarded_receive, guarded_send)
        finally:
            timer.cancel()
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping
            for task in stopping:
                with contextlib.suppress(Exception):
                    await task
            guards.CURRENT.reset(token)
