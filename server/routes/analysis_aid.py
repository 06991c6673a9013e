"""/analysis/aid-gaps and /analysis/aid-risk: places without recent aid, deliveries near incidents."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.params import parse_datetime
from server.routes.analysis_common import (
    POINT,
    AcceptDep,
    AsOf,
    Dedupe,
    Format,
    ReleaseDep,
    Window,
    table_reply,
)
from server.schemas import analysis as ex
from server.services import analysis_more as more
from server.services import analysis_output as output
from server.services.analysis_input import (
    check_distance,
    instant,
)

router = APIRouter(prefix="/analysis", tags=["analysis"])


_GAP_COLUMNS = ["id", "name", "name_ar", "population", "area_id", "area_name",
                "last_delivery_at", "days_without_delivery", "nearest_recent_delivery_m",
                "nearest_recent_delivery_id", "priority"]
_GAP_META = {"at": "2016-06-30T00:00:00+00:00", "days": 30, "by": "settlement"}


@router.get("/aid-gaps", response_class=Response,
            summary="Signed settlements (or areas) without a delivery in the last `days` days, "
                    "weighted by population, with the nearest recent delivery (at most "
                    "max_rows, 10,000 by default: those of highest priority)",
            description=more.__doc__ or "",
            responses=ex.responses(
                {**_GAP_META, "places": [ex.AID_GAP_EXAMPLE]},
                geojson=ex.geojson_example(_GAP_META, [ex.AID_GAP_EXAMPLE], POINT),
                csv_text=ex.csv_example([ex.AID_GAP_EXAMPLE], _GAP_COLUMNS)))
def aid_gaps(
    session: SessionDep, settings: SettingsDep, at: AsOf = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
    by: Annotated[Literal["settlement", "area"], Query()] = "settlement",
    radius_m: Annotated[float, Query(ge=0, le=50_000, description="a delivery this close to a "
                                     "settlement reached it")] = 2000,
    f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    when = instant(at)
    rows = more.aid_gaps(by=by, at=when, days=days, radius_m=radius_m,
                         limit=settings.analysis.max_rows, session=session)
    columns = (_GAP_COLUMNS if by == "settlement" else
               ["id", "name", "status", "signed_at", "population", *_GAP_COLUMNS[6:]])
    return table_reply(rows, fmt, columns, meta={"at": when.isoformat(), "days": days, "by": by},
                       name="places")


_RISK_COLUMNS = ["id", "delivered_at", "method", "cargo_type", "organisation", "location_name",
                 "settlement_id", "agreement_area_id", "incidents", "fatalities",
                 "nearest_incident_m", "closest_incident_hours", "incident_ids"]
_RISK_META = {"distance_m": 5000, "hours": 24, "dedupe": True}


@router.get("/aid-risk", response_class=Response,
            summary="Aid deliveries within distance_m metres and `hours` hours of an incident",
            responses=ex.responses(
                {**_RISK_META, "deliveries": [ex.AID_RISK_EXAMPLE]},
                geojson=ex.geojson_example(_RISK_META, [ex.AID_RISK_EXAMPLE], POINT),
                csv_text=ex.csv_example([ex.AID_RISK_EXAMPLE], _RISK_COLUMNS)))
def aid_risk(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    distance_m: Annotated[float, Query(ge=0, description="at most max_distance_m (100,000 by "
                                       "default); at most max_rows deliveries are listed, "
                                       "those with most incidents")] = 5000,
    hours: Annotated[float, Query(gt=0, le=24 * 365)] = 24,
    datetime: Window = None, f: Format = None, accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    start, end = parse_datetime(datetime)
    distance = check_distance(distance_m, settings.analysis)
    rows = more.aid_risk(rel, distance_m=distance, hours=hours, start=start, end=end,
                         limit=settings.analysis.max_rows, session=session, dedupe=dedupe)
    return table_reply(rows, fmt, _RISK_COLUMNS,
                       meta={"distance_m": distance, "hours": hours, "dedupe": dedupe},
                       name="deliveries")
