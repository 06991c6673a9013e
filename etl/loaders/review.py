"""The reviewer's side of the quarantine (accept, discard) and the runs whose process died."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, text

from .postgis import RUN_LOCK


def accepted_keys(conn: Connection, *, layer: str, source: str) -> set[str]:
    """Row keys of quarantined rows a reviewer accepted that have not loaded yet."""
    return set(conn.execute(text(
        "SELECT row_key FROM quarantine WHERE layer = :layer AND source = :source "
        "AND review = 'accepted' AND resolved_by_run_id IS NULL AND row_key IS NOT NULL"),
        {"layer": layer, "source": source}).scalars())


def resolve_accepted(conn: Connection, keys: list[str], *, layer: str, source: str,
                     run_id: int) -> None:
    """Accepted rows that this run loaded are resolved by it."""
    if keys:
        conn.execute(text(
            "UPDATE quarantine SET resolved_at = now(), resolved_by_run_id = :run_id "
            "WHERE layer = :layer AND source = :source AND review = 'accepted' "
            "AND resolved_by_run_id IS NULL AND row_key = ANY(:keys)"),
            {"run_id": run_id, "layer": layer, "source": source, "keys": keys})


REVIEWS = ("accepted", "discarded")


def review(conn: Connection, quarantine_id: int, *, action: str, reason: str,
           reviewed_by: str) -> dict[str, Any] | None:
    """Accept (the row loads on the next run of its file) or discard (closed) one quarantined
    row, recorded in quarantine_reviews (audited); None when there is no open row `id`."""
    row = conn.execute(text(
        "UPDATE quarantine SET review = :action, reviewed_by = :by, reviewed_at = now(), "
        "review_reason = :reason, "
        "resolved_at = CASE WHEN :action = 'discarded' THEN now() ELSE resolved_at END "
        "WHERE id = :id AND resolved_by_run_id IS NULL "
        "RETURNING id, layer, source, source_path, record_number, review, reviewed_by, "
        "reviewed_at, review_reason"),
        {"id": quarantine_id, "action": action, "by": reviewed_by, "reason": reason}
    ).mappings().first()
    if row is None:
        return None
    conn.execute(text(
        "INSERT INTO quarantine_reviews (quarantine_id, action, reason, reviewed_by) "
        "VALUES (:id, :action, :reason, :by)"),
        {"id": quarantine_id, "action": action, "reason": reason, "by": reviewed_by})
    return dict(row)


def reap_runs(engine: Engine) -> list[int]:
    """Mark `interrupted` every run still `running` whose process is gone (its lock free):
    the process died (killed, power cut) before it could record how the run ended."""
    with engine.begin() as conn:
        return [int(i) for i in conn.execute(text(f"""
            UPDATE etl_runs SET status = 'interrupted', finished_at = now(),
                   rows_loaded = 0, rows_updated = 0, rows_unchanged = 0,
                   rows_quarantined = 0, rows_repaired = 0,
                   error = 'the process running it ended before the run finished; '
                           'nothing was changed: load the file again'
            WHERE id IN (SELECT id FROM etl_runs WHERE status = 'running')
              AND pg_try_advisory_xact_lock({RUN_LOCK}, CAST(id & 2147483647 AS int))
            RETURNING id
        """)).scalars()]  # noqa: S608 - constants
