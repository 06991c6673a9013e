"""Violation reports and the verification workflow: rules and transactions; no SQL, no HTTP.

reported -> under_review -> confirmed | rejected | duplicate; a closed incident can be reopened
(-> under_review). Only analysts and admins move an incident; every step keeps who, when, why,
and the incident's change lands in the audit log under the same actor."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.errors import ConflictError, ForbiddenError, InvalidQueryError, NotFoundError
from server.queries import audit as audit_q
from server.queries import reports as q
from server.schemas.reports import ReportIn, VerificationIn
from server.security.principal import Principal

TRANSITIONS: dict[str, frozenset[str]] = {
    "reported": frozenset({"under_review"}),
    "under_review": frozenset({"confirmed", "rejected", "duplicate"}),
    "confirmed": frozenset({"under_review"}),
    "rejected": frozenset({"under_review"}),
    "duplicate": frozenset({"under_review"}),
}
#: a report's point must lie in the country the centre watches (the loaded admin level 0 areas)
#: or this close to its border: the ETL's default area of interest and buffer
AREA_BUFFER_M = 5_000.0
#: what a report's submitter sees of it (identity and contact are the submitter's own)
SUBMITTER_FIELDS = ("id", "status", "incident_id", "occurred_at", "event_type", "description",
                    "location_name", "lon", "lat", "attachments", "reporting_party", "contact",
                    "created_at")


def submit(report: ReportIn, principal: Principal, *, session: Session) -> dict[str, Any]:
    """Store the report, create its incident (reported, restricted); return id and status."""
    lon, lat, settlement_id, admin = report.lon, report.lat, None, {}
    location_name = report.location_name
    if lon is not None and lat is not None \
            and q.near_the_country(lon, lat, AREA_BUFFER_M, session=session) is False:
        raise InvalidQueryError(
            f"the place ({lon}, {lat}) lies outside the area the centre monitors (the country "
            f"and {AREA_BUFFER_M / 1000:g} km around it); check the coordinates",
            errors=[{"loc": ["lon", "lat"], "msg": "outside the area of interest",
                     "type": "outside_area_of_interest"}])
    if report.settlement:
        found = q.find_settlements(report.settlement, session=session)
        if not found:
            if lon is None:
                raise InvalidQueryError(f"no settlement named {report.settlement!r} in the "
                                        "gazetteer; give lon and lat instead")
        elif len({(f["lon"], f["lat"]) for f in found}) > 1 and lon is None:
            raise InvalidQueryError(
                f"{report.settlement!r} names several settlements; give lon and lat, or the "
                "pcode of one", candidates=[{k: f[k] for k in ("name", "pcode", "lon", "lat")}
                                            for f in found])
        else:
            settlement_id, admin = found[0]["id"], found[0]
            location_name = location_name or found[0]["name"]
            if lon is None:
                lon, lat = found[0]["lon"], found[0]["lat"]
    audit_q.set_actor(principal.actor, session=session)
    report_id = q.insert_report({
        "key_id": principal.key_id, "org": principal.org, "occurred_at": report.occurred_at,
        "event_type": report.event_type.lower(), "description": report.description,
        "reporting_party": report.reporting_party, "contact": report.contact,
        "location_name": location_name, "settlement_id": settlement_id,
        "attachments": [str(a) for a in report.attachments], "lon": lon, "lat": lat,
    }, session=session)
    precision = "exact" if report.lon is not None else "settlement"
    incident_id = q.insert_incident_for_report(report_id, precision, admin, session=session)
    session.commit()
    return {"id": report_id, "incident_id": incident_id, "status": "reported"}


def get(report_id: int, principal: Principal, *, session: Session) -> dict[str, Any]:
    """Analysts see everything; the submitter sees its own report; nobody else learns it exists."""
    row = q.get_report(report_id, session=session)
    if row is None:
        raise NotFoundError(f"no report {report_id}")
    if principal.is_analyst:
        return row
    if principal.key_id is None or row["key_id"] != principal.key_id:
        raise NotFoundError(f"no report {report_id}")
    return {k: row[k] for k in SUBMITTER_FIELDS}


def verify(incident_id: int, step: VerificationIn, principal: Principal, *, session: Session
           ) -> dict[str, Any]:
    if not principal.is_analyst:
        raise ForbiddenError("only analysts and admins verify incidents")
    current = q.lock_incident(incident_id, session=session)
    if current is None:
        raise NotFoundError(f"no incident {incident_id}")
    before = current["verification_status"]
    if step.status not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(TRANSITIONS[before])) or "none"
        raise ConflictError(f"incident {incident_id} is {before}; it can move to: {allowed}",
                            allowed=sorted(TRANSITIONS[before]))
    duplicate_of = None
    if step.status == "duplicate":
        if step.duplicate_of is None:
            raise InvalidQueryError("a duplicate needs duplicate_of: the incident it duplicates")
        if step.duplicate_of == incident_id:
            raise InvalidQueryError("an incident cannot duplicate itself")
        original = q.lock_incident(step.duplicate_of, session=session)
        if original is None:
            raise InvalidQueryError(f"duplicate_of: no incident {step.duplicate_of}")
        if original["verification_status"] == "duplicate":
            raise InvalidQueryError(f"incident {step.duplicate_of} is itself a duplicate of "
                                    f"{original['duplicate_of']}; link to that one")
        duplicate_of = step.duplicate_of
    elif step.duplicate_of is not None:
        raise InvalidQueryError("duplicate_of is only for status 'duplicate'")
    if step.sensitivity == "public" and step.status != "confirmed":
        raise InvalidQueryError("only a confirmed incident can be released (sensitivity public)")
    sensitivity = step.sensitivity or current["sensitivity"]
    audit_q.set_actor(principal.actor, session=session)
    q.set_verification(incident_id, step.status, sensitivity, duplicate_of, session=session)
    if duplicate_of is not None:
        q.relink_reports(incident_id, duplicate_of, session=session)
    record = q.insert_step(incident_id, before, step.status, duplicate_of, principal.actor,
                           step.reason, session=session)
    session.commit()
    return {**record, "sensitivity": sensitivity}


def steps(incident_id: int, principal: Principal, *, session: Session) -> dict[str, Any]:
    if not principal.is_analyst:
        raise ForbiddenError("only analysts and admins read the verification record")
    current = q.lock_incident(incident_id, session=session)
    if current is None:
        raise NotFoundError(f"no incident {incident_id}")
    session.rollback()
    return {"incident_id": incident_id, "status": current["verification_status"],
            "sensitivity": current["sensitivity"], "duplicate_of": current["duplicate_of"],
            "reports": q.reports_of_incident(incident_id, session=session),
            "steps": q.steps(incident_id, session=session)}
