"""Ending a load by a signal (SIGINT, SIGTERM): the statement running in the database is
cancelled at once, the load's transaction rolled back and its run recorded as `interrupted`.

Python runs a signal handler only between bytecodes of the main thread, and a load's main thread
may be waiting in libpq for a statement that runs for minutes (the server would go on running it,
holding its locks, after the process is gone). So `handle_signals` also wakes a watcher thread
through `signal.set_wakeup_fd`, which cancels the statements of the connections registered with
`cancellable` (libpq's cancel request is safe from any thread); the main thread then gets the
database's error back, and the handler raises `Interrupted` there.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_active: list[Any] = []  # DBAPI connections running a load
_received: list[int] = []


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """The process was asked to stop (a BaseException, so no `except Exception` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def received() -> int | None:
    """The first signal that ended the load, if one did."""
    return _received[0] if _received else None


def _cancel_all() -> None:
    for dbapi in list(_active):
        try:
            dbapi.cancel()
        except Exception:  # noqa: S110 - a closed connection has nothing to cancel
            pass


@contextmanager
def cancellable(dbapi_connection: Any) -> Iterator[None]:
    """While the block runs, a signal cancels the statement `dbapi_connection` runs."""
    _active.append(dbapi_connection)
    try:
        if _received:  # a signal came before the connection was registered
            raise Interrupted(_received[0])
        yield
    finally:
        _active.remove(dbapi_connection)


@contextmanager
def handle_signals(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM cancel the running statements and raise
    `Interrupted` in the main thread (once; a second signal only cancels again)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def handler(signum: int, _frame: Any) -> None:
        first = not _received
        _received.append(signum)
        if first:
            raise Interrupted(signum)

    def watch() -> None:
        while True:
            data = os.read(read_fd, 64)
            if not data or b"\xff" in data:
                return
            _cancel_all()

    previous = {s: signal.signal(s, handler) for s in signums}
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="truce-etl-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        os.write(write_fd, b"\xff")
        watcher.join(timeout=5)
        os.close(write_fd)
        os.close(read_fd)
