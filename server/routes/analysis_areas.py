"""/analysis/areas/...: incidents in and near agreement areas, and compliance per area."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.deps import SessionDep, SettingsDep
from server.params import parse_datetime
from server.routes.analysis_common import (
    AcceptDep,
    AsOf,
    CsvList,
    Dedupe,
    Format,
    ReleaseDep,
    Window,
    id_list,
    list_param,
    table_reply,
)
from server.schemas import analysis as ex
from server.security.release import Release
from server.services import analysis_areas as areas_service
from server.services import analysis_output as output
from server.services.analysis_input import (
    check_distance,
    instant,
)
from server.settings import AnalysisSettings

router = APIRouter(prefix="/analysis", tags=["analysis"])


def _area_incidents(session: Session, rel: Release, ids: list[int] | None, status: str | None,
                    datetime_: str | None, event_type: str | None,
                    verification_status: str | None, distance_m: float, fmt: str,
                    limits: AnalysisSettings, dedupe: bool) -> Response:
    start, end = parse_datetime(datetime_)
    distance = check_distance(distance_m, limits)
    rows = areas_service.incidents_by_area(
        rel, ids=ids, statuses=list_param(status), start=start, end=end, event_types=list_param(event_type),
        verifications=list_param(verification_status), distance_m=distance,
        geometry=fmt == "geojson", session=session, dedupe=dedupe, max_areas=limits.max_rows,
        max_pairs=limits.max_area_pairs)
    meta = {"datetime": datetime_, "distance_m": distance, "dedupe": dedupe}
    if fmt == "csv":
        rows = [areas_service.flatten_summary(r) for r in rows]
    return table_reply(rows, fmt, areas_service.SUMMARY_COLUMNS, meta=meta, name="areas")


_DISTANCE = ("also count incidents outside an area but within this many metres (at most "
             "max_distance_m, 100,000 by default); a ring holding more than max_area_pairs "
             "(area, incident) pairs (25,000 by default) is a 400 naming the limit")
_AREA_INCIDENTS_META = {"datetime": "2016-03-01/2016-06-30", "distance_m": 5000, "dedupe": True}
AREA_INCIDENTS_RESPONSES = ex.responses(
    {**_AREA_INCIDENTS_META, "areas": [ex.AREA_SUMMARY_EXAMPLE]},
    geojson=ex.geojson_example(_AREA_INCIDENTS_META, [ex.AREA_SUMMARY_EXAMPLE],
                               ex.AREA_POLYGON_EXAMPLE),
    csv_text=ex.csv_example([ex.AREA_SUMMARY_ROW_EXAMPLE], areas_service.SUMMARY_COLUMNS))


@router.get("/areas/incidents", response_class=Response,
            summary="Incidents inside and within distance_m of every agreement area, before and "
                    "after signing, by event type and verification status",
            description=areas_service.__doc__ or "", responses=AREA_INCIDENTS_RESPONSES)
def areas_incidents(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    distance_m: Annotated[float, Query(ge=0, description=_DISTANCE)] = 0,
    status: CsvList = None, event_type: CsvList = None, verification_status: CsvList = None,
    area_id: Annotated[str | None, Query(
        description="comma-separated ids; one answer lists at most max_rows areas (10,000 by "
                    "default): more is a 400, choose them with area_id or status")] = None,
    f: Format = None, accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    return _area_incidents(session, rel, id_list(area_id), status, datetime, event_type,
                           verification_status, distance_m, fmt, settings.analysis, dedupe)


@router.get("/areas/{area_id}/incidents", response_class=Response,
            summary="Incidents inside and near one agreement area",
            responses={**AREA_INCIDENTS_RESPONSES, 404: {}})
def area_incidents(
    area_id: int, session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    distance_m: Annotated[float, Query(ge=0, description=_DISTANCE)] = 0,
    event_type: CsvList = None, verification_status: CsvList = None, f: Format = None,
    accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    return _area_incidents(session, rel, [area_id], None, datetime, event_type,
                           verification_status, distance_m, fmt, settings.analysis, dedupe)


_COMPLIANCE_META = {"at": "2016-05-24T00:00:00+00:00", "sort": "risk", "weeks_before": 8,
                    "recent_weeks": 4, "dedupe": True}


@router.get("/areas/compliance", response_class=Response,
            summary="Compliance per agreement area: weekly violation rates since signing vs "
                    "before, days since the last confirmed violation, trend, risk",
            description=areas_service.__doc__ or "",
            responses=ex.responses(
                {**_COMPLIANCE_META, "areas": [ex.COMPLIANCE_EXAMPLE]},
                geojson=ex.geojson_example(_COMPLIANCE_META, [ex.COMPLIANCE_EXAMPLE],
                                           ex.AREA_POLYGON_EXAMPLE),
                csv_text=ex.csv_example([ex.COMPLIANCE_EXAMPLE],
                                        areas_service.COMPLIANCE_COLUMNS)))
def areas_compliance(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    at: AsOf = None,
    weeks_before: Annotated[int, Query(ge=1, le=520)] = 8,
    recent_weeks: Annotated[int, Query(ge=1, le=52)] = 4,
    status: CsvList = None,
    area_id: Annotated[str | None, Query(
        description="comma-separated ids; a caller under release rules is counted live, and "
                    "areas holding more than max_area_pairs (area, incident) pairs (25,000 by "
                    "default) are a 400 naming the limit: choose them")] = None,
    sort: Annotated[str, Query(description="risk (default), rate_after, rate_recent, change, "
                               "days_since_last_confirmed, name, id")] = "risk",
    order: Annotated[Literal["asc", "desc"] | None, Query(
        description="default desc for rates and risk, asc for names, ids and days")] = None,
    f: Format = None, accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    when = instant(at)
    descending = order == "desc" if order else sort in ("risk", "rate_after", "rate_recent",
                                                        "change")
    rows = areas_service.compliance(rel, ids=id_list(area_id), statuses=list_param(status), at=when,
                                    weeks_before=weeks_before, recent_weeks=recent_weeks,
                                    sort=sort, descending=descending, session=session,
                                    geometry=fmt == "geojson", dedupe=dedupe,
                                    max_pairs=settings.analysis.max_area_pairs)
    meta = {"at": when.isoformat(), "sort": sort, "weeks_before": weeks_before,
            "recent_weeks": recent_weeks, "dedupe": dedupe}
    return table_reply(rows, fmt, areas_service.COMPLIANCE_COLUMNS, meta=meta, name="areas")
