"""/analysis/nearest, /exposure and /areas/{id}/report: questions about places."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.params import parse_bbox, parse_datetime
from server.routes.analysis_common import (
    POINT,
    AcceptDep,
    AsOf,
    BBox,
    CsvList,
    Dedupe,
    Format,
    ReleaseDep,
    Window,
    csv_reply,
    geojson_reply,
    id_list,
    json_reply,
    list_param,
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


_NEAREST_META = {"kind": "settlements", "lon": 36.7, "lat": 34.72}


@router.get("/nearest", response_class=Response,
            summary="The n nearest settlements, aid deliveries or agreement areas to a point, "
                    "with distances in metres",
            responses=ex.responses(
                {**_NEAREST_META, "places": [ex.NEAREST_EXAMPLE]},
                geojson=ex.geojson_example(_NEAREST_META, [ex.NEAREST_EXAMPLE], POINT),
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
    return table_reply(rows, fmt, columns, meta={"kind": kind, "lon": lon, "lat": lat},
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
    distance_m: Annotated[float, Query(ge=0, description=(
        "metres around the area or the incidents (at most max_distance_m, 100,000 by default); "
        "a zone is made of at most max_exposure_incidents incidents (5,000 by default): more "
        "is a 400, narrow datetime, bbox, event_type or incident_id"))] = 0,
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
        event_types=list_param(event_type), incident_ids=id_list(incident_id), bbox=parse_bbox(bbox),
        settings=settings, session=session, geometry_out=fmt == "geojson")
    if fmt == "csv":
        return csv_reply([output.exposure_row(answer)], output.EXPOSURE_COLUMNS, "exposure")
    if fmt == "geojson":
        return geojson_reply([answer], meta={}, id_key=None)
    return json_reply(answer)


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
    accept: AcceptDep = None, dedupe: Dedupe = True,
) -> Response:
    fmt = output.negotiate(f, accept)
    report = more.area_report(area_id, rel, at=instant(at),
                              distance_m=check_distance(distance_m, settings.analysis),
                              settings=settings, session=session, dedupe=dedupe)
    if fmt == "csv":
        return csv_reply([output.report_row(report)], output.REPORT_COLUMNS, f"area-{area_id}")
    if fmt == "geojson":
        return geojson_reply(output.report_features(report), meta={"at": report["at"]}, id_key="fid")
    return json_reply(report)
