"""SQL of alerts: subscriptions (area resolved and buffered in PostGIS), the matcher's cursor,
matching new incidents under a subscriber's release rules, alerts and their delivery log.
Identifiers come from constants and the release module; every value is a bound parameter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS
from server.queries.changes import feature_sql
from server.security.release import Release

#: area kind -> SQL selecting its geometry as `geom` (constants only)
_AREAS = {
    "agreement_area": "SELECT geom FROM agreement_areas WHERE id = CAST(:ref AS integer)",
    "admin_area": "SELECT geom FROM admin_areas WHERE pcode = :ref",
    "geometry": "SELECT ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326) AS geom",
}
_SUBSCRIPTION = ("s.id, s.area_kind, s.area_ref, s.buffer_m, s.event_type, "
                 "s.verification_status, s.min_fatalities, s.webhook_url, s.created_at, "
                 "ST_AsGeoJSON(s.geom, 6)::json AS geometry")


def geometry_problem(geojson: str, *, session: Session) -> str | None:
    """Why a drawn GeoJSON polygon cannot be used (None when it can)."""
    sql = """
        SELECT CASE WHEN GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON')
                    THEN 'the geometry must be a Polygon or MultiPolygon'
                    WHEN ST_IsEmpty(g) THEN 'the geometry is empty'
                    WHEN NOT ST_IsValid(g) THEN 'the geometry is not valid: ' || ST_IsValidReason(g)
                    WHEN NOT ST_Within(g, ST_MakeEnvelope(-180, -90, 180, 90, 4326))
                    THEN 'the geometry must be in lon/lat (EPSG:4326)'
               END
        FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326) AS g) x
    """
    problem = session.execute(text(sql), {"geojson": geojson}).scalar_one()
    return str(problem) if problem else None


def create_subscription(*, key_id: str, area_kind: str, area_ref: str | None,
                        geojson: str | None, buffer_m: float, event_type: str | None,
                        verification_status: str | None, min_fatalities: int | None,
                        webhook_url: str, secret_salt: str, session: Session) -> int | None:
    """Insert a subscription with its area resolved and buffered; None if the area is unknown."""
    sql = f"""
        INSERT INTO alert_subscriptions (key_id, area_kind, area_ref, buffer_m, geom, event_type,
                                         verification_status, min_fatalities, webhook_url,
                                         secret_salt)
        SELECT :key_id, :kind, :ref, :buffer_m,
               ST_Multi(CASE WHEN :buffer_m > 0
                             THEN ST_Buffer(a.geom::geography, :buffer_m)::geometry
                             ELSE a.geom END),
               :event_type, :verification_status, :min_fatalities, :webhook_url, :secret_salt
        FROM ({_AREAS[area_kind]}) a
        LIMIT 1
        RETURNING id
    """  # noqa: S608 - the area SQL is a constant chosen by kind
    params = {"key_id": key_id, "kind": area_kind, "ref": area_ref, "geojson": geojson,
              "buffer_m": buffer_m, "event_type": event_type,
              "verification_status": verification_status, "min_fatalities": min_fatalities,
              "webhook_url": webhook_url, "secret_salt": secret_salt}
    new_id = session.execute(text(sql), params).scalar_one_or_none()
    return int(new_id) if new_id is not None else None


def get_subscription(subscription_id: int, *, key_id: str, session: Session
                     ) -> dict[str, Any] | None:
    sql = (f"SELECT {_SUBSCRIPTION} FROM alert_subscriptions s "  # noqa: S608 - constants
           "WHERE s.id = :id AND s.key_id = :key_id")
    row = session.execute(text(sql), {"id": subscription_id, "key_id": key_id}).mappings().first()
    return dict(row) if row else None


def list_subscriptions(*, key_id: str, session: Session) -> list[dict[str, Any]]:
    sql = (f"SELECT {_SUBSCRIPTION} FROM alert_subscriptions s "  # noqa: S608 - constants
           "WHERE s.key_id = :key_id ORDER BY s.id")
    return [dict(r) for r in session.execute(text(sql), {"key_id": key_id}).mappings()]


def delete_subscription(subscription_id: int, *, key_id: str, session: Session) -> bool:
    sql = "DELETE FROM alert_subscriptions WHERE id = :id AND key_id = :key_id RETURNING id"
    return session.execute(text(sql), {"id": subscription_id, "key_id": key_id}).first() is not None


def active_subscriptions(*, session: Session) -> list[Row[Any]]:
    """Subscriptions whose key is neither revoked nor expired, with the key's role and org."""
    sql = """
        SELECT s.id, s.key_id, k.role, k.org
        FROM alert_subscriptions s JOIN api_keys k ON k.id = s.key_id
        WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        ORDER BY s.id
    """
    return list(session.execute(text(sql)))


def lock_cursor(*, session: Session) -> int:
    """The audit sequence number the matcher has read up to, locked for this transaction."""
    session.execute(text("INSERT INTO alert_cursor (id, last_seq) VALUES (1, 0) "
                         "ON CONFLICT (id) DO NOTHING"))
    return int(session.execute(text("SELECT last_seq FROM alert_cursor WHERE id = 1 "
                                    "FOR UPDATE")).scalar_one())


def set_cursor(seq: int, *, session: Session) -> None:
    session.execute(text("UPDATE alert_cursor SET last_seq = greatest(last_seq, :seq) "
                         "WHERE id = 1"), {"seq": seq})


def head_seq(*, session: Session) -> int:
    return int(session.execute(text("SELECT coalesce(max(seq), 0) FROM audit_log")).scalar_one())


def match(subscription_id: int, rel: Release, *, since: int, until: int, session: Session
          ) -> list[int]:
    """Insert one alert per incident written in (since, until] that this subscription's
    principal may see (`rel`), whose visible location is in the area and that passes the filter.
    An incident alerts a subscription once (later edits do not repeat it). Returns alert ids."""
    params: dict[str, Any] = {"sub": subscription_id, "since": since, "until": until,
                              **rel.params}
    feature = feature_sql(COLLECTIONS["incidents"], rel, "t", params)
    sql = f"""
        WITH changed AS (
          SELECT CAST(a.row_id AS bigint) AS id, max(a.seq) AS seq
          FROM audit_log a
          WHERE a.table_name = 'incidents' AND a.seq > :since AND a.seq <= :until
            AND a.after IS NOT NULL
          GROUP BY a.row_id
        )
        INSERT INTO alerts (subscription_id, incident_id, seq, feature)
        SELECT s.id, t.id, c.seq, CAST({feature} AS jsonb)
        FROM changed c
        JOIN incidents t ON t.id = c.id
        JOIN alert_subscriptions s ON s.id = :sub
        WHERE {rel.predicate}
          AND ST_Intersects(s.geom, {rel.geometry})
          AND (s.event_type IS NULL OR t.event_type = s.event_type)
          AND (s.verification_status IS NULL OR t.verification_status = s.verification_status)
          AND (s.min_fatalities IS NULL OR coalesce(t.fatalities, 0) >= s.min_fatalities)
        ORDER BY c.seq
        ON CONFLICT (subscription_id, incident_id) DO NOTHING
        RETURNING id
    """  # noqa: S608 - identifiers from constants and the release module
    return [int(r[0]) for r in session.execute(text(sql), params)]


def claim_due(*, limit: int, lease_seconds: float, session: Session) -> list[Row[Any]]:
    """Pending alerts whose next attempt is due, oldest due first, claimed: their next attempt
    moves `lease_seconds` ahead, so other runners skip them meanwhile (and a runner that dies
    leaves them due again once the lease is over). Commit right after."""
    sql = """
        WITH due AS (
          SELECT id FROM alerts
          WHERE state = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at, id
          LIMIT :limit
          FOR UPDATE SKIP LOCKED
        )
        UPDATE alerts a
        SET next_attempt_at = now() + make_interval(secs => :lease)
        FROM due, alert_subscriptions s
        WHERE a.id = due.id AND s.id = a.subscription_id
        RETURNING a.id, a.subscription_id, a.incident_id, a.seq, a.feature, a.created_at,
                  a.attempts, s.webhook_url, s.secret_salt
    """
    rows = session.execute(text(sql), {"limit": limit, "lease": lease_seconds})
    return sorted(rows, key=lambda r: int(r.id))


def release(alert_ids: list[int], *, session: Session) -> None:
    """Hand claimed alerts back untried: due at once."""
    session.execute(text("UPDATE alerts SET next_attempt_at = now() "
                         "WHERE id = ANY(:ids) AND state = 'pending'"), {"ids": alert_ids})


def record_attempt(alert_id: int, *, attempt: int, status_code: int | None, ok: bool,
                   error: str | None, retry_in: float | None, session: Session) -> bool:
    """Log attempt `attempt` of an alert and settle it: delivered when `ok`, else pending again
    in `retry_in` seconds, else (None) failed. False, and nothing changed, when that attempt
    is already logged (another runner got there first)."""
    logged = session.execute(text("""
        INSERT INTO alert_deliveries (alert_id, attempt, status_code, ok, error)
        VALUES (:alert_id, :attempt, :status_code, :ok, :error)
        ON CONFLICT (alert_id, attempt) DO NOTHING
        RETURNING id
    """), {"alert_id": alert_id, "attempt": attempt, "status_code": status_code, "ok": ok,
           "error": error}).first()
    if logged is None:
        return False
    session.execute(text("""
        UPDATE alerts SET attempts = :attempt,
               state = CASE WHEN :ok THEN 'delivered'
                            WHEN CAST(:retry_in AS double precision) IS NULL THEN 'failed'
                            ELSE 'pending' END,
               delivered_at = CASE WHEN :ok THEN now() ELSE delivered_at END,
               next_attempt_at = CASE WHEN :ok THEN NULL
                                      ELSE now() + make_interval(
                                             secs => CAST(:retry_in AS double precision)) END
        WHERE id = :alert_id AND state = 'pending'
    """), {"alert_id": alert_id, "attempt": attempt, "ok": ok, "retry_in": retry_in})
    return True


def list_alerts(*, key_id: str, after: int, limit: int, session: Session
                ) -> list[dict[str, Any]]:
    sql = """
        SELECT a.id, a.subscription_id, a.incident_id, a.seq, a.state, a.attempts,
               a.created_at, a.delivered_at, a.next_attempt_at, a.feature
        FROM alerts a JOIN alert_subscriptions s ON s.id = a.subscription_id
        WHERE s.key_id = :key_id AND a.id > :after
        ORDER BY a.id
        LIMIT :limit
    """
    rows = session.execute(text(sql), {"key_id": key_id, "after": after, "limit": limit})
    return [dict(r) for r in rows.mappings()]


def list_deliveries(*, key_id: str, after: int, limit: int, session: Session
                    ) -> list[dict[str, Any]]:
    sql = """
        SELECT d.id, d.alert_id, a.subscription_id, d.attempt, d.at, d.status_code, d.ok,
               d.error
        FROM alert_deliveries d
        JOIN alerts a ON a.id = d.alert_id
        JOIN alert_subscriptions s ON s.id = a.subscription_id
        WHERE s.key_id = :key_id AND d.id > :after
        ORDER BY d.id
        LIMIT :limit
    """
    rows = session.execute(text(sql), {"key_id": key_id, "after": after, "limit": limit})
    return [dict(r) for r in rows.mappings()]
