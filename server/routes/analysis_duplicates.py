"""/analysis/duplicates: incidents two sources reported as one event (linked by the ETL), and how
many distinct events the incidents in a window are once those duplicates are not counted twice."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.deps import SessionDep, SettingsDep
from server.params import parse_bbox, parse_datetime
from server.routes.analysis_common import (
    AcceptDep,
    BBox,
    Format,
    ReleaseDep,
    Window,
    table_reply,
)
from server.schemas import analysis as ex
from server.services import analysis_duplicates as service
from server.services import analysis_output as output

router = APIRouter(prefix="/analysis", tags=["analysis"])

_COLUMNS = ["incident_id", "duplicate_of", "source", "source_id", "duplicate_of_source",
            "duplicate_of_source_id", "event_type", "duplicate_of_event_type", "occurred_at",
            "duplicate_of_occurred_at", "distance_m", "hours_apart", "score", "reason"]
_LINK: dict[str, Any] = {
    "incident_id": 5120, "duplicate_of": 311, "source": "acled", "source_id": "SYR8841",
    "duplicate_of_source": "ucdp_ged", "duplicate_of_source_id": "177342",
    "event_type": "battles", "duplicate_of_event_type": "state_based_violence",
    "occurred_at": "2016-03-02T00:00:00+00:00", "duplicate_of_occurred_at": "2016-03-01T00:00:00+00:00",
    "distance_m": 3000, "hours_apart": 24.0, "score": 0.55,
    "reason": "3000 m apart, 24.0 h between the reports, types battles and state_based_violence "
              "are both political_violence"}
_COUNTS = {"incidents": 1250, "duplicates": 85, "events": 1165}
_LINE = {"type": "LineString", "coordinates": [[36.2, 34.7], [36.2, 34.727043]]}


@router.get("/duplicates", response_class=Response,
            summary="Cross-source duplicates: linked reports of one event, with distance, time "
                    "gap, score and reason; and incidents vs distinct events in the window",
            description=(service.duplicates.__doc__ or "") + "\n\nA link is listed only when "
                        "both its incidents are released to the caller. `events` = `incidents` "
                        "- `duplicates`: the count with each event once.",
            responses=ex.responses(
                {"counts": _COUNTS, "links": [_LINK]},
                geojson=ex.geojson_example({"counts": _COUNTS}, [_LINK], _LINE,
                                           id_key="incident_id"),
                csv_text=ex.csv_example([_LINK], _COLUMNS)))
def duplicates(
    session: SessionDep, settings: SettingsDep, rel: ReleaseDep,
    incident_id: Annotated[int | None, Query(ge=1, description="only links of this incident")]
    = None,
    datetime: Window = None, bbox: BBox = None, f: Format = None, accept: AcceptDep = None,
) -> Response:
    fmt = output.negotiate(f, accept)
    start, end = parse_datetime(datetime)
    body = service.duplicates(rel, incident_id=incident_id, start=start, end=end,
                              bbox=parse_bbox(bbox), limit=settings.analysis.max_rows,
                              session=session)
    return table_reply(body["links"], fmt, _COLUMNS, meta={"counts": body["counts"]},
                       name="links", id_key="incident_id")
