"""Cross-source duplicate links (made by the ETL after each incidents load) as the caller may see
them: a link shows only when both its incidents are released to the caller; the counts say how
many incidents and how many distinct events (incidents minus the duplicates among them).

Which report of a linked event is counted (`SUPERSEDED`, the rule of every counting analysis):
of two linked reports the caller may both see, the one ranked first stands for the event and
the other is *superseded*: the better verified (confirmed, then under review, then reported,
then rejected or marked duplicate), and among equals the first recorded (the lower id, the
`duplicate_of` side of the link). Links join reports into groups (connected components: three
sources linked in a chain A-B, B-C, but not A-C, are one group) and each group counts once, as
its first-ranked report. Only links between reports the caller sees count, so a report it
cannot see never joins, splits or ranks its groups: a public caller's counts never depend on
an unreleased report. The event is counted where, when and as what its standing report says.
For callers who see every row the set is maintained (analysis_common.SUPERSEDED_KEPT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.security.release import Release

from .analysis_common import INCIDENTS, SUPERSEDED, released_sql

NOTHING_SUPERSEDED = "SELECT NULL::bigint AS id WHERE FALSE"


def any_links(session: Session) -> bool:
    """Whether any report is linked at all (one index probe): without links, deduplicating
    changes nothing, and the statements skip the anti-join (a 10^6-row scan then pays for it)."""
    return bool(session.execute(text("SELECT EXISTS (SELECT 1 FROM incident_duplicates)"))
                .scalar())


def superseded_sql(dedupe: bool) -> str:
    """The superseded reports when deduplicating, else an empty set (same column `id`)."""
    return SUPERSEDED if dedupe else NOTHING_SUPERSEDED


def distinct_events(alias: str, dedupe: bool) -> str:
    """SQL condition on incident row `alias` (for a WHERE or a join's ON): it stands for its event
    (not superseded) when `dedupe`; TRUE otherwise."""
    if not dedupe:
        return "TRUE"
    if not alias.isidentifier():
        raise ValueError(f"bad alias {alias!r}")
    return f"NOT EXISTS (SELECT 1 FROM ({SUPERSEDED}) sup WHERE sup.id = {alias}.id)"  # noqa: S608


_WINDOW = """
    (CAST(:start AS timestamptz) IS NULL OR {a}.occurred_at >= :start)
    AND (CAST(:end AS timestamptz) IS NULL OR {a}.occurred_at <= :end)
    AND (CAST(:minx AS float8) IS NULL
         OR {a}.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))
"""

LINKS_SQL = f"""
SELECT d.incident_id, d.duplicate_of, i.source, i.source_id, o.source AS duplicate_of_source,
       o.source_id AS duplicate_of_source_id, i.event_type, o.event_type AS duplicate_of_event_type,
       i.occurred_at, o.occurred_at AS duplicate_of_occurred_at,
       round(d.distance_m::numeric) AS distance_m, round(d.hours_apart::numeric, 1) AS hours_apart,
       round(d.score::numeric, 3) AS score, d.reason,
       ST_AsGeoJSON(ST_MakeLine(o.geom, i.geom), 6) AS geometry
FROM incident_duplicates d
JOIN {INCIDENTS} i ON i.id = d.incident_id
JOIN {INCIDENTS} o ON o.id = d.duplicate_of
WHERE (CAST(:incident AS bigint) IS NULL OR :incident IN (d.incident_id, d.duplicate_of))
  AND {_WINDOW.format(a="o")}
ORDER BY o.occurred_at, d.duplicate_of, d.incident_id
LIMIT :limit
"""  # noqa: S608 - constant fragments only

COUNTS_SQL = f"""
SELECT count(*) AS incidents, count(sup.id) AS duplicates
FROM {INCIDENTS} i
LEFT JOIN ({SUPERSEDED}) sup ON sup.id = i.id
WHERE {_WINDOW.format(a="i")}
"""  # noqa: S608 - constant fragments only


def _params(start: Any, end: Any, bbox: tuple[float, float, float, float] | None
            ) -> dict[str, Any]:
    box = bbox or (None, None, None, None)
    return {"start": start, "end": end, "minx": box[0], "miny": box[1], "maxx": box[2],
            "maxy": box[3]}


def links(rel: Release, *, incident_id: int | None, start: Any, end: Any,
          bbox: tuple[float, float, float, float] | None, limit: int,
          session: Session) -> list[dict[str, Any]]:
    params = {**_params(start, end, bbox), "incident": incident_id, "limit": limit}
    sql = released_sql(LINKS_SQL, rel, params)
    return [dict(r) for r in session.execute(text(sql), params).mappings()]


def counts(rel: Release, *, start: Any, end: Any, bbox: tuple[float, float, float, float] | None,
           session: Session) -> dict[str, int]:
    params = _params(start, end, bbox)
    sql = released_sql(COUNTS_SQL, rel, params)
    row = session.execute(text(sql), params).mappings().one()
    return {"incidents": int(row["incidents"]), "duplicates": int(row["duplicates"]),
            "events": int(row["incidents"]) - int(row["duplicates"])}
