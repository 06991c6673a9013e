"""GET /reports/areas/{area_id}/map.html: the situation-report map of an area, one offline file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server import basemaps
from server.deps import PolicyDep, SessionDep, SettingsDep
from server.security.dependencies import PrincipalDep, vary_by_key
from server.security.headers import page_policy
from server.security.release import release_for
from server.services import sitrep

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/areas/{area_id}/map.html", response_class=Response,
    summary="Situation-report map of an agreement area: a standalone HTML file that opens offline",
    description="The area styled by status, its incidents (inside it or within `buffer` metres) and "
    "aid deliveries in the period, with a legend, a title and attribution. Without start and end "
    "the period is the 30 days after signing (the whole incident range for an unsigned area); "
    "with one of them, 30 days from or up to it.",
    responses={200: {"content": {"text/html": {}}}, 404: {"description": "no such area"},
               400: {"description": "a date or the buffer is not valid"}})
def get_area_map(
    area_id: str,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    principal: PrincipalDep,
    start: Annotated[str | None, Query(description="first day or instant (RFC 3339), "
                                                   "e.g. 2016-02-27")] = None,
    end: Annotated[str | None, Query(description="last day (inclusive) or instant")] = None,
    buffer: Annotated[float, Query(description="search distance around the area, metres "
                                               f"(0..{sitrep.MAX_BUFFER_M:.0f})")]
    = sitrep.DEFAULT_BUFFER_M,
    lang: Annotated[str | None, Query(description="language of the document: en (default), "
                                                  "ar (right to left) or ru")] = None,
) -> Response:
    report = sitrep.area_map(
        area_id,
        sitrep.parse_instant(start, name="start"),
        sitrep.parse_instant(end, name="end", end_of_day=True),
        release_for(principal, "incidents", policy, alias="i"),
        buffer_m=buffer, session=session, lang=sitrep.parse_lang(lang),
        basemap=basemaps.shipped(settings.api.web_dir))
    return Response(report.html, media_type="text/html; charset=utf-8", headers=vary_by_key(
        principal, {"Content-Disposition": f'attachment; filename="{report.filename}"',
                    "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": page_policy(report.html, own_files=False)}))
