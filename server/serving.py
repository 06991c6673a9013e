"""How uvicorn serves the app: timeouts and connection caps, shared by `truce serve` and the
tests' live server (`uvicorn_options`).

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) and caps all connections
(`limit_concurrency`, 503), but has no timeout on a request's headers: a client sending them one
byte at a time holds its connection forever, as does a client stalling in the middle of a body the
app does not read. `GuardedProtocol` (uvicorn's own HTTP protocol, httptools or h11, with a timer)
closes the first after `header_timeout_seconds` with a 408, the second once the body read
timeout has passed (the app's own reads get 408 from `BodyLimitMiddleware` before that), and caps
the connections one client address holds open at once (429).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from server.settings import ApiSettings


def _raw_json(status: str, code: str, description: str) -> bytes:
    body = json.dumps({"code": code, "description": description}).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n"
            "x-content-type-options: nosniff\r\n\r\n").encode() + body


class _Guard(asyncio.Protocol):
    """The timers and the per-client count, mixed into uvicorn's HTTP protocol class."""

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0
    per_client: ClassVar[int | None] = None
    open_by_client: ClassVar[Counter[str]]
    # set by uvicorn's protocol classes
    cycle: Any
    client: tuple[str, int] | None
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._seen: Any = None
        self._host = self.client[0] if self.client else None
        self._counted = False
        if self.per_client is not None and self._host is not None:
            if self.open_by_client[self._host] >= self.per_client:
                self.transport.write(_raw_json(
                    "429 Too Many Requests", "too_many_connections",
                    f"more than {self.per_client} open connections from one address"))
                self.transport.close()
                return
            self.open_by_client[self._host] += 1
            self._counted = True
        self._arm(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted and self._host is not None:
            self._counted = False
            self.open_by_client[self._host] -= 1
            if self.open_by_client[self._host] <= 0:
                del self.open_by_client[self._host]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        between = self.cycle is None or self.cycle.response_complete
        if between and self._timer is None:  # the first bytes of a new request
            self._arm(self.header_timeout, self._headers_late)
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen:  # its headers are complete
            self._seen = cycle
            self._disarm()
            if cycle.more_body:
                self._arm(self.body_timeout + 1.0, self._body_late)
        elif cycle is not None and not cycle.more_body and self._timer is not None \
                and not between:
            self._disarm()  # the body arrived whole

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.transport.write(_raw_json(
                "408 Request Timeout", "request_timeout",
                f"the request headers were not received within {self.header_timeout:g} s"))
            self.transport.close()

    def _body_late(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is self._seen and cycle is not None and cycle.more_body \
                and not self.transport.is_closing():
            self.transport.close()  # the app did not read it: nobody is left to answer


def guarded_protocol(api: ApiSettings) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class with the header timer, the body backstop and the per-client
    cap of `api`; each call makes a class with a count of its own."""
    return type("GuardedProtocol", (_Guard, AutoHTTPProtocol), {
        "header_timeout": api.header_timeout_seconds, "body_timeout": api.body_timeout_seconds,
        "per_client": api.max_connections_per_client, "open_by_client": Counter()})


def uvicorn_options(api: ApiSettings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.Config` / `uvicorn.run` for `api`'s limits."""
    return {"http": guarded_protocol(api), "timeout_keep_alive": api.keep_alive_seconds,
            "limit_concurrency": api.max_connections}


def worker_app() -> Any:
    """The app of one of `truce serve --workers N`'s processes, from TRUCE_* variables."""
    from server.main import create_app
    from server.request_id import install_json_logging

    install_json_logging()
    return create_app()


_FROM_ENV: list[type[asyncio.Protocol]] = []


def __getattr__(name: str) -> Any:
    """`GuardedFromEnv`: the guarded protocol class of this process's ApiSettings (read from
    TRUCE_API_* variables), made once; uvicorn imports it by name in each worker process."""
    if name != "GuardedFromEnv":
        raise AttributeError(name)
    if not _FROM_ENV:
        _FROM_ENV.append(guarded_protocol(ApiSettings()))
    return _FROM_ENV[0]
