"""What the /analysis/ route modules share: the caller's release of incidents, the common query
parameters, and the JSON / GeoJSON / CSV replies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, Header, Query
from fastapi.responses import Response

from server.deps import PolicyDep
from server.params import BBOX, DATETIME, DateTime, parse_bbox, parse_datetime
from server.schemas import analysis as ex
from server.security.dependencies import VARY, PrincipalDep
from server.security.release import Release, release_for
from server.services import analysis_more as more
from server.services.analysis_input import json_default, to_csv, to_feature_collection

JSON = "application/json"
GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
VARY_ACCEPT = f"{VARY}, Accept"


def _release(principal: PrincipalDep, policy: PolicyDep) -> Release:
    """The caller's release of incidents, for SQL reading them as `i`."""
    return release_for(principal, "incidents", policy, alias="i")


#: every answer that reads incidents counts, lists or places only those released to the caller
ReleaseDep = Annotated[Release, Depends(_release)]

# --- parameters and replies shared by the analysis routes ---------------------------------------

_F = ("json (default), geojson (application/geo+json: the places or areas with their geometry) "
      "or csv (text/csv: a table with a header row); without f, the Accept header chooses")
Format = Annotated[Literal["json", "geojson", "csv"] | None, Query(description=_F)]
TableFormat = Annotated[Literal["json", "csv"] | None, Query(
    description="json (default) or csv (text/csv, a header row); without f, the Accept header "
                "chooses. No geojson: the rows are periods, not places")]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]
Window = Annotated[str | None, Query(
    description="time window: an instant or interval a/b, '..' open (e.g. 2016-03-01/2016-06-30)",
    json_schema_extra=DATETIME)]
CsvList = Annotated[str | None, Query(description="comma-separated values")]


def list_param(raw: str | None) -> list[str] | None:
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else None


def id_list(raw: str | None) -> list[int] | None:
    return [int(v) for v in list_param(raw) or [] if v.isdecimal()] or None


def json_reply(body: Any) -> Response:
    return Response(orjson.dumps(body, default=json_default), media_type=JSON,
                    headers={"Vary": VARY_ACCEPT})


def csv_reply(rows: list[dict[str, Any]], columns: list[str], name: str) -> Response:
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                             "Vary": VARY_ACCEPT})


def geojson_reply(rows: list[dict[str, Any]], *, meta: dict[str, Any],
                  id_key: str | None = "id", geometry_key: str = "geometry") -> Response:
    return Response(to_feature_collection(rows, geometry_key=geometry_key, id_key=id_key, **meta),
                    media_type=GEOJSON, headers={"Vary": VARY_ACCEPT})


def table_reply(rows: list[dict[str, Any]], fmt: str, columns: list[str], *,
                meta: dict[str, Any], name: str, geometry_key: str = "geometry",
                id_key: str = "id") -> Response:
    if fmt == "csv":
        return csv_reply(rows, columns, name)
    if fmt == "geojson":
        return geojson_reply(rows, meta=meta, id_key=id_key, geometry_key=geometry_key)
    return json_reply({**meta, name: [{k: v for k, v in r.items() if k != geometry_key}
                                      for r in rows]})


AsOf = Annotated[DateTime | None, Query(description="as of (RFC 3339); default now")]
BBox = Annotated[str | None, Query(description="minx,miny,maxx,maxy (lon/lat)",
                                   json_schema_extra=BBOX)]
AreaId = Annotated[int | None, Query(description="only incidents inside this agreement area")]
Dedupe = Annotated[bool, Query(description="count each event once (default true): of reports "
                                           "linked as cross-source duplicates (see "
                                           "/analysis/duplicates) that the caller may see, only "
                                           "the best verified (then the first recorded) counts; "
                                           "false counts every report")]
POINT = ex.POINT_EXAMPLE


def incident_filters(datetime_: str | None, event_type: str | None,
                     verification_status: str | None, bbox: str | None,
                     area_id: int | None, dedupe: bool = False) -> dict[str, Any]:
    start, end = parse_datetime(datetime_)
    return more.filters(start=start, end=end, event_types=list_param(event_type),
                        verifications=list_param(verification_status), bbox=parse_bbox(bbox),
                        area_id=area_id, dedupe=dedupe)
