"""Which database node serves a request, and `Server-Timing: db;desc=primary|replica` saying so.

A read (GET, HEAD, and the POSTs that only ask a question) may go to a read replica
(server.db.replicas), unless it needs the primary: the readiness probe (it checks the primary's
schema), and any read by a caller who wrote within the last few seconds (read-your-writes: a
write's caller, by its API key's id or, without a key, its address, reads from the primary for
`read_your_writes_seconds` after the write ends, long enough for a healthy replica to have
replayed it). Everything else (writes, and the key checks and reads made while writing) goes to
the primary.

The memory of recent writers is per process: with several API processes, a caller's read can
reach another process than its write; a replica then answers it only when its lag is under the
limit (see docs/replicas.md)."""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.db.replicas import REPLICA, SERVED, ReplicaSet, Served
from server.security import keys

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
PRIMARY_PATHS = frozenset({"/health/ready"})
#: POSTs that only read (a question sent as a body): they may go to a replica too
READ_ONLY_POSTS = re.compile(r"^/analysis/deconfliction$|^/rasters/[^/]+/statistics$")
MAX_WRITERS = 100_000  # remembered writers; past it, the expired ones are dropped


class RecentWriters:
    """Callers who wrote lately, with the time until which their reads go to the primary."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until: dict[str, float] = {}

    def wrote(self, who: str) -> None:
        now = time.monotonic()
        if len(self._until) >= MAX_WRITERS:
            self._until = {k: v for k, v in self._until.items() if v > now}
        self._until[who] = now + self.seconds

    def recent(self, who: str) -> bool:
        until = self._until.get(who)
        return until is not None and until > time.monotonic()


def writer(scope: Scope) -> str:
    """Who calls: the presented key's id (no secret kept), else the client's address."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
               if k.lower() in (b"x-api-key", b"authorization")}
    raw = keys.presented(headers.get("x-api-key"), headers.get("authorization"))
    key_id = keys.key_id(raw.strip()) if raw else None
    if key_id:
        return f"key:{key_id}"
    client = scope.get("client")
    return f"addr:{client[0] if client else '?'}"


class ReplicaRoutingMiddleware:
    def __init__(self, app: ASGIApp, replicas: ReplicaSet, writers: RecentWriters) -> None:
        self.app = app
        self.replicas = replicas
        self.writers = writers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.replicas.replicas:  # no replica configured: every request is the primary's
            await self.app(scope, receive, _primary_role(send))
            return
        who = writer(scope)
        reading = scope["method"] in SAFE or (
            scope["method"] == "POST" and READ_ONLY_POSTS.match(scope["path"]) is not None)
        wants = (reading and bool(self.replicas.replicas) and scope["path"] not in PRIMARY_PATHS
                 and not self.writers.recent(who))
        if not reading:
            self.writers.wrote(who)  # a read racing this write goes to the primary as well
        try:
            if not wants:
                await self._serve(scope, receive, send, Served(False), who)
                return
            messages = _Replayable(receive)
            if await self._serve(scope, messages.first(), send, Served(True), who):
                await self._serve(scope, messages.again(), send, Served(False), who)
        finally:
            if not reading:
                self.writers.wrote(who)  # the window runs from the write's end

    async def _serve(self, scope: Scope, receive: Receive, send: Send, served: Served,
                     who: str) -> bool:
        """Run the request as `served` routes it. A replica's answer that the primary could
        give otherwise is held back and True returned (the caller runs it on the primary): a
        5xx other than a query timeout (the replica failed mid-way), or a 401 for a key (one
        created a moment ago, not replayed there yet). Else False: the answer was sent."""
        held: list[Message] = []
        state = {"hold": False, "started": False}

        async def send_with_role(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                if REPLICA in served.used and (
                        message["status"] >= 500 or
                        (message["status"] == 401 and who.startswith("key:"))):
                    state["hold"] = True
                role = served.role(self.replicas.available())
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"db;desc={role}".encode()))
                message = {**message, "headers": headers}
            if state["hold"]:
                held.append(message)
                return
            await send(message)

        token = SERVED.set(served)
        try:
            await self.app(scope, receive, send_with_role)
        except Exception:
            if REPLICA not in served.used or (state["started"] and not state["hold"]):
                raise
            return True  # nothing sent yet: the primary answers instead
        finally:
            SERVED.reset(token)
        if not held:
            return False
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        if b"query_timeout" in body:  # the primary would take as long: the answer stands
            for message in held:
                await send(message)
            return False
        return True


_PRIMARY_TIMING = (b"server-timing", b"db;desc=primary")


def _primary_role(send: Send) -> Send:
    async def send_with_role(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), _PRIMARY_TIMING]}
        await send(message)

    return send_with_role


class _Replayable:
    """A read's request messages (a question's body), recorded on the first run and given
    again on the second."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.seen: list[Message] = []

    def first(self) -> Receive:
        async def recording() -> Message:
            message = await self.receive()
            self.seen.append(message)
            return message

        return recording

    def again(self) -> Receive:
        queue = list(self.seen)

        async def replaying() -> Message:
            return queue.pop(0) if queue else await self.receive()

        return replaying
