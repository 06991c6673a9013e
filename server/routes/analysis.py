"""/analysis/: the planners' questions across layers and time. Thin: parse, call a service, reply
as JSON, GeoJSON or CSV, chosen by `f=json|geojson|csv` or else the Accept header (see
server.services.analysis_output)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.deps import SessionDep, SettingsDep
from server.params import parse_bbox, parse_datetime
from server.schemas import analysis as ex
from server.schemas.analysis import DeconflictionRequest, DeconflictionResponse
from server.security.dependencies import VARY, PrincipalDep, vary_by_key
from server.security.release import Release, policy_from, release_for
from server.services import analysis
from server.services import analysis_areas as areas_service
from server.services import analysis_more as more
from server.services import analysis_output as output
from server.services.analysis_input import (
    check_distance,
    instant,
    json_default,
    to_csv,
    to_feature_collection,
)
from server.settings import AnalysisSettings

router = APIRouter(prefix="/analysis", tags=["analysis"])
JSON = "application/json"
GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
VARY_ACCEPT = f"{VARY}, Accept"


def _release(principal: PrincipalDep, settings: SettingsDep) -> Release:
    """The caller's release of incidents, for SQL reading them as `i`."""
    return release_for(principal, "incidents", policy_from(settings.security), alias="i")


#: every answer that reads incidents counts, lists or places only those released to the caller
ReleaseDep = Annotated[Release, Depends(_release)]

# --- shared parameters and replies -------------------------------------------------------------

_F = ("json (default), geojson (application/geo+json: the places or areas with their geometry) "
      "or csv (text/csv: a table with a header row); without f, the Accept header chooses")
Format = Annotated[Literal["json", "geojson", "csv"] | None, Query(description=_F)]
TableFormat = Annotated[Literal["json", "csv"] | None, Query(
    description="json (default) or csv (text/csv, a header row); without f, the Accept header "
                "chooses. No geojson: the rows are periods, not places")]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]
Window = Annotated[str | None, Query(
    description="time window: an instant or interval a/b, '..' open (e.g. 2016-03-01/2016-06-30)")]
CsvList = Annotated[str | None, Query(description="comma-separated values")]


def _list(raw: str | None) -> list[str] | None:
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else None


def _ids(raw: str | None) -> list[int] | None:
    return [int(v) for v in _list(raw) or [] if v.isdigit()] or None


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body, default=json_default), media_type=JSON,
                    headers={"Vary": VARY_ACCEPT})


def _csv(rows: list[dict[str, Any]], columns: list[str], name: str) -> Response:
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                             "Vary": VARY_ACCEPT})


def _geojson(rows: list[dict[str, Any]], *, meta: dict[str, Any], id_key: str | None = "id",
             geometry_key: str = "geometry") -> Response:
    return Response(to_feature_collection(rows, geometry_key=geometry_key, id_key=id_key, **meta),
                    media_type=GEOJSON, headers={"Vary": VARY_ACCEPT})


def _table(rows: list[dict[str, Any]], fmt: str, columns: list[str], *, meta: dict[str, Any],
           name: str, geometry_key: str = "geometry", id_key: str = "id") -> Response:
    if fmt == "csv":
        return _csv(rows, columns, name)
    if fmt == "geojson":
        return _geojson(rows, meta=meta, id_key=id_key, geometry_key=geometry_key)
    return _json({**meta, name: [{k: v for k, v in r.items() if k != geometry_key}
                                 for r in rows]})


# --- deconfliction -----------------------------------------------------------------------------

_DECONFLICTION_META = {"at": "2016-03-15T08:00:00+00:00", "distance_m": 2000, "nearby_m": 5000,
                       "recent_days": 14}
_DECONFLICTION_ROWS = [
    {"index": 0, "layer": "areas", **ex.AREA_HIT_EXAMPLE},
    {"index": 0, "layer": "settlements", **ex.SETTLEMENT_EXAMPLE},
    {"index": 0, "layer": "aid_deliveries", **ex.AID_EXAMPLE}]


DECONFLICTION_RESPONSES = ex.responses(
    ex.DECONFLICTION_EXAMPLE,
    geojson={"type": "FeatureCollection", **_DECONFLICTION_META, "features": [
        {"type": "Feature", "id": f"0/{r['layer']}.{r['id']}",
         "geometry": ex.AREA_POLYGON_EXAMPLE if r["layer"] == "areas" else
         {"type": "Point", "coordinates": [r["lon"], r["lat"]]}, "properties": r}
        for r in _DECONFLICTION_ROWS]},
    csv_text=ex.csv_example(_DECONFLICTION_ROWS, output.DECONFLICTION_COLUMNS),
    extra={413: {"description": "more geometries than the batch limit"}})
DECONFLICTION_RESPONSES[200]["model"] = DeconflictionResponse


@router.post(
    "/deconfliction", response_class=Response,
    summary="Deconfliction check: agreement areas in force, settlements and recent aid near a "
            "geometry (or a batch of up to 1,000)",
    description=(analysis.__doc__ or "") + "\n\nAs GeoJSON or CSV: one feature (row) per hit, "
                "with `index` (the input geometry) and `layer` (areas with their polygons, "
                "settlements and aid_deliveries as points).",
    responses=DECONFLICTION_RESPONSES,
)
def deconfliction(body: DeconflictionRequest, session: SessionDep, settings: SettingsDep,
                  f: Format = None, accept: AcceptDep = None) -> Response:
    fmt = output.negotiate(f, accept)
    batch = body.geometries is not None
    geometries: list[Any] = body.geometries if body.geometries is not None else [body.geometry]
    answer = analysis.deconfliction(
        geometries=geometries, batch=batch, at=body.at, distance_m=body.distance_m,
        nearby_m=body.nearby_m, recent_days=body.recent_days, crs=body.crs,
        limits=settings.analysis, session=session)
    if fmt == "json":
        return _json(answer)
    meta = {k: answer[k] for k in ("at", "distance_m", "nearby_m", "recent_days", "rule")}
    if fmt == "csv":
        return _csv(output.deconfliction_rows(answer), output.DECONFLICTION_COLUMNS,
                    "deconfliction")
    return _geojson(output.deconfliction_features(answer, session=session), meta=meta,
                    id_key="fid")


# --- incidents in and near areas, compliance ----------------------------------------------------

def _area_incidents(session: Session, rel: Release, ids: list[int] | None, status: str | None,
                    datetime_: str | None, event_type: str | None,
                    verification_status: str | None, distance_m: float, fmt: str,
                    limits: AnalysisSettings) -> Response:
    start, end = parse_datetime(datetime_)
    distance = check_distance(distance_m, limits)
    rows = areas_service.incidents_by_area(
        rel, ids=ids, statuses=_list(status), start=start, end=end, event_types=_list(event_type),
        verifications=_list(verification_status), distance_m=distance,
        geometry=fmt == "geojson", session=session)
    meta = {"datetime": datetime_, "distance_m": distance}
    if fmt == "csv":
        rows = [areas_service.flatten_summary(r) for r in rows]
    return _table(rows, fmt, areas_service.SUMMARY_COLUMNS, meta=meta, name="areas")


_AREA_INCIDENTS_META = {"datetime": "2016-03-01/2016-06-30", "distance_m": 5000}
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
    distance_m: Annotated[float, Query(ge=0, description="also count incidents outside an area "
                                       "but within this many metres")] = 0,
    status: CsvList = None, event_type: CsvList = None, verification_status: CsvList = None,
    area_id: CsvList = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    return _area_incidents(session, rel, _ids(area_id), status, datetime, event_type,
                           verification_status, distance_m, fmt, settings.analysis)


@router.get("/areas/{area_id}/incidents", response_class=Response,
            summary="Incidents inside and near one agreement area",
            responses={**AREA_INCIDENTS_RESPONSES, 404: {}})
def area_incidents(
    area_id: int, session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    distance_m: Annotated[float, Query(ge=0)] = 0,
    event_type: CsvList = None, verification_status: CsvList = None, f: Format = None,
    accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    return _area_incidents(session, rel, [area_id], None, datetime, event_type,
                           verification_status, distance_m, fmt, settings.analysis)


_COMPLIANCE_META = {"at": "2016-05-24T00:00:00+00:00", "sort": "risk", "weeks_before": 8,
                    "recent_weeks": 4}


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
    session: SessionDep, rel: ReleaseDep,
    at: Annotated[dt.datetime | None, Query(description="as of (ISO 8601); default now")] = None,
    weeks_before: Annotated[int, Query(ge=1, le=520)] = 8,
    recent_weeks: Annotated[int, Query(ge=1, le=52)] = 4,
    status: CsvList = None, area_id: CsvList = None,
    sort: Annotated[str, Query(description="risk (default), rate_after, rate_recent, change, "
                               "days_since_last_confirmed, name, id")] = "risk",
    order: Annotated[Literal["asc", "desc"] | None, Query(
        description="default desc for rates and risk, asc for names, ids and days")] = None,
    f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    when = instant(at)
    descending = order == "desc" if order else sort in ("risk", "rate_after", "rate_recent",
                                                        "change")
    rows = areas_service.compliance(rel, ids=_ids(area_id), statuses=_list(status), at=when,
                                    weeks_before=weeks_before, recent_weeks=recent_weeks,
                                    sort=sort, descending=descending, session=session,
                                    geometry=fmt == "geojson")
    meta = {"at": when.isoformat(), "sort": sort, "weeks_before": weeks_before,
            "recent_weeks": recent_weeks}
    return _table(rows, fmt, areas_service.COMPLIANCE_COLUMNS, meta=meta, name="areas")


# --- aid -----------------------------------------------------------------------------------------

AsOf = Annotated[dt.datetime | None, Query(description="as of (ISO 8601); default now")]
_GAP_COLUMNS = ["id", "name", "name_ar", "population", "area_id", "area_name",
                "last_delivery_at", "days_without_delivery", "nearest_recent_delivery_m",
                "nearest_recent_delivery_id", "priority"]
_GAP_META = {"at": "2016-06-30T00:00:00+00:00", "days": 30, "by": "settlement"}
_POINT = ex.POINT_EXAMPLE


@router.get("/aid-gaps", response_class=Response,
            summary="Signed settlements (or areas) without a delivery in the last `days` days, "
                    "weighted by population, with the nearest recent delivery",
            description=more.__doc__ or "",
            responses=ex.responses(
                {**_GAP_META, "places": [ex.AID_GAP_EXAMPLE]},
                geojson=ex.geojson_example(_GAP_META, [ex.AID_GAP_EXAMPLE], _POINT),
                csv_text=ex.csv_example([ex.AID_GAP_EXAMPLE], _GAP_COLUMNS)))
def aid_gaps(
    session: SessionDep, at: AsOf = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
    by: Annotated[Literal["settlement", "area"], Query()] = "settlement",
    radius_m: Annotated[float, Query(ge=0, le=50_000, description="a delivery this close to a "
                                     "settlement reached it")] = 2000,
    f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    when = instant(at)
    rows = more.aid_gaps(by=by, at=when, days=days, radius_m=radius_m, session=session)
    columns = (_GAP_COLUMNS if by == "settlement" else
               ["id", "name", "status", "signed_at", "population", *_GAP_COLUMNS[6:]])
    return _table(rows, fmt, columns, meta={"at": when.isoformat(), "days": days, "by": by},
                  name="places")


_RISK_COLUMNS = ["id", "delivered_at", "method", "cargo_type", "organisation", "location_name",
                 "settlement_id", "agreement_area_id", "incidents", "fatalities",
                 "nearest_incident_m", "closest_incident_hours", "incident_ids"]
_RISK_META = {"distance_m": 5000, "hours": 24}


@router.get("/aid-risk", response_class=Response,
            summary="Aid deliveries within distance_m metres and `hours` hours of an incident",
            responses=ex.responses(
                {**_RISK_META, "deliveries": [ex.AID_RISK_EXAMPLE]},
                geojson=ex.geojson_example(_RISK_META, [ex.AID_RISK_EXAMPLE], _POINT),
                csv_text=ex.csv_example([ex.AID_RISK_EXAMPLE], _RISK_COLUMNS)))
def aid_risk(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    distance_m: Annotated[float, Query(ge=0)] = 5000,
    hours: Annotated[float, Query(gt=0, le=24 * 365)] = 24,
    datetime: Window = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    start, end = parse_datetime(datetime)
    distance = check_distance(distance_m, settings.analysis)
    rows = more.aid_risk(rel, distance_m=distance, hours=hours, start=start, end=end,
                         limit=settings.analysis.max_rows, session=session)
    return _table(rows, fmt, _RISK_COLUMNS, meta={"distance_m": distance, "hours": hours},
                  name="deliveries")


# --- hotspots, grid, time series -----------------------------------------------------------------

BBox = Annotated[str | None, Query(description="minx,miny,maxx,maxy (lon/lat)")]


def _filters(datetime_: str | None, event_type: str | None, verification_status: str | None,
             bbox: str | None, area_id: int | None) -> dict[str, Any]:
    start, end = parse_datetime(datetime_)
    return more.filters(start=start, end=end, event_types=_list(event_type),
                        verifications=_list(verification_status), bbox=parse_bbox(bbox),
                        area_id=area_id)


AreaId = Annotated[int | None, Query(description="only incidents inside this agreement area")]
_HOTSPOT_COLUMNS = ["cluster_id", "incidents", "fatalities", "first_at", "last_at", "lon", "lat"]
_HOTSPOT_META = {"eps_m": 2000, "minpoints": 5}


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
    eps_m: Annotated[float, Query(gt=0)] = 2000,
    minpoints: Annotated[int, Query(ge=1)] = 5,
    event_type: CsvList = None, verification_status: CsvList = None, bbox: BBox = None,
    area_id: AreaId = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.hotspots(flt, rel, eps_m=eps_m, minpoints=minpoints,
                         limit=settings.analysis.max_rows, session=session)
    return _table(rows, fmt, _HOTSPOT_COLUMNS, meta={"eps_m": eps_m, "minpoints": minpoints},
                  name="clusters", id_key="cluster_id")


_GRID_META = {"kind": "hexagon", "size_m": 5000, "level": 2}


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
    kind: Annotated[Literal["hexagon", "square", "admin"], Query()] = "hexagon",
    size_m: Annotated[float, Query(gt=0)] = 5000,
    level: Annotated[int, Query(ge=0, le=4)] = 2,
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept, default="geojson")
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.grid(flt, rel, kind=kind, size_m=size_m, level=level,
                     limit=settings.analysis.max_rows, session=session)
    return _table(rows, fmt, ["cell", "name", "incidents", "fatalities"] if kind == "admin"
                  else ["cell", "incidents", "fatalities"],
                  meta={"kind": kind, "size_m": size_m, "level": level}, name="cells",
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
    area_id: AreaId = None,
) -> Response:
    flt = _filters(datetime, event_type, verification_status, None, area_id)
    data = more.grid_tile(flt, rel, z=z, x=x, y=y, size_m=size_m, session=session)
    headers = vary_by_key(principal, {"Cache-Control": "public, max-age=60"})
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


_SERIES_COLUMNS = ["period", "incidents", "fatalities", "confirmed"]


@router.get("/timeseries", response_class=Response,
            summary="Incidents, fatalities and confirmed incidents per day, week or month",
            responses=ex.responses({"step": "week", "area_id": None,
                                    "series": [ex.SERIES_EXAMPLE]},
                                   csv_text=ex.csv_example([ex.SERIES_EXAMPLE], _SERIES_COLUMNS)))
def timeseries(
    session: SessionDep, rel: ReleaseDep,
    step: Annotated[Literal["day", "week", "month"], Query()] = "week",
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None, f: TableFormat = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept, offered=("json", "csv"))
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.timeseries(flt, rel, step=step, session=session)
    return _table(rows, fmt, _SERIES_COLUMNS, meta={"step": step, "area_id": area_id},
                  name="series")


# --- nearest, exposure, report -------------------------------------------------------------------

_NEAREST_META = {"kind": "settlements", "lon": 36.7, "lat": 34.72}


@router.get("/nearest", response_class=Response,
            summary="The n nearest settlements, aid deliveries or agreement areas to a point, "
                    "with distances in metres",
            responses=ex.responses(
                {**_NEAREST_META, "places": [ex.NEAREST_EXAMPLE]},
                geojson=ex.geojson_example(_NEAREST_META, [ex.NEAREST_EXAMPLE], _POINT),
                csv_text=ex.csv_example([ex.NEAREST_EXAMPLE], list(ex.NEAREST_EXAMPLE))))
def nearest(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    kind: Annotated[Literal["settlements", "aid_deliveries", "agreement_areas"],
                    Query()] = "settlements",
    n: Annotated[int, Query(ge=1, le=100)] = 5,
    datetime: Window = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    start, end = parse_datetime(datetime)
    rows = more.nearest(kind, lon=lon, lat=lat, n=n, start=start, end=end, session=session)
    columns = [c for c in (rows[0] if rows else {"id": 0, "distance_m": 0}) if c != "geometry"]
    return _table(rows, fmt, columns, meta={"kind": kind, "lon": lon, "lat": lat},
                  name="places")


@router.get("/exposure", response_class=Response,
            summary="People living inside an agreement area, or within distance_m "
                    "metres of a set of incidents, from a population raster",
            description=(more.__doc__ or "") + "\n\nAs GeoJSON: one feature, the zone, with the "
                        "answer as its properties; as CSV: one row.",
            responses=ex.responses(
                ex.EXPOSURE_EXAMPLE,
                geojson={"type": "FeatureCollection", "features": [{
                    "type": "Feature", "geometry": ex.AREA_POLYGON_EXAMPLE,
                    "properties": ex.EXPOSURE_EXAMPLE}]},
                csv_text=ex.csv_example([output.exposure_row(ex.EXPOSURE_EXAMPLE)],
                                        output.EXPOSURE_COLUMNS)))
def exposure(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    area_id: Annotated[int | None, Query(description="people inside this agreement area")] = None,
    distance_m: Annotated[float, Query(ge=0)] = 0,
    datetime: Window = None, event_type: CsvList = None, bbox: BBox = None,
    incident_id: CsvList = None,
    raster: Annotated[str | None, Query(description="population raster name")] = None,
    f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    start, end = parse_datetime(datetime)
    answer = more.exposure(
        rel, raster=raster, area_id=area_id,
        distance_m=check_distance(distance_m, settings.analysis), start=start, end=end,
        event_types=_list(event_type), incident_ids=_ids(incident_id), bbox=parse_bbox(bbox),
        settings=settings, session=session, geometry_out=fmt == "geojson")
    if fmt == "csv":
        return _csv([output.exposure_row(answer)], output.EXPOSURE_COLUMNS, "exposure")
    if fmt == "geojson":
        return _geojson([answer], meta={}, id_key=None)
    return _json(answer)


@router.get("/areas/{area_id}/report", response_class=Response,
            summary="Everything about one agreement area: history, incidents, compliance, aid, "
                    "exposure",
            description=output.__doc__ or "",
            responses=ex.responses(
                ex.REPORT_EXAMPLE,
                geojson={"type": "FeatureCollection", "features": [{
                    "type": "Feature", "id": "area.4", "geometry": ex.AREA_POLYGON_EXAMPLE,
                    "properties": {"layer": "area", **ex.REPORT_EXAMPLE["area"],
                                   **{k: v for k, v in ex.REPORT_EXAMPLE.items()
                                      if k not in ("area", "aid_deliveries")}}}]},
                csv_text=ex.csv_example([output.report_row(ex.REPORT_EXAMPLE)],
                                        output.REPORT_COLUMNS),
                extra={404: {"description": "no such agreement area"}}))
def area_report(
    area_id: int, session: SessionDep, settings: SettingsDep, rel: ReleaseDep, at: AsOf = None,
    distance_m: Annotated[float, Query(ge=0)] = 5000, f: Format = None,
    accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    report = more.area_report(area_id, rel, at=instant(at),
                              distance_m=check_distance(distance_m, settings.analysis),
                              settings=settings, session=session)
    if fmt == "csv":
        return _csv([output.report_row(report)], output.REPORT_COLUMNS, f"area-{area_id}")
    if fmt == "geojson":
        return _geojson(output.report_features(report), meta={"at": report["at"]}, id_key="fid")
    return _json(report)
