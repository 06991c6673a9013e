"""Violation reports (POST /reports, GET /reports/{id}) and the verification workflow
(POST/GET /incidents/{id}/verification)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request
from pydantic import ValidationError

from server.deps import SessionDep
from server.errors import InvalidQueryError
from server.routes.alerts import run_after_write
from server.schemas.reports import ReportIn, VerificationIn
from server.security.dependencies import require_roles
from server.security.principal import Principal, Role
from server.services import reports as service

router = APIRouter(tags=["reports and verification"])
Submitter = Annotated[Principal, Depends(require_roles(Role.REPORTER, Role.PARTNER, Role.ANALYST,
                                                       Role.PLANNER, Role.ADMIN))]
AnyKey = Submitter
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.ADMIN))]
ID = Annotated[int, Path(ge=1, le=2**62)]
FORM = ("application/x-www-form-urlencoded",)


def _invalid(exc: ValidationError) -> InvalidQueryError:
    errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
              for e in exc.errors()]
    where = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors)
    return InvalidQueryError(f"invalid report: {where}", errors=errors)


async def _report_body(request: Request) -> ReportIn:
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in FORM:
            form: dict[str, Any] = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            links = form.pop("attachments", None)
            if links:
                form["attachments"] = [u.strip() for u in links.split() if u.strip()]
            return ReportIn.model_validate(form)
        body = orjson.loads(raw)
        if not isinstance(body, dict):
            raise InvalidQueryError("the body must be a JSON object or a GeoJSON Feature")
        if body.get("type") == "Feature":
            return ReportIn.from_feature(body)
        return ReportIn.model_validate(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidQueryError(f"the body is not JSON: {exc}") from None
    except ValidationError as exc:
        raise _invalid(exc) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidQueryError(f"invalid report: {exc}") from None


@router.post(
    "/reports", status_code=201, summary="Submit a violation report",
    description="A GeoJSON Feature (Point geometry; properties as below), a JSON object, or form "
    "fields. Location by lon/lat or a settlement name from the gazetteer. The report creates an "
    "incident (reported, restricted) that analysts verify; the answer gives the report's id.",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": ReportIn.model_json_schema()},
        "application/geo+json": {"schema": {"type": "object"}},
        "application/x-www-form-urlencoded": {"schema": ReportIn.model_json_schema()}}}},
)
async def submit_report(request: Request, principal: Submitter, session: SessionDep,
                        background: BackgroundTasks) -> dict[str, Any]:
    report = await _report_body(request)
    created = service.submit(report, principal, session=session)
    background.add_task(run_after_write, request.app)  # alerts for the new incident
    return created


@router.get("/reports/{report_id}", summary="A report: its submitter and analysts only")
def get_report(report_id: ID, principal: AnyKey, session: SessionDep) -> dict[str, Any]:
    return service.get(report_id, principal, session=session)


@router.post("/incidents/{incident_id}/verification", summary="Move an incident's verification "
             "status (analysts): reported -> under_review -> confirmed | rejected | duplicate")
def verify_incident(incident_id: ID, step: VerificationIn, principal: AnyKey,
                    session: SessionDep, request: Request, background: BackgroundTasks
                    ) -> dict[str, Any]:
    moved = service.verify(incident_id, step, principal, session=session)
    background.add_task(run_after_write, request.app)  # a confirmation releases it to partners
    return moved


@router.get("/incidents/{incident_id}/verification",
            summary="An incident's verification record and linked reports (analysts)")
def get_verification(incident_id: ID, principal: Analyst, session: SessionDep) -> dict[str, Any]:
    return service.steps(incident_id, principal, session=session)
