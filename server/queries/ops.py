"""Operations: the schema's migration revision and the counts /metrics reports from the database."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.db.tables.alerts import alert_deliveries, alerts
from server.db.tables.etl_runs import etl_runs

ROW_OUTCOMES = ("read", "loaded", "updated", "unchanged", "quarantined", "repaired")


def migration_revisions(*, session: Session) -> set[str]:
    """The revisions recorded in `alembic_version` (empty when never migrated)."""
    if session.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return set()
    return {str(r) for r in session.execute(text("SELECT version_num FROM alembic_version")).scalars()}


def etl_runs_by_status(*, session: Session) -> list[dict[str, object]]:
    """Per run status: the number of runs and the rows by outcome."""
    sums = [func.coalesce(func.sum(etl_runs.c[f"rows_{o}"]), 0).label(o) for o in ROW_OUTCOMES]
    query = select(etl_runs.c.status, func.count().label("runs"), *sums).group_by(etl_runs.c.status)
    return [dict(row._mapping) for row in session.execute(query)]


def alerts_by_state(*, session: Session) -> dict[str, int]:
    query = select(alerts.c.state, func.count()).group_by(alerts.c.state)
    return {str(state): int(n) for state, n in session.execute(query).all()}


def delivery_attempts_by_outcome(*, session: Session) -> dict[str, int]:
    query = select(alert_deliveries.c.ok, func.count()).group_by(alert_deliveries.c.ok)
    return {"ok" if ok else "error": int(n) for ok, n in session.execute(query).all()}
