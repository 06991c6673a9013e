"""Operations: readiness (database answers, migrations current; checked at most every few
seconds) and the /metrics document."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.db.migrate import head_revisions
from server.metrics import Exposition, RequestMetrics
from server.queries import ops as q


@dataclass
class Readiness:
    """The last readiness answer, reused for `ttl` seconds so probes never load the database."""

    ttl: float = 5.0
    _checked: float = field(default=-1e9)
    _answer: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _heads: set[str] | None = None

    def cached(self) -> dict[str, Any] | None:
        """The last answer while it is fresh (no lock, no database), else None."""
        if time.monotonic() - self._checked < self.ttl:
            return self._answer
        return None

    def check(self, sessions: sessionmaker[Session]) -> dict[str, Any]:
        with self._lock:  # one check at a time; the others wait for its answer
            now = time.monotonic()
            if now - self._checked >= self.ttl:
                self._answer = self._probe(sessions)
                self._checked = time.monotonic()
            return self._answer

    def _probe(self, sessions: sessionmaker[Session]) -> dict[str, Any]:
        if self._heads is None:
            self._heads = head_revisions()
        try:
            with sessions() as session:
                found = q.migration_revisions(session=session)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()
            return {"ready": False, "database": "unreachable",
                    "description": f"the database is not reachable: {reason[0] if reason else exc}"}
        if found != self._heads:
            return {"ready": False, "database": "reachable", "migrations": "behind",
                    "description": f"the schema is at {sorted(found) or 'no revision'}, the code "
                                   f"needs {sorted(self._heads)}: run 'truce migrate'"}
        return {"ready": True, "database": "reachable", "migrations": "current"}


def _pool(engine: Engine | None, name: str) -> list[tuple[dict[str, str], float]]:
    pool = getattr(engine, "pool", None)
    if pool is None or not hasattr(pool, "checkedout"):
        return []
    return [({"pool": name, "state": "in_use"}, pool.checkedout()),
            ({"pool": name, "state": "idle"}, pool.checkedin()),
            ({"pool": name, "state": "size"}, pool.size())]


def _database(out: Exposition, sessions: sessionmaker[Session] | None) -> None:
    try:
        if sessions is None:
            raise SQLAlchemyError("no engine")
        with sessions() as session:
            runs = q.etl_runs_by_status(session=session)
            states = q.alerts_by_state(session=session)
            attempts = q.delivery_attempts_by_outcome(session=session)
    except SQLAlchemyError:
        out.family("truce_database_up", "gauge", "1 when the database answered this scrape",
                   [({}, 0)])
        return
    out.family("truce_database_up", "gauge", "1 when the database answered this scrape", [({}, 1)])
    out.family("truce_etl_runs", "gauge", "ETL runs recorded, by status",
               (({"status": str(r["status"])}, float(r["runs"])) for r in runs))  # type: ignore[arg-type]
    out.family("truce_etl_rows", "gauge", "rows of the recorded ETL runs, by run status and "
               "outcome (read = loaded + updated + unchanged + quarantined)",
               (({"status": str(r["status"]), "outcome": o}, float(r[o]))  # type: ignore[arg-type]
                for r in runs for o in q.ROW_OUTCOMES))
    out.family("truce_alerts", "gauge", "alerts, by delivery state (pending, delivered, failed)",
               (({"state": s}, n) for s, n in sorted(states.items())))
    out.family("truce_alert_delivery_attempts", "gauge", "webhook POSTs made, by outcome "
               "(ok: a 2xx answer; error: anything else)",
               (({"outcome": o}, n) for o, n in sorted(attempts.items())))


def metrics_text(state: Any) -> str:
    """The whole exposition document, from the app's state."""
    out = Exposition()
    requests: RequestMetrics = state.request_metrics
    requests.write(out)
    out.family("truce_db_pool_connections", "gauge",
               "database pool connections, by pool and state (in_use, idle, size)",
               [*_pool(getattr(state, "engine", None), "sessions"),
                *_pool(getattr(state, "read_engine", None), "reads")])
    cache = getattr(state, "tile_cache", None)
    out.family("truce_tile_cache_hits_total", "counter", "vector tiles served from the cache",
               [({}, getattr(cache, "hits", 0))])
    out.family("truce_tile_cache_misses_total", "counter", "vector tiles not in the cache",
               [({}, getattr(cache, "misses", 0))])
    admission = getattr(state, "admission", None)
    if admission is not None:
        admission.write(out)
    replicas = getattr(state, "replicas", None)
    rows = replicas.status() if replicas is not None else []
    out.family("truce_db_replica_healthy", "gauge", "1 when a read replica takes reads (it "
               "answers and its lag is under the limit)",
               [({"replica": r["replica"]}, 1 if r["healthy"] else 0) for r in rows])
    out.family("truce_db_replica_lag_seconds", "gauge", "how far each read replica's replay is "
               "behind the primary (unknown while it does not answer: left out)",
               [({"replica": r["replica"]}, r["lag_seconds"]) for r in rows
                if r["lag_seconds"] is not None])
    _database(out, getattr(state, "sessionmaker", None))
    return out.text()
