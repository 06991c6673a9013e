"""/analysis/hotspots, /grid (and its vector tiles) and /timeseries: where and when incidents cluster."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.deps import SessionDep, SettingsDep
from server.errors import InvalidQueryError
from server.routes.analysis_common import (
    MVT,
    AcceptDep,
    AreaId,
    BBox,
    CsvList,
    Dedupe,
    Format,
    ReleaseDep,
    TableFormat,
    Window,
    incident_filters,
    table_reply,
)
from server.schemas import analysis as ex
from server.security.dependencies import PrincipalDep, vary_by_key
from server.security.release import Release
from server.services import analysis_more as more
from server.services import analysis_output as output
from server.services import cql2

router = APIRouter(prefix="/analysis", tags=["analysis"])


def _dedupe_meta(flt: dict[str, Any], rel: Release, session: Session) -> dict[str, Any]:
    """Whether each event was counted once, and how many superseded reports were left out."""
    return {"dedupe": bool(flt["dedupe"]), "duplicates_merged": more.merged(flt, rel,
                                                                            session=session)}


_HOTSPOT_COLUMNS = ["cluster_id", "incidents", "fatalities", "first_at", "last_at", "lon", "lat"]
_HOTSPOT_META = {"eps_m": 2000, "minpoints": 5, "dedupe": True, "duplicates_merged": 3}


@router.get("/hotspots", response_class=Response,
            summary="Clusters of incidents (DBSCAN, eps in metres, minpoints) over a window",
            description=more.__doc__ or "",
            responses=ex.responses(
                {**_HOTSPOT_META, "clusters": [ex.HOTSPOT_EXAMPLE]},
                geojson=ex.geojson_example(_HOTSPOT_META, [ex.HOTSPOT_EXAMPLE],
                                           ex.AREA_POLYGON_EXAMPLE, id_key="cluster_id"),
                csv_text=ex.csv_example([ex.HOTSPOT_EXAMPLE], _HOTSPOT_COLUMNS)))
def hotspots(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    eps_m: Annotated[float, Query(gt=0, description="1..100,000 metres; at most max_rows "
                                  "clusters (10,000 by default) are listed, the largest")] = 2000,
    minpoints: Annotated[int, Query(ge=1, description="1..10,000")] = 5,
    event_type: CsvList = None, verification_status: CsvList = None, bbox: BBox = None,
    area_id: AreaId = None, f: Format = None, accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    flt = incident_filters(datetime, event_type, verification_status, bbox, area_id, dedupe)
    rows = more.hotspots(flt, rel, eps_m=eps_m, minpoints=minpoints,
                         limit=settings.analysis.max_rows, session=session)
    meta = {"eps_m": eps_m, "minpoints": minpoints, **_dedupe_meta(flt, rel, session)}
    return table_reply(rows, fmt, _HOTSPOT_COLUMNS, meta=meta, name="clusters", id_key="cluster_id")


_GRID_META = {"kind": "hexagon", "size_m": 5000, "level": 2, "dedupe": True,
              "duplicates_merged": 12}


@router.get("/grid", response_class=Response,
            summary="Incidents and fatalities per hexagon or square (size in metres) or per "
                    "admin area (level 0-4); GeoJSON unless f or Accept says otherwise",
            responses=ex.responses(
                {**_GRID_META, "cells": [ex.CELL_EXAMPLE]},
                geojson=ex.geojson_example(_GRID_META, [ex.CELL_EXAMPLE],
                                           ex.AREA_POLYGON_EXAMPLE, id_key="cell"),
                csv_text=ex.csv_example([ex.CELL_EXAMPLE], ["cell", "incidents", "fatalities"])))
def grid(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    kind: Annotated[Literal["hexagon", "square", "admin"], Query(
        description="at most max_rows cells (10,000 by default) are listed, the busiest")]
    = "hexagon",
    size_m: Annotated[float, Query(gt=0, description="100..500,000 metres")] = 5000,
    level: Annotated[int, Query(ge=0, le=4)] = 2,
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None, f: Format = None, accept: AcceptDep = None,
    dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept, default="geojson")
    flt = incident_filters(datetime, event_type, verification_status, bbox, area_id, dedupe)
    rows = more.grid(flt, rel, kind=kind, size_m=size_m, level=level,
                     limit=settings.analysis.max_rows, session=session)
    return table_reply(rows, fmt, ["cell", "name", "incidents", "fatalities"] if kind == "admin"
                       else ["cell", "incidents", "fatalities"],
                       meta={"kind": kind, "size_m": size_m, "level": level,
                             **_dedupe_meta(flt, rel, session)}, name="cells",
                       id_key="cell")


@router.get("/grid/tiles/{z}/{y}/{x}", response_class=Response,
            summary="The square grid as a vector tile (layer 'grid': i, j, incidents, "
                    "fatalities); 204 when empty",
            responses={200: {"content": {MVT: {}}}, 204: {}})
def grid_tile(
    session: SessionDep, rel: ReleaseDep, principal: PrincipalDep,
    z: Annotated[int, Path(ge=0, le=22)], y: Annotated[int, Path(ge=0)],
    x: Annotated[int, Path(ge=0)],
    size_m: Annotated[float, Query(gt=0)] = 5000,
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    area_id: AreaId = None, dedupe: Dedupe = True,
) -> Response:
    flt = incident_filters(datetime, event_type, verification_status, None, area_id, dedupe)
    data = more.grid_tile(flt, rel, z=z, x=x, y=y, size_m=size_m, session=session)
    headers = vary_by_key(principal, {"Cache-Control": "public, max-age=60"})
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


_SERIES_COLUMNS = ["period", "incidents", "fatalities", "confirmed"]


@router.get("/timeseries", response_class=Response,
            summary="Incidents, fatalities and confirmed incidents per day, week or month",
            responses=ex.responses({"step": "week", "area_id": None, "dedupe": True,
                                    "duplicates_merged": 2, "series": [ex.SERIES_EXAMPLE]},
                                   csv_text=ex.csv_example([ex.SERIES_EXAMPLE], _SERIES_COLUMNS)))
def timeseries(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    step: Annotated[Literal["day", "week", "month"], Query(
        description="the period. A series has at most max_buckets periods (10,000 by "
                    "default, TRUCE_ANALYSIS_MAX_BUCKETS): a longer window gets 400 before "
                    "anything is counted; narrow datetime or use a coarser step")] = "week",
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None, f: TableFormat = None, accept: AcceptDep = None,
    filter: Annotated[str | None, Query(
        description="a CQL2 filter on incidents, as on /collections/incidents/items (e.g. "
                    "`fatalities >= 5 AND casei(actor1) LIKE casei('%army%')`); it sees what "
                    "the caller's key may see")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang",
                                             description="cql2-text (default) or cql2-json")]
    = None,
    dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept, offered=("json", "csv"))
    flt = incident_filters(datetime, event_type, verification_status, bbox, area_id, dedupe)
    if filter:
        flt["filter"] = cql2.parse(filter, filter_lang)
    elif filter_lang and filter_lang.lower() not in ("cql2-text", "cql2-json"):
        raise InvalidQueryError("filter-lang must be cql2-text or cql2-json")
    rows = more.timeseries(flt, rel, step=step, max_buckets=settings.analysis.max_buckets,
                           session=session)
    return table_reply(rows, fmt, _SERIES_COLUMNS,
                       meta={"step": step, "area_id": area_id, **_dedupe_meta(flt, rel, session)},
                       name="series")
