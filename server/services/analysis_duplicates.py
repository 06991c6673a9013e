"""Cross-source duplicates: the links the ETL made, and counts of incidents vs distinct events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.queries import analysis_duplicates as q
from server.security.release import Release


def duplicates(rel: Release, *, incident_id: int | None, start: datetime | None,
               end: datetime | None, bbox: tuple[float, float, float, float] | None, limit: int,
               session: Session) -> dict[str, Any]:
    """{"counts": {incidents, duplicates, events}, "links": [...]} over the window and box (the
    counts are over incidents in them; a link is in them when its first-recorded report is)."""
    rows = q.links(rel, incident_id=incident_id, start=start, end=end, bbox=bbox, limit=limit,
                   session=session)
    counts = q.counts(rel, start=start, end=end, bbox=bbox, session=session)
    if rel.min_count and 0 < counts["incidents"] < rel.min_count:
        counts = {"incidents": None, "duplicates": None, "events": None}  # type: ignore[dict-item]
    return {"counts": counts, "links": rows}
