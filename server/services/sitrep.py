"""The situation-report map of an agreement area: period rules, data gathering, the HTML document.
No SQL, no FastAPI: used by the API route and by `truce report area`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from server import basemaps
from server.errors import InvalidQueryError, NotFoundError
from server.maps.i18n import LANGUAGES, Catalogue, catalogue
from server.maps.sitrep import SitrepMap, build_sitrep_map
from server.params import parse_datetime
from server.queries import sitrep as q
from server.security.release import Release

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
DEFAULT_BUFFER_M = 5000.0
MAX_BUFFER_M = 50_000.0
MAX_MARKERS = 5000


@dataclass(frozen=True)
class Report:
    html: str
    filename: str
    start: datetime
    end: datetime
    incidents: int
    deliveries: int


def parse_instant(raw: str | None, *, name: str, end_of_day: bool = False) -> datetime | None:
    """An RFC 3339 instant or a date (a date as `end` means the end of that day); None if absent."""
    if raw is None or raw.strip() == "":
        return None
    if "/" in raw or raw.strip() == "..":
        raise InvalidQueryError(f"{name} must be one date or instant (e.g. 2016-03-01 or "
                                f"2016-03-01T00:00:00Z), not {raw!r}")
    try:
        low, high = parse_datetime(raw.strip())
    except InvalidQueryError:
        raise InvalidQueryError(f"{name} {raw!r} is not a date or RFC 3339 instant "
                                "(e.g. 2016-03-01 or 2016-03-01T00:00:00Z)") from None
    return high if end_of_day else low


def resolve_period(start: datetime | None, end: datetime | None, *, signed_at: datetime | None,
                   data_range: tuple[datetime | None, datetime | None],
                   now: datetime | None = None) -> tuple[datetime, datetime]:
    """Neither given: the 30 days after signing, or (never signed) the whole incident data range.
    One given: 30 days from it, or up to it. Both: as given, in order."""
    days = timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        if signed_at is not None:
            start, end = signed_at, signed_at + days
        elif data_range[0] is not None and data_range[1] is not None:
            start, end = data_range[0], data_range[1]
        else:
            end = now or datetime.now(UTC)
            start = end - days
    elif start is None:
        assert end is not None
        start = end - days
    elif end is None:
        end = start + days
    if start > end:
        raise InvalidQueryError(f"start ({start.isoformat()}) is after end ({end.isoformat()})")
    return start, end


def _release_notes(rel: Release, cat: Catalogue) -> list[str]:
    notes = []
    if "location_obfuscated" in rel.notes:
        notes.append(cat.t("sitrep.note_location", how=rel.notes["location_obfuscated"]))
    if "time_bucket" in rel.notes:
        notes.append(cat.t("sitrep.note_time", bucket=cat.vocab("time_bucket",
                                                                 rel.notes["time_bucket"])))
    if rel.notes or not rel.unrestricted:
        notes.append(cat.t("sitrep.note_released"))
    return notes


def parse_lang(raw: str | None) -> str:
    """The report's language: en (default), ar or ru."""
    if raw is None or raw.strip() == "":
        return "en"
    if raw not in LANGUAGES:
        raise InvalidQueryError(f"lang must be one of {', '.join(LANGUAGES)}, not {raw!r}")
    return raw


def _area_id(raw: str | int) -> int:
    text = str(raw).strip()
    if not text.isdecimal():
        raise NotFoundError(f"no agreement area {raw!r}: area ids are integers; "
                            "see /collections/agreement_areas/items")
    return int(text)


def _geography(basemap: basemaps.Basemap | None,
               bounds: tuple[float, float, float, float] | None
               ) -> dict[str, list[dict[str, Any]]] | None:
    """The basemap's features around `bounds`, with a margin as wide as the area on each side
    (the document opens fitted to the area, on a screen of any shape)."""
    if basemap is None or bounds is None:
        return None
    minx, miny, maxx, maxy = bounds
    dx, dy = max(maxx - minx, 0.05), max(maxy - miny, 0.05)
    try:
        return basemaps.features_in(basemap, (minx - dx, miny - dy, maxx + dx, maxy + dy))
    except (OSError, ValueError) as exc:  # a damaged file: the report without geography
        log.warning("basemap %s unreadable for a report map: %s", basemap.name, exc)
        return None


def area_map(raw_area_id: str | int, start: datetime | None, end: datetime | None,
             rel: Release, *, session: Session, buffer_m: float = DEFAULT_BUFFER_M,
             max_markers: int = MAX_MARKERS, lang: str = "en",
             basemap: basemaps.Basemap | None = None) -> Report:
    """The standalone HTML map of one area over a period (see `resolve_period`), with the
    incidents `rel` (built with alias "i") releases, at the precision it allows, over
    `basemap`'s geography around the area (none: a plain background)."""
    if not 0 <= buffer_m <= MAX_BUFFER_M:
        raise InvalidQueryError(f"buffer must be between 0 and {MAX_BUFFER_M:.0f} metres")
    area_id = _area_id(raw_area_id)
    area = q.get_area(area_id, buffer_m=buffer_m, session=session)
    if area is None:
        raise NotFoundError(f"no agreement area {area_id}; see /collections/agreement_areas/items")
    data_range = (None, None) if (start or end or area["signed_at"]) \
        else q.incident_time_range(rel, session=session)
    start, end = resolve_period(start, end, signed_at=area["signed_at"], data_range=data_range)
    incidents = q.list_incidents(area_id, start, end, rel, buffer_m=buffer_m,
                                 limit=max_markers, session=session)
    deliveries = q.list_deliveries(area_id, start, end, buffer_m=buffer_m, limit=max_markers,
                                   session=session)
    document = build_sitrep_map(SitrepMap(
        area=area["feature"], start=start, end=end, buffer_m=buffer_m,
        incidents=incidents["features"], deliveries=deliveries["features"],
        incident_count=incidents["total"], incidents_inside=incidents["inside"],
        fatalities=incidents["fatalities"], delivery_count=deliveries["total"],
        buffer=area["buffer"] if buffer_m > 0 else None, bounds=area["bounds"],
        notes=[catalogue(lang).t("sitrep.excluded"), *_release_notes(rel, catalogue(lang))],
        lang=lang, basemap=_geography(basemap, area["bounds"])))
    filename = f"sitrep-area-{area_id}-{start:%Y%m%d}-{end:%Y%m%d}.html"
    return Report(html=document, filename=filename, start=start, end=end,
                  incidents=incidents["total"], deliveries=deliveries["total"])
