"""Aid gaps and convoy risk, hotspots and grids, time series, nearest places, population
exposure and the area report. No SQL, no FastAPI.

- **Aid gaps**: a settlement is *signed* when it lies in an agreement area in force at `at`
  (rule of the deconfliction check). It has a gap when no delivery reached it in the `days`
  before `at`; a delivery reaches it when it names the settlement or lands within `radius_m`.
  Areas: a delivery names the area or lands inside it. `priority` = population x days without a
  delivery (capped at 365), so big places waiting long come first.
- **Aid risk**: deliveries with at least one incident (not rejected, not duplicate) within
  `distance_m` metres and `hours` hours (before or after).
- **Each event once** (`dedupe`, the default on every count here): of two reports linked as
  one event by the ETL (/analysis/duplicates) that the caller sees, only the better verified
  (confirmed, under review, reported, then rejected or duplicate; among equals the first
  recorded) counts; `duplicates_merged` says how many were left out. `dedupe=false` counts
  every report.
- **Hotspots / grid**: metres are measured in the UTM zone of the region's centre (the bbox's,
  or Syria's by default); `size_m` is a square's side or a hexagon's circumradius.
- **Exposure**: people in a zone = sum of the population raster's pixels weighted by the share of
  each pixel inside the zone (see server.raster.zonal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from server.db.tables.incidents import VERIFICATION_STATUSES
from server.errors import InvalidQueryError, NotFoundError
from server.queries import analysis_aid as aid_q
from server.queries import analysis_hotspots as hot_q
from server.queries import analysis_places as places_q
from server.raster import zonal
from server.security.release import Release
from server.settings import Settings

from . import analysis_areas
from .analysis import IN_FORCE_STATUSES

SYRIA_CENTRE = (38.5, 35.0)
STEPS = ("day", "week", "month")
GRID_KINDS = ("hexagon", "square", "admin")


def utm_srid(lon: float, lat: float) -> int:
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def region_srid(bbox: tuple[float, float, float, float] | None) -> int:
    if bbox is None:
        return utm_srid(*SYRIA_CENTRE)
    return utm_srid((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)


def aid_gaps(*, by: str, at: datetime, days: int, radius_m: float, limit: int,
             session: Session) -> list[dict[str, Any]]:
    """At most `limit` places: those of highest priority."""
    if by not in ("settlement", "area"):
        raise InvalidQueryError("by must be settlement or area")
    if days < 1:
        raise InvalidQueryError("days must be at least 1")
    rows = aid_q.gaps(by=by, at=at, since=at - timedelta(days=days), radius_m=radius_m,
                      statuses=list(IN_FORCE_STATUSES), limit=limit, session=session)
    for row in rows:
        last = row["last_delivery_at"]
        waited = 365 if last is None else min(365, (at - last).days)
        row["days_without_delivery"] = None if last is None else (at - last).days
        row["priority"] = int(row["population"] or 0) * waited
    rows.sort(key=lambda r: (-r["priority"], r["id"]))
    return rows


def aid_risk(rel: Release, *, distance_m: float, hours: float, start: datetime | None,
             end: datetime | None, limit: int, session: Session,
             dedupe: bool = True) -> list[dict[str, Any]]:
    if hours <= 0:
        raise InvalidQueryError("hours must be more than 0")
    return aid_q.risk(rel, distance_m=distance_m, hours=hours, start=start, end=end,
                      excluded=["rejected", "duplicate"], limit=limit, dedupe=dedupe,
                      session=session)


def filters(*, start: datetime | None, end: datetime | None, event_types: list[str] | None,
            verifications: list[str] | None, bbox: tuple[float, float, float, float] | None,
            area_id: int | None, dedupe: bool = True) -> dict[str, Any]:
    return {"start": start, "end": end, "types": event_types, "bbox": bbox, "area_id": area_id,
            "dedupe": dedupe,
            "verifications": analysis_areas.check_vocabulary(
                verifications, VERIFICATION_STATUSES, "verification_status")}


def merged(f: dict[str, Any], rel: Release, *, session: Session) -> int | None:
    """How many reports the filters `f` match were left out as superseded duplicates (0 without
    `dedupe`; None when it is a small count the caller may not be told)."""
    if not f.get("dedupe"):
        return 0
    n = hot_q.merged(f, rel, session=session)
    return None if analysis_areas.small(n, rel.min_count) else n


def _suppressed(rows: list[dict[str, Any]], rel: Release) -> list[dict[str, Any]]:
    """Small-count suppression: aggregates of fewer than rel.min_count incidents are left out."""
    if not rel.min_count:
        return rows
    return [r for r in rows if int(r["incidents"] or 0) >= rel.min_count]


def hotspots(f: dict[str, Any], rel: Release, *, eps_m: float, minpoints: int, limit: int,
             session: Session) -> list[dict[str, Any]]:
    if not 1 <= eps_m <= 100_000:
        raise InvalidQueryError("eps_m must be between 1 and 100,000 metres")
    if not 1 <= minpoints <= 10_000:
        raise InvalidQueryError("minpoints must be between 1 and 10,000")
    return _suppressed(hot_q.hotspots(f, rel, srid=region_srid(f["bbox"]), eps_m=eps_m,
                                      minpoints=minpoints, limit=limit, session=session), rel)


def grid(f: dict[str, Any], rel: Release, *, kind: str, size_m: float, level: int, limit: int,
         session: Session) -> list[dict[str, Any]]:
    if kind not in GRID_KINDS:
        raise InvalidQueryError(f"kind must be one of {', '.join(GRID_KINDS)}")
    if kind != "admin" and not 100 <= size_m <= 500_000:
        raise InvalidQueryError("size_m must be between 100 and 500,000 metres")
    if kind == "admin" and not 0 <= level <= 4:
        raise InvalidQueryError("level must be 0..4")
    rows = hot_q.grid(f, rel, kind=kind, srid=region_srid(f["bbox"]), size_m=size_m,
                      level=level, limit=limit, session=session)
    if kind == "admin":  # every admin area is listed: a small count becomes null
        for row in rows:
            if rel.min_count and 0 < int(row["incidents"]) < rel.min_count:
                row["incidents"] = row["fatalities"] = None
    else:
        rows = _suppressed(rows, rel)
    for row in rows:
        if kind == "admin":
            row["cell"], row["name"] = row.pop("i"), row.pop("j")
        else:
            row["cell"] = f"{row.pop('i')}:{row.pop('j')}"
    return rows


def grid_tile(f: dict[str, Any], rel: Release, *, z: int, x: int, y: int, size_m: float,
              session: Session) -> bytes:
    if not 100 <= size_m <= 500_000:
        raise InvalidQueryError("size_m must be between 100 and 500,000 metres")
    if x >= 2**z or y >= 2**z:
        raise InvalidQueryError(f"tile {z}/{y}/{x} is outside the WebMercatorQuad matrix")
    return hot_q.grid_tile(f, rel, z=z, x=x, y=y, srid=region_srid(f["bbox"]), size_m=size_m,
                           session=session)


def buckets(start: datetime, end: datetime, step: str) -> int:
    """How many periods of `step` (UTC, as date_trunc counts them) the window start..end spans."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    if last < first:
        return 0
    if step == "day":
        return (last - first).days + 1
    if step == "week":  # ISO weeks, from Monday
        monday = first - timedelta(days=first.weekday())
        return (last - monday).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _too_many_buckets(max_buckets: int, step: str, found: str) -> InvalidQueryError:
    return InvalidQueryError(
        f"at most {max_buckets:,} buckets in a time series ({found}): narrow datetime or use "
        f"a coarser step", max_buckets=max_buckets, step=step)


def timeseries(f: dict[str, Any], rel: Release, *, step: str, max_buckets: int,
               session: Session) -> list[dict[str, Any]]:
    """Counts per period; at most `max_buckets` periods, checked before any SQL for a closed
    window (an open end is bounded by the data: checked by the query, which stops counting
    periods one past the cap)."""
    if step not in STEPS:
        raise InvalidQueryError(f"step must be one of {', '.join(STEPS)}")
    if f["start"] is not None and f["end"] is not None:
        n = buckets(f["start"], f["end"], step)
        if n > max_buckets:
            raise _too_many_buckets(max_buckets, step, f"this window has {n:,} {step}s")
    rows = hot_q.timeseries(f, rel, step=step, max_buckets=max_buckets, session=session)
    if len(rows) > max_buckets:
        raise _too_many_buckets(max_buckets, step, f"the matching incidents span more {step}s")
    if rel.min_count:  # a period with a few incidents: null, not the count
        for row in rows:
            if 0 < int(row["incidents"]) < rel.min_count:
                row["incidents"] = row["fatalities"] = row["confirmed"] = None
    return rows


def nearest(kind: str, *, lon: float, lat: float, n: int, start: datetime | None,
            end: datetime | None, session: Session) -> list[dict[str, Any]]:
    if kind not in places_q.NEAREST_KINDS:
        raise InvalidQueryError(f"kind must be one of {', '.join(places_q.NEAREST_KINDS)}")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidQueryError("lon must be within -180..180 and lat within -90..90")
    return places_q.nearest(kind, lon=lon, lat=lat, n=n, start=start, end=end, session=session)


def population_raster(name: str | None, *, settings: Settings,
                      session: Session) -> tuple[str, str, str | None]:
    """(name, path, date) of the population raster: from settings.raster.sources or the
    `rasters` catalogue table."""
    name = name or settings.analysis.population_raster
    entry: dict[str, Any] | None = None
    if not name:
        candidates = [n for n in settings.raster.sources if "pop" in n.lower()]
        if candidates:
            name = candidates[0]
        else:
            entry = places_q.raster_entry(None, session=session)
            if entry is None:
                raise NotFoundError("no population raster is configured; pass raster=<name>")
            name = str(entry["name"])
    path = settings.raster.sources.get(name)
    date: str | None = None
    if path is None:
        entry = entry or places_q.raster_entry(name, session=session)
        if entry is None:
            raise NotFoundError(f"no raster named {name!r}",
                                rasters=sorted(settings.raster.sources))
        path = str(entry.get("path"))
        for key in ("date", "acquired_at", "valid_at", "created_at"):
            if entry.get(key):
                date = str(entry[key])
                break
    if not Path(path).exists():
        raise NotFoundError(f"the raster {name!r} has no file on this server")
    return name, path, date


def exposure(rel: Release, *, raster: str | None, area_id: int | None, distance_m: float,
             start: datetime | None, end: datetime | None, event_types: list[str] | None,
             incident_ids: list[int] | None, bbox: tuple[float, float, float, float] | None,
             settings: Settings, session: Session, geometry_out: bool = False) -> dict[str, Any]:
    """People in the zone; with `geometry_out` the zone's GeoJSON geometry too (`geometry`)."""
    name, path, date = population_raster(raster, settings=settings, session=session)
    incidents = None
    if area_id is not None:
        geometry = places_q.area_geometry(area_id, distance_m=distance_m, session=session)
        if geometry is None:
            raise NotFoundError(f"no agreement area {area_id}")
        zone = f"agreement area {area_id}" + (f" and {distance_m:g} m around it"
                                               if distance_m else "")
    else:
        if distance_m <= 0:
            raise InvalidQueryError("distance_m must be > 0 for people near incidents")
        if not (start or end or incident_ids or bbox):
            raise InvalidQueryError("choose the incidents: datetime, incident_id or bbox")
        incidents, geometry = places_q.incidents_buffer(
            rel, distance_m=distance_m, start=start, end=end, types=event_types, ids=incident_ids,
            bbox=bbox, max_incidents=settings.analysis.max_exposure_incidents, session=session)
        if incidents > settings.analysis.max_exposure_incidents:
            limit = settings.analysis.max_exposure_incidents
            raise InvalidQueryError(
                f"at most {limit:,} incidents make one exposure zone (more match): narrow "
                f"datetime, bbox, event_type or incident_id", max_incidents=limit)
        zone = f"within {distance_m:g} m of {incidents} incidents"
    info = zonal.describe(path)
    result = (zonal.zonal_sum(path, orjson.loads(geometry)) if geometry
              else zonal.ZonalResult(0.0, 0, 0.0, 0, 0))
    answer: dict[str, Any] = {
        "zone": zone, "incidents": incidents, "distance_m": distance_m,
        "people": round(result.total, 1), "pixels": result.pixels,
        "covered_pixels": round(result.covered_pixels, 3), "nodata_pixels": result.nodata_pixels,
        "raster": {"name": name, "date": date or info.date, "crs": info.crs,
                   "resolution": info.resolution},
        "method": f"zonal sum, partial pixels weighted by covered share ({result.supersample}x"
                  f"{result.supersample} sub-pixels)",
    }
    if geometry_out:
        answer["geometry"] = orjson.loads(geometry) if geometry else None
    return answer


def area_report(area_id: int, rel: Release, *, at: datetime, distance_m: float, settings: Settings,
                session: Session, dedupe: bool = True) -> dict[str, Any]:
    area = places_q.area(area_id, at=at, session=session)
    if area is None:
        raise NotFoundError(f"no agreement area {area_id}")
    area["geometry"] = orjson.loads(area["geometry"])
    incidents = analysis_areas.incidents_by_area(
        rel, ids=[area_id], statuses=None, start=None, end=at, event_types=None, verifications=None,
        distance_m=distance_m, geometry=False, session=session, dedupe=dedupe)[0]
    compliance = analysis_areas.compliance(
        rel, ids=[area_id], statuses=None, at=at, weeks_before=8, recent_weeks=4, sort="id",
        descending=False, session=session, dedupe=dedupe)
    deliveries = places_q.area_deliveries(area_id, at=at, limit=50, session=session)
    exposure_answer: dict[str, Any] | None
    try:
        exposure_answer = exposure(rel, raster=None, area_id=area_id, distance_m=0, start=None,
                                   end=None, event_types=None, incident_ids=None, bbox=None,
                                   settings=settings, session=session)
    except NotFoundError as exc:
        exposure_answer = {"unavailable": exc.detail}
    return {
        "at": at.isoformat(), "area": area,
        "history": places_q.area_history(area_id, session=session),
        "incidents": {k: incidents.get(k) for k in ("inside", "near", "distance_m", "dedupe")},
        "compliance": compliance[0] if compliance else None,
        "aid_deliveries": deliveries,
        "exposure": exposure_answer,
    }
