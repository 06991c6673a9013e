"""Read replicas: PostgreSQL hot standbys (streaming replication) that take the reads which do
not need the primary.

`ReplicaSet` holds, per URL of `TRUCE_DATABASE_READ_URLS`, the same three pools the primary has
(sessions, autocommit reads, asynchronous reads) and a health state kept by a checker thread:
every `replica_check_seconds` it reads the primary's WAL position and each replica's replayed
position. A replica's lag is the age of the newest primary position it has replayed (so an idle
primary means no lag, and a replica that stops replaying ages by the clock); one further behind
than `max_replica_lag_seconds`, or that does not answer, is taken out and put back when healthy.

At start a reachable URL must be a standby (`pg_is_in_recovery()`) of THIS primary (the same
`system_identifier`): anything else is refused (`ReplicaRefused`), since reads there would not be
this database's. An unreachable one is logged and checked like the others: it takes reads once
it answers (and is what it should be).

The request's choice lives in a context variable (`SERVED`, set by `server.replica_routing`):
`RoutedSessions` and `RoutedAsyncReads` stand where the primary's session factories and
asynchronous pool stood, and hand out a replica's when the request may read from one. A replica
whose connection fails is taken out at once and the read goes to the primary: readers get no 5xx
when a replica stops.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from server.db.async_reads import AsyncReadPool, Statement
from server.db.engine import make_engine, make_read_engine, make_sessionmaker
from server.settings import DatabaseSettings

log = logging.getLogger("truce.replicas")

PRIMARY = "primary"
REPLICA = "replica"
SAMPLES_KEPT = 600  # primary WAL positions remembered (one per check)


class ReplicaRefused(RuntimeError):
    """A read URL that is not a standby of this primary: the API does not start."""


@dataclass
class Served:
    """One request's database routing: whether it may read from a replica, and what served it."""

    wants_replica: bool
    used: set[str] = field(default_factory=set)

    def role(self, replicas_available: bool) -> str:
        if PRIMARY in self.used:
            return PRIMARY
        if REPLICA in self.used:
            return REPLICA
        return REPLICA if self.wants_replica and replicas_available else PRIMARY


SERVED: ContextVar[Served | None] = ContextVar("truce_served", default=None)


def _lsn(text: str | None) -> int | None:
    if text is None:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


def label(url: str) -> str:
    """host:port/database of a URL (no password: for logs and metrics)."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass
class Replica:
    url: str
    label: str
    engine: Engine
    read_engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    async_reads: AsyncReadPool
    healthy: bool = False
    verified: bool = False  # known to be a standby of this primary
    refused: str | None = None  # why it never takes reads (found wrong after start)
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    probe: Any = None  # the checker's own connection

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
        if self.probe is not None:
            with contextlib.suppress(Exception):
                self.probe.close()


class ReplicaSet:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.max_lag = settings.max_replica_lag_seconds
        self.replicas: list[Replica] = []
        for url in settings.read_urls:
            own = settings.model_copy(update={"url": url, "read_urls": []})
            engine = make_engine(own)
            reads = make_read_engine(own, idle_ping_seconds=0.0)  # a stopped replica: seen
            self.replicas.append(Replica(
                url=url, label=label(url), engine=engine, read_engine=reads,
                sessions=make_sessionmaker(engine), read_sessions=make_sessionmaker(reads),
                async_reads=AsyncReadPool(own)))
        self._samples: deque[tuple[float, int]] = deque(maxlen=SAMPLES_KEPT)
        self._primary: Any = None
        self._system_id: str | None = None
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- start and stop ------------------------------------------------------------------

    def start(self) -> None:
        """Check every URL once (refusing a wrong one) and start the checker thread."""
        if not self.replicas:
            return
        self._stop.clear()  # an app's lifespan may be entered again
        if not self._sample_primary():
            log.warning("the primary does not answer: the read replicas are checked once it "
                        "does (until then every read goes to the primary)")
        for replica in self.replicas:
            try:
                self._check(replica, at_start=True)
            except ReplicaRefused:
                self.stop()
                raise
        self._thread = threading.Thread(target=self._run, name="truce-replica-check",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for replica in self.replicas:
            replica.dispose()
        if self._primary is not None:
            with contextlib.suppress(Exception):
                self._primary.close()

    async def close_async(self) -> None:
        for replica in self.replicas:
            await replica.async_reads.close()

    # -- choosing --------------------------------------------------------------------------

    def available(self) -> bool:
        return any(r.healthy for r in self.replicas)

    def candidates(self) -> Iterator[Replica]:
        """The healthy replicas, the next one in turn first."""
        healthy = [r for r in self.replicas if r.healthy]
        if not healthy:
            return iter(())
        start = next(self._turn) % len(healthy)
        return iter(healthy[start:] + healthy[:start])

    def mark_down(self, replica: Replica, reason: str) -> None:
        with self._lock:
            if replica.healthy:
                log.warning("read replica %s taken out: %s", replica.label, reason)
            replica.healthy = False
            replica.reason = reason

    def status(self) -> list[dict[str, Any]]:
        return [{"replica": r.label, "healthy": r.healthy, "lag_seconds": r.lag_seconds,
                 "reason": r.reason} for r in self.replicas]

    # -- checking --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.settings.replica_check_seconds):
            sampled = self._sample_primary()
            for replica in self.replicas:
                try:
                    self._check(replica, at_start=False, sampled=sampled)
                except Exception as exc:  # the checker never dies: the replica is out
                    self.mark_down(replica, f"check failed: {exc}")

    def _sample_primary(self) -> bool:
        try:
            if self._primary is None or self._primary.closed:
                self._primary = psycopg2.connect(_dsn(self.settings.url), connect_timeout=5,
                                                 application_name="truce-replica-check")
                self._primary.autocommit = True
            with self._primary.cursor() as cur:
                if self._system_id is None:
                    cur.execute("SELECT system_identifier::text FROM pg_control_system()")
                    self._system_id = cur.fetchone()[0]
                cur.execute("SELECT pg_current_wal_lsn()::text")
                position = _lsn(cur.fetchone()[0])
        except psycopg2.Error:
            with contextlib.suppress(Exception):
                if self._primary is not None:
                    self._primary.close()
            return False
        if position is not None:
            self._samples.append((time.monotonic(), position))
        return True

    def _lag(self, replayed: int | None) -> float:
        """Seconds since the primary was at a position the replica has not replayed yet."""
        now = time.monotonic()
        if replayed is None or not self._samples:
            return float("inf")
        behind = [t for t, lsn in self._samples if lsn > replayed]
        if not behind:
            return 0.0
        return now - behind[0]

    def _check(self, replica: Replica, *, at_start: bool, sampled: bool = True) -> None:
        if replica.refused is not None:
            return
        if self._system_id is None:  # nothing to compare it with yet
            self.mark_down(replica, "the primary does not answer")
            return
        try:
            if replica.probe is None or replica.probe.closed:
                replica.probe = psycopg2.connect(_dsn(replica.url), connect_timeout=2,
                                                 application_name="truce-replica-check")
                replica.probe.autocommit = True
            with replica.probe.cursor() as cur:
                cur.execute("SELECT pg_is_in_recovery(), "
                            "(SELECT system_identifier::text FROM pg_control_system()), "
                            "pg_last_wal_replay_lsn()::text")
                in_recovery, system_id, replayed = cur.fetchone()
        except psycopg2.Error as exc:
            with contextlib.suppress(Exception):
                if replica.probe is not None:
                    replica.probe.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if at_start:
                log.warning("read replica %s is unreachable (%s): reads go to the primary "
                            "until it answers", replica.label, first)
            self.mark_down(replica, f"unreachable: {first}")
            return
        problem = None
        if not in_recovery:
            problem = (f"{replica.label} is not a standby (pg_is_in_recovery() is false): "
                       "writes there would not reach the primary and the primary's would "
                       "not reach it")
        elif system_id != self._system_id:
            problem = (f"{replica.label} is a standby of another cluster (system identifier "
                       f"{system_id}, the primary's is {self._system_id})")
        if problem is not None:
            message = f"TRUCE_DATABASE_READ_URLS: {problem}; remove it from the list"
            if at_start:
                raise ReplicaRefused(message)
            log.error("%s; it takes no reads", message)
            replica.refused = problem
            self.mark_down(replica, problem)
            return
        replica.verified = True
        lag = self._lag(_lsn(replayed))
        if not sampled and replica.lag_seconds is not None:
            lag = replica.lag_seconds  # the primary did not answer: nothing new to compare
        replica.lag_seconds = None if lag == float("inf") else round(lag, 3)
        if lag > self.max_lag:
            self.mark_down(replica, f"lag {lag:.1f}s over {self.max_lag:g}s")
            return
        with self._lock:
            if not replica.healthy:
                log.info("read replica %s takes reads (lag %.3fs)", replica.label, lag)
            replica.healthy = True
            replica.reason = "ok"


_CONNECTION_ERRORS = (DBAPIError, psycopg2.OperationalError, psycopg2.InterfaceError)


class RoutedSessions:
    """Stands for a `sessionmaker`: a session on a healthy replica when the request may read
    from one (its connection checked out at once, so a replica that just stopped is seen here
    and the primary's session is given instead), else on the primary."""

    def __init__(self, primary: sessionmaker[Session], replicas: ReplicaSet, kind: str) -> None:
        self.primary = primary
        self.replicas = replicas
        self.kind = kind  # "sessions" or "read_sessions": which of the replica's to use

    def __call__(self) -> Session:
        served = SERVED.get()
        if served is not None and served.wants_replica:
            for replica in self.replicas.candidates():
                session: Session = getattr(replica, self.kind)()
                try:
                    session.connection()
                except _CONNECTION_ERRORS as exc:
                    session.close()
                    self.replicas.mark_down(replica, f"connection failed: {exc.__class__.__name__}")
                    continue
                served.used.add(REPLICA)
                return session
        if served is not None:
            served.used.add(PRIMARY)
        return self.primary()


class RoutedAsyncReads(AsyncReadPool):
    """Stands for the primary's `AsyncReadPool` in the same way."""

    def __init__(self, primary: AsyncReadPool, replicas: ReplicaSet) -> None:  # noqa: D107
        self.primary = primary
        self.replicas = replicas

    async def one(self, statement: Statement) -> tuple[Any, ...]:
        served = SERVED.get()
        if served is not None and served.wants_replica:
            for replica in self.replicas.candidates():
                try:
                    row = await replica.async_reads.one(statement)
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    self.replicas.mark_down(replica, f"connection failed: {exc.__class__.__name__}")
                    continue
                served.used.add(REPLICA)
                return row
        if served is not None:
            served.used.add(PRIMARY)
        return await self.primary.one(statement)

    async def close(self) -> None:
        await self.primary.close()
        await self.replicas.close_async()
