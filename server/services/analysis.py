"""The deconfliction check: which agreement areas in force, settlements and recent aid
deliveries a planned action (a point, a route, an area) touches or comes near.

**When an area is in force at `at`** (the rule, also in the OpenAPI):
signed (`signed_at <= at`), effective (`effective_from` null or `<= at`), not expired
(`effective_to` null or `> at`), and its status *at that time* is `signed` or `violated`.
A violated agreement still binds the parties, so its area still needs deconfliction; `pending`
(not signed), `suspended` and `withdrawn` areas are not in force. The status at `at` comes from
the area's history (the latest change at or before `at`; before the record began, the first
recorded status), so a check for last March sees the status of last March."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from server.errors import InvalidQueryError
from server.queries import analysis_deconfliction as q
from server.settings import AnalysisSettings

from .analysis_input import check_distance, check_geometries, instant, parse_crs

IN_FORCE_STATUSES = ("signed", "violated")
IN_FORCE_RULE = (
    "An area is in force at `at` when signed_at <= at, effective_from is null or <= at, "
    "effective_to is null or > at, and its status at that time (from its history) is "
    "signed or violated.")


def deconfliction(*, geometries: list[Any], batch: bool, at: datetime | None, distance_m: float,
                  nearby_m: float | None, recent_days: int | None, crs: str | None,
                  limits: AnalysisSettings, session: Session) -> dict[str, Any]:
    srid = parse_crs(crs)
    if srid != 4326 and not q.srid_known(srid, session=session):
        raise InvalidQueryError(f"crs EPSG:{srid} is not a known spatial reference system")
    geoms = check_geometries(geometries, srid=srid, limits=limits)
    when = instant(at)
    distance = check_distance(distance_m, limits)
    near = check_distance(limits.nearby_m if nearby_m is None else nearby_m, limits, "nearby_m")
    days = limits.recent_aid_days if recent_days is None else recent_days
    if days < 1:
        raise InvalidQueryError("recent_days must be at least 1")
    per = max(1, limits.max_rows // len(geoms))  # hits per geometry, of each layer
    rows = q.check(geoms, srid=srid, at=when, since=when - timedelta(days=days),
                   distance_m=distance, nearby_m=near, statuses=list(IN_FORCE_STATUSES),
                   limit=per + 1, session=session)
    for r in rows:
        for layer in ("settlements", "aid_deliveries"):
            if len(getattr(r, layer)) > per:  # never a silently shortened list
                raise InvalidQueryError(
                    f"geometry {r.ord} has more than {per:,} {layer} within nearby_m: at most "
                    f"{limits.max_rows:,} of each per request ({per:,} per geometry in a batch "
                    f"of {len(geoms)}); lower nearby_m or split the batch",
                    max_rows=limits.max_rows, per_geometry=per)
    results = [{"index": r.ord, "areas": r.areas, "settlements": r.settlements,
                "aid_deliveries": r.aid_deliveries} for r in rows]
    head = {"at": when.isoformat(), "distance_m": distance, "nearby_m": near,
            "recent_days": days, "rule": IN_FORCE_RULE}
    if batch:
        return {**head, "results": results}
    only = results[0]
    return {**head, "areas": only["areas"], "settlements": only["settlements"],
            "aid_deliveries": only["aid_deliveries"]}
