"""/analysis/: the planners' questions across layers and time. Thin: parse, call a service, reply
as JSON, GeoJSON (`f=geojson`) or CSV (`f=csv`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from server.deps import SessionDep, SettingsDep
from server.params import parse_bbox, parse_datetime
from server.schemas.analysis import DeconflictionRequest, DeconflictionResponse
from server.security.dependencies import VARY, PrincipalDep, vary_by_key
from server.security.release import Release, policy_from, release_for
from server.services import analysis
from server.services import analysis_areas as areas_service
from server.services import analysis_more as more
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


def _release(principal: PrincipalDep, settings: SettingsDep) -> Release:
    """The caller's release of incidents, for SQL reading them as `i`."""
    return release_for(principal, "incidents", policy_from(settings.security), alias="i")


#: every answer that reads incidents counts, lists or places only those released to the caller
ReleaseDep = Annotated[Release, Depends(_release)]


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body, default=json_default), media_type=JSON,
                    headers={"Vary": VARY})


@router.post(
    "/deconfliction", response_class=Response,
    summary="Deconfliction check: agreement areas in force, settlements and recent aid near a "
            "geometry (or a batch of up to 1,000)",
    description=analysis.__doc__ or "",
    responses={200: {"model": DeconflictionResponse}, 400: {}, 413: {}},
)
def deconfliction(body: DeconflictionRequest, session: SessionDep,
                  settings: SettingsDep) -> Response:
    batch = body.geometries is not None
    geometries: list[Any] = body.geometries if body.geometries is not None else [body.geometry]
    return _json(analysis.deconfliction(
        geometries=geometries, batch=batch, at=body.at, distance_m=body.distance_m,
        nearby_m=body.nearby_m, recent_days=body.recent_days, crs=body.crs,
        limits=settings.analysis, session=session))


# --- shared parameters and replies -------------------------------------------------------------

Format = Annotated[Literal["json", "geojson", "csv"], Query(
    description="json (default), geojson (places with their geometry) or csv (a table)")]
Window = Annotated[str | None, Query(
    description="time window: an instant or interval a/b, '..' open (e.g. 2016-03-01/2016-06-30)")]
CsvList = Annotated[str | None, Query(description="comma-separated values")]


def _list(raw: str | None) -> list[str] | None:
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else None


def _table(rows: list[dict[str, Any]], f: str, columns: list[str], *, meta: dict[str, Any],
           name: str, geometry_key: str = "geometry", id_key: str = "id") -> Response:
    if f == "csv":
        return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                 "Vary": VARY})
    if f == "geojson":
        return Response(to_feature_collection(rows, geometry_key=geometry_key, id_key=id_key,
                                              **meta),
                        media_type=GEOJSON, headers={"Vary": VARY})
    return _json({**meta, name: [{k: v for k, v in r.items() if k != geometry_key}
                                 for r in rows]})


def _example(example: Any, csv: bool = True, geojson: bool = True) -> dict[int | str, Any]:
    content: dict[str, Any] = {JSON: {"example": example}}
    if geojson:
        content[GEOJSON] = {}
    if csv:
        content["text/csv"] = {}
    return {200: {"content": content}, 400: {"description": "a parameter is wrong (said how)"}}


# --- incidents in and near areas, compliance ----------------------------------------------------

AREA_SUMMARY_EXAMPLE = {
    "id": 4, "name": "Ar-Rastan sub-district", "kind": "region", "status": "violated",
    "signed_at": "2016-02-27T12:00:00+00:00", "distance_m": 5000,
    "inside": {"total": 62, "before_signing": 3, "after_signing": 59, "fatalities": 211,
               "by_event_type": {"state_based_violence": 60, "one_sided_violence": 2},
               "by_verification_status": {"confirmed": 61, "reported": 1}},
    "near": {"total": 20, "before_signing": 1, "after_signing": 19, "fatalities": 30,
             "by_event_type": {"state_based_violence": 20},
             "by_verification_status": {"confirmed": 20}},
}


def _area_incidents(session: Session, rel: Release, ids: list[int] | None, status: str | None,
                    datetime_: str | None, event_type: str | None,
                    verification_status: str | None, distance_m: float, f: str,
                    limits: AnalysisSettings) -> Response:
    start, end = parse_datetime(datetime_)
    distance = check_distance(distance_m, limits)
    rows = areas_service.incidents_by_area(
        rel, ids=ids, statuses=_list(status), start=start, end=end, event_types=_list(event_type),
        verifications=_list(verification_status), distance_m=distance,
        geometry=f == "geojson", session=session)
    meta = {"datetime": datetime_, "distance_m": distance}
    if f == "csv":
        rows = [areas_service.flatten_summary(r) for r in rows]
    return _table(rows, f, areas_service.SUMMARY_COLUMNS, meta=meta, name="areas")


@router.get("/areas/incidents", response_class=Response,
            summary="Incidents inside and within distance_m of every agreement area, before and "
                    "after signing, by event type and verification status",
            description=areas_service.__doc__ or "",
            responses=_example({"datetime": "2016-03-01/2016-06-30", "distance_m": 5000,
                                "areas": [AREA_SUMMARY_EXAMPLE]}))
def areas_incidents(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    distance_m: Annotated[float, Query(ge=0, description="also count incidents outside an area "
                                       "but within this many metres")] = 0,
    status: CsvList = None, event_type: CsvList = None, verification_status: CsvList = None,
    area_id: CsvList = None, f: Format = "json",
) -> Response:
    ids = [int(v) for v in _list(area_id) or [] if v.isdigit()] or None
    return _area_incidents(session, rel, ids, status, datetime, event_type, verification_status,
                           distance_m, f, settings.analysis)


@router.get("/areas/{area_id}/incidents", response_class=Response,
            summary="Incidents inside and near one agreement area",
            responses={**_example({"datetime": None, "distance_m": 5000,
                                   "areas": [AREA_SUMMARY_EXAMPLE]}), 404: {}})
def area_incidents(
    area_id: int, session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    distance_m: Annotated[float, Query(ge=0)] = 0,
    event_type: CsvList = None, verification_status: CsvList = None, f: Format = "json",
) -> Response:
    return _area_incidents(session, rel, [area_id], None, datetime, event_type, verification_status,
                           distance_m, f, settings.analysis)


COMPLIANCE_EXAMPLE = {
    "id": 4, "name": "Ar-Rastan sub-district", "kind": "region", "status": "violated",
    "signed_at": "2016-02-27T12:00:00+00:00", "weeks_since_signing": 12.4,
    "violations_before": 5, "violations_after": 59, "rate_before": 0.625, "rate_after": 4.76,
    "change": 4.135, "rate_recent": 6.5, "rate_prior": 3.25, "trend": "rising",
    "confirmed_after": 58, "last_confirmed_day": "2016-05-20",
    "days_since_last_confirmed": 4, "risk": 12.375,
}


@router.get("/areas/compliance", response_class=Response,
            summary="Compliance per agreement area: weekly violation rates since signing vs "
                    "before, days since the last confirmed violation, trend, risk",
            description=areas_service.__doc__ or "",
            responses=_example({"at": "2016-05-24T00:00:00+00:00", "sort": "risk",
                                "areas": [COMPLIANCE_EXAMPLE]}))
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
    f: Format = "json",
) -> Response:
    when = instant(at)
    ids = [int(v) for v in _list(area_id) or [] if v.isdigit()] or None
    descending = order == "desc" if order else sort in ("risk", "rate_after", "rate_recent",
                                                        "change")
    rows = areas_service.compliance(rel, ids=ids, statuses=_list(status), at=when,
                                    weeks_before=weeks_before, recent_weeks=recent_weeks,
                                    sort=sort, descending=descending, session=session)
    meta = {"at": when.isoformat(), "sort": sort, "weeks_before": weeks_before,
            "recent_weeks": recent_weeks}
    return _table(rows, "csv" if f == "csv" else "json", areas_service.COMPLIANCE_COLUMNS,
                  meta=meta, name="areas")


# --- aid -----------------------------------------------------------------------------------------

AsOf = Annotated[dt.datetime | None, Query(description="as of (ISO 8601); default now")]


@router.get("/aid-gaps", response_class=Response,
            summary="Signed settlements (or areas) without a delivery in the last `days` days, "
                    "weighted by population, with the nearest recent delivery",
            description=more.__doc__ or "",
            responses=_example({"at": "2016-06-30T00:00:00+00:00", "days": 30, "by": "settlement",
                                "places": [{"id": 17, "name": "Talbiseh", "population": 31062,
                                            "area_id": 5, "area_name": "Talbiseh sub-district",
                                            "last_delivery_at": "2016-04-02T10:00:00+00:00",
                                            "days_without_delivery": 88,
                                            "nearest_recent_delivery_m": 8421.5,
                                            "nearest_recent_delivery_id": 40,
                                            "priority": 2733456}]}))
def aid_gaps(
    session: SessionDep, at: AsOf = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
    by: Annotated[Literal["settlement", "area"], Query()] = "settlement",
    radius_m: Annotated[float, Query(ge=0, le=50_000, description="a delivery this close to a "
                                     "settlement reached it")] = 2000,
    f: Format = "json",
) -> Response:
    when = instant(at)
    rows = more.aid_gaps(by=by, at=when, days=days, radius_m=radius_m, session=session)
    columns = (["id", "name", "name_ar", "population", "area_id", "area_name"] if by ==
               "settlement" else ["id", "name", "status", "signed_at", "population"])
    columns += ["last_delivery_at", "days_without_delivery", "nearest_recent_delivery_m",
                "nearest_recent_delivery_id", "priority"]
    return _table(rows, f, columns, meta={"at": when.isoformat(), "days": days, "by": by},
                  name="places")


@router.get("/aid-risk", response_class=Response,
            summary="Aid deliveries within distance_m metres and `hours` hours of an incident",
            responses=_example({"distance_m": 5000, "hours": 24, "deliveries": [{
                "id": 5, "delivered_at": "2016-03-12T14:00:00+00:00", "method": "airdrop",
                "cargo_type": "nfi", "incidents": 2, "fatalities": 3,
                "nearest_incident_m": 1250.4, "closest_incident_hours": 10.0,
                "incident_ids": [812, 815]}]}))
def aid_risk(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    distance_m: Annotated[float, Query(ge=0)] = 5000,
    hours: Annotated[float, Query(gt=0, le=24 * 365)] = 24,
    datetime: Window = None, f: Format = "json",
) -> Response:
    start, end = parse_datetime(datetime)
    distance = check_distance(distance_m, settings.analysis)
    rows = more.aid_risk(rel, distance_m=distance, hours=hours, start=start, end=end,
                         limit=settings.analysis.max_rows, session=session)
    columns = ["id", "delivered_at", "method", "cargo_type", "organisation", "location_name",
               "settlement_id", "agreement_area_id", "incidents", "fatalities",
               "nearest_incident_m", "closest_incident_hours", "incident_ids"]
    return _table(rows, f, columns, meta={"distance_m": distance, "hours": hours},
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


@router.get("/hotspots", response_class=Response,
            summary="Clusters of incidents (DBSCAN, eps in metres, minpoints) over a window",
            description=more.__doc__ or "",
            responses=_example({"eps_m": 2000, "minpoints": 5, "clusters": [{
                "cluster_id": 0, "incidents": 412, "fatalities": 1630,
                "first_at": "2016-03-01T00:00:00+00:00", "last_at": "2016-03-31T00:00:00+00:00",
                "lon": 37.1544, "lat": 36.2012}]}))
def hotspots(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    datetime: Window = None,
    eps_m: Annotated[float, Query(gt=0)] = 2000,
    minpoints: Annotated[int, Query(ge=1)] = 5,
    event_type: CsvList = None, verification_status: CsvList = None, bbox: BBox = None,
    area_id: AreaId = None, f: Format = "json",
) -> Response:
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.hotspots(flt, rel, eps_m=eps_m, minpoints=minpoints,
                         limit=settings.analysis.max_rows, session=session)
    columns = ["cluster_id", "incidents", "fatalities", "first_at", "last_at", "lon", "lat"]
    return _table(rows, f, columns, meta={"eps_m": eps_m, "minpoints": minpoints},
                  name="clusters")


@router.get("/grid", response_class=Response,
            summary="Incidents and fatalities per hexagon or square (size in metres) or per "
                    "admin area (level 0-4)",
            responses=_example({"kind": "hexagon", "size_m": 5000, "cells": [{
                "cell": "41:392", "incidents": 311, "fatalities": 804}]}))
def grid(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    kind: Annotated[Literal["hexagon", "square", "admin"], Query()] = "hexagon",
    size_m: Annotated[float, Query(gt=0)] = 5000,
    level: Annotated[int, Query(ge=0, le=4)] = 2,
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None, f: Format = "geojson",
) -> Response:
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.grid(flt, rel, kind=kind, size_m=size_m, level=level,
                     limit=settings.analysis.max_rows, session=session)
    return _table(rows, f, ["cell", "name", "incidents", "fatalities"] if kind == "admin"
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


@router.get("/timeseries", response_class=Response,
            summary="Incidents, fatalities and confirmed incidents per day, week or month",
            responses=_example({"step": "week", "series": [
                {"period": "2016-02-22", "incidents": 31, "fatalities": 95, "confirmed": 30}]},
                geojson=False))
def timeseries(
    session: SessionDep, rel: ReleaseDep,
    step: Annotated[Literal["day", "week", "month"], Query()] = "week",
    datetime: Window = None, event_type: CsvList = None, verification_status: CsvList = None,
    bbox: BBox = None, area_id: AreaId = None,
    f: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    flt = _filters(datetime, event_type, verification_status, bbox, area_id)
    rows = more.timeseries(flt, rel, step=step, session=session)
    return _table(rows, f, ["period", "incidents", "fatalities", "confirmed"],
                  meta={"step": step, "area_id": area_id}, name="series")


# --- nearest, exposure, report -------------------------------------------------------------------

@router.get("/nearest", response_class=Response,
            summary="The n nearest settlements, aid deliveries or agreement areas to a point, "
                    "with distances in metres",
            responses=_example({"kind": "settlements", "places": [
                {"id": 12, "name": "Homs", "population": 775404, "distance_m": 1834.2}]}))
def nearest(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    kind: Annotated[Literal["settlements", "aid_deliveries", "agreement_areas"],
                    Query()] = "settlements",
    n: Annotated[int, Query(ge=1, le=100)] = 5,
    datetime: Window = None, f: Format = "json",
) -> Response:
    start, end = parse_datetime(datetime)
    rows = more.nearest(kind, lon=lon, lat=lat, n=n, start=start, end=end, session=session)
    columns = [c for c in (rows[0] if rows else {"id": 0, "distance_m": 0}) if c != "geometry"]
    return _table(rows, f, columns, meta={"kind": kind, "lon": lon, "lat": lat}, name="places")


@router.get("/exposure", summary="People living inside an agreement area, or within distance_m "
                                 "metres of a set of incidents, from a population raster",
            description=more.__doc__ or "",
            responses=_example({"zone": "within 5000 m of 12 incidents", "incidents": 12,
                                "distance_m": 5000, "people": 48211.4, "pixels": 96,
                                "covered_pixels": 71.2, "nodata_pixels": 0,
                                "raster": {"name": "population", "date": "2016-01-01",
                                           "crs": "EPSG:4326", "resolution": [0.0083, 0.0083]},
                                "method": "zonal sum, partial pixels weighted by covered share"},
                               csv=False, geojson=False))
def exposure(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    area_id: Annotated[int | None, Query(description="people inside this agreement area")] = None,
    distance_m: Annotated[float, Query(ge=0)] = 0,
    datetime: Window = None, event_type: CsvList = None, bbox: BBox = None,
    incident_id: CsvList = None,
    raster: Annotated[str | None, Query(description="population raster name")] = None,
) -> Response:
    start, end = parse_datetime(datetime)
    ids = [int(v) for v in _list(incident_id) or [] if v.isdigit()] or None
    return _json(more.exposure(
        rel, raster=raster, area_id=area_id, distance_m=check_distance(distance_m, settings.analysis),
        start=start, end=end, event_types=_list(event_type), incident_ids=ids,
        bbox=parse_bbox(bbox), settings=settings, session=session))


@router.get("/areas/{area_id}/report", summary="Everything about one agreement area: history, "
                                               "incidents, compliance, aid, exposure",
            responses={200: {"content": {JSON: {"example": {
                "at": "2016-06-30T00:00:00+00:00",
                "area": {"id": 4, "name": "Ar-Rastan sub-district", "status": "violated"},
                "history": [{"changed_at": "2016-02-27T12:00:00+00:00", "status": "signed"}],
                "incidents": {"inside": AREA_SUMMARY_EXAMPLE["inside"]},
                "compliance": COMPLIANCE_EXAMPLE, "aid_deliveries": [],
                "exposure": {"people": 52000.0}}}}}, 404: {}})
def area_report(
    area_id: int, session: SessionDep, settings: SettingsDep, rel: ReleaseDep, at: AsOf = None,
    distance_m: Annotated[float, Query(ge=0)] = 5000,
) -> Response:
    return _json(more.area_report(area_id, rel, at=instant(at),
                                  distance_m=check_distance(distance_m, settings.analysis),
                                  settings=settings, session=session))
