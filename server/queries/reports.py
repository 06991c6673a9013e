"""Violation reports, the incidents they create, and verification steps. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def find_settlements(name: str, *, session: Session, limit: int = 5) -> list[dict[str, Any]]:
    """Settlements whose name, Arabic name or an alternate name equals `name` (any case)."""
    rows = session.execute(text("""
        SELECT id, name, pcode, admin1_pcode, admin2_pcode, admin3_pcode, population,
               ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM settlements
        WHERE lower(name) = lower(:name) OR name_ar = :name OR lower(name_ru) = lower(:name)
           OR lower(:name) = ANY (SELECT lower(a) FROM unnest(alternate_names) a)
        ORDER BY population DESC NULLS LAST, id
        LIMIT :limit
    """), {"name": name, "limit": limit})
    return [dict(r) for r in rows.mappings()]


def near_the_country(lon: float, lat: float, metres: float, *, session: Session) -> bool | None:
    """Whether (lon, lat) lies within `metres` of the loaded admin level 0 areas; None when none
    is loaded (nothing to check against)."""
    return session.execute(text("""
        SELECT CASE WHEN count(*) = 0 THEN NULL
               ELSE bool_or(ST_DWithin(geom::geography,
                                       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :m))
               END
        FROM admin_areas WHERE admin_level = 0
    """), {"lon": lon, "lat": lat, "m": metres}).scalar_one()


def insert_report(values: dict[str, Any], *, session: Session) -> int:
    return int(session.execute(text("""
        INSERT INTO reports (key_id, org, occurred_at, event_type, description, reporting_party,
                             contact, location_name, settlement_id, attachments, geom)
        VALUES (:key_id, :org, :occurred_at, :event_type, :description, :reporting_party,
                :contact, :location_name, :settlement_id, :attachments,
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        RETURNING id
    """), values).scalar_one())


def insert_incident_for_report(report_id: int, geo_precision: str, admin: dict[str, Any],
                               *, session: Session) -> int:
    """A new incident (source 'report', reported, restricted) from a report; links the report."""
    incident_id = int(session.execute(text("""
        INSERT INTO incidents (source, source_id, occurred_at, time_precision, reported_at,
                               event_type, geo_precision, location_name, admin1_pcode,
                               admin2_pcode, admin3_pcode, notes, verification_status,
                               sensitivity, geom)
        SELECT 'report', 'report-' || r.id, r.occurred_at, 'day', r.created_at, r.event_type,
               :geo_precision, r.location_name, :admin1, :admin2, :admin3, r.description,
               'reported', 'restricted', r.geom
        FROM reports r WHERE r.id = :id
        RETURNING id
    """), {"id": report_id, "geo_precision": geo_precision, "admin1": admin.get("admin1_pcode"),
           "admin2": admin.get("admin2_pcode"), "admin3": admin.get("admin3_pcode")}
    ).scalar_one())
    session.execute(text("UPDATE reports SET incident_id = :incident WHERE id = :id"),
                    {"incident": incident_id, "id": report_id})
    return incident_id


def get_report(report_id: int, *, session: Session) -> dict[str, Any] | None:
    row = session.execute(text("""
        SELECT r.id, r.incident_id, r.key_id, r.org, r.occurred_at, r.event_type, r.description,
               r.reporting_party, r.contact, r.location_name, r.settlement_id, r.attachments,
               r.created_at, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
               i.verification_status AS status
        FROM reports r LEFT JOIN incidents i ON i.id = r.incident_id
        WHERE r.id = :id
    """), {"id": report_id}).mappings().one_or_none()
    return dict(row) if row else None


def reports_of_incident(incident_id: int, *, session: Session) -> list[int]:
    return [int(r) for r in session.execute(
        text("SELECT id FROM reports WHERE incident_id = :id ORDER BY id"), {"id": incident_id}
    ).scalars()]


def lock_incident(incident_id: int, *, session: Session) -> dict[str, Any] | None:
    row = session.execute(text("""
        SELECT id, verification_status, sensitivity, duplicate_of
        FROM incidents WHERE id = :id FOR UPDATE
    """), {"id": incident_id}).mappings().one_or_none()
    return dict(row) if row else None


def set_verification(incident_id: int, status: str, sensitivity: str, duplicate_of: int | None,
                     *, session: Session) -> None:
    session.execute(text("""
        UPDATE incidents SET verification_status = :status, sensitivity = :sensitivity,
                             duplicate_of = :duplicate_of, updated_at = now()
        WHERE id = :id
    """), {"id": incident_id, "status": status, "sensitivity": sensitivity,
           "duplicate_of": duplicate_of})


def relink_reports(from_incident: int, to_incident: int, *, session: Session) -> None:
    session.execute(text("UPDATE reports SET incident_id = :to WHERE incident_id = :from"),
                    {"to": to_incident, "from": from_incident})


def insert_step(incident_id: int, from_status: str, to_status: str, duplicate_of: int | None,
                actor: str, reason: str, *, session: Session) -> dict[str, Any]:
    return dict(session.execute(text("""
        INSERT INTO verification_steps (incident_id, from_status, to_status, duplicate_of, actor,
                                        reason)
        VALUES (:incident, :from_status, :to_status, :duplicate_of, :actor, :reason)
        RETURNING id, incident_id, from_status, to_status, duplicate_of, actor, reason, at
    """), {"incident": incident_id, "from_status": from_status, "to_status": to_status,
           "duplicate_of": duplicate_of, "actor": actor, "reason": reason}).mappings().one())


def steps(incident_id: int, *, session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("""
        SELECT id, incident_id, from_status, to_status, duplicate_of, actor, reason, at
        FROM verification_steps WHERE incident_id = :id ORDER BY id
    """), {"id": incident_id})
    return [dict(r) for r in rows.mappings()]

