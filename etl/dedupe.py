"""Cross-source duplicates: after an incidents load, link each incident the run wrote to the
report of the same event from another source, so the event is not counted twice.

Two reports match when they are from different sources, within `distance_m` metres (geography),
their time spans ([occurred_at, occurred_until]) come within `hours` of each other, and their
event types are of one class (`event_type_classes`; a type not listed is its own class). Each
report is linked to at most one report per other source: the pair must be each other's best
(score: closer in space and time, same type scores higher). The later-recorded report (higher
id) is the duplicate (`incident_duplicates.incident_id`), the first-recorded the original.

Set-based and incremental: only the run's rows (etl_run_id) are matched, in one statement whose
join uses the incidents' GiST index (a box grown by the distance), after their earlier links are
dropped; a rerun that writes nothing changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

UNLINK = """
    DELETE FROM incident_duplicates d
    WHERE d.incident_id IN (SELECT id FROM incidents WHERE etl_run_id = :run_id)
       OR d.duplicate_of IN (SELECT id FROM incidents WHERE etl_run_id = :run_id)
"""

OTHER_SOURCES = "SELECT EXISTS (SELECT 1 FROM incidents WHERE source <> :source)"

_DLAT = "(CAST(:distance AS float8) / 110574.0 * 1.01 + 1e-9)"
_DLON = (f"(CAST(:distance AS float8) / (111319.0 * cos(radians(least(89.0, abs(ST_Y(n.geom)) "
         f"+ {_DLAT})))) * 1.01 + 1e-9)")
_N_END = "coalesce(n.occurred_until, n.occurred_at)"
_C_END = "coalesce(c.occurred_until, c.occurred_at)"

LINK = f"""
WITH candidates AS (
  SELECT n.id AS n_id, c.id AS c_id, c.source AS c_source, n.event_type AS n_type,
         c.event_type AS c_type, coalesce(tn.event_class, n.event_type) AS event_class,
         ST_Distance(n.geom::geography, c.geom::geography) AS distance_m,
         greatest(0.0, extract(epoch FROM greatest(n.occurred_at, c.occurred_at)
                                          - least({_N_END}, {_C_END})) / 3600.0) AS hours_apart
  FROM incidents n
  JOIN incidents c
    ON c.geom && ST_Expand(n.geom, {_DLON}, {_DLAT})
   AND c.source <> n.source
   AND c.occurred_at <= {_N_END} + make_interval(secs => :hours * 3600.0)
   AND {_C_END} >= n.occurred_at - make_interval(secs => :hours * 3600.0)
   AND ST_DWithin(n.geom::geography, c.geom::geography, :distance)
  LEFT JOIN event_type_classes tn ON tn.event_type = n.event_type
  LEFT JOIN event_type_classes tc ON tc.event_type = c.event_type
  WHERE n.etl_run_id = :run_id
    AND coalesce(tn.event_class, n.event_type) = coalesce(tc.event_class, c.event_type)
    -- c keeps a link made earlier to another report of this source
    AND NOT EXISTS (SELECT 1 FROM incident_duplicates d JOIN incidents o ON o.id = d.duplicate_of
                    WHERE d.incident_id = c.id AND o.source = n.source)
    AND NOT EXISTS (SELECT 1 FROM incident_duplicates d JOIN incidents o ON o.id = d.incident_id
                    WHERE d.duplicate_of = c.id AND o.source = n.source)
), scored AS (
  SELECT *, round((1.0
           - 0.5 * CASE WHEN :distance > 0 THEN distance_m / :distance ELSE 0 END
           - 0.3 * CASE WHEN :hours > 0 THEN hours_apart / :hours ELSE 0 END
           - 0.2 * (n_type <> c_type)::int)::numeric, 3) AS score
  FROM candidates
), ranked AS (
  SELECT *,
         row_number() OVER (PARTITION BY n_id, c_source ORDER BY score DESC, distance_m, c_id)
           AS n_rank,
         row_number() OVER (PARTITION BY c_id ORDER BY score DESC, distance_m, n_id) AS c_rank
  FROM scored
)
INSERT INTO incident_duplicates (incident_id, duplicate_of, distance_m, hours_apart, score,
                                 reason, etl_run_id)
SELECT greatest(n_id, c_id), least(n_id, c_id), distance_m, hours_apart, score,
       format('%s m apart, %s h between the reports, %s', round(distance_m)::bigint,
              round(hours_apart::numeric, 1),
              CASE WHEN n_type = c_type THEN 'same type ' || n_type
                   ELSE format('types %s and %s are both %s', least(n_type, c_type),
                               greatest(n_type, c_type), event_class) END),
       :run_id
FROM ranked WHERE n_rank = 1 AND c_rank = 1
ON CONFLICT (incident_id, duplicate_of) DO NOTHING
"""  # noqa: S608 - constant fragments only; values are bound


def link(conn: Connection, *, run_id: int, source: str, distance_m: float | None = None,
         hours: float | None = None) -> int:
    """Re-link the incidents run `run_id` wrote (of `source`); return the links made. Defaults:
    TRUCE_ETL_DUPLICATE_DISTANCE_M and TRUCE_ETL_DUPLICATE_HOURS (EtlSettings)."""
    if distance_m is None or hours is None:
        from server.settings import EtlSettings

        settings = EtlSettings()
        distance_m = settings.duplicate_distance_m if distance_m is None else distance_m
        hours = settings.duplicate_hours if hours is None else hours
    if not conn.execute(text(OTHER_SOURCES), {"source": source}).scalar():
        return 0  # one source only (a first load, a benchmark): no link can exist
    conn.execute(text(UNLINK), {"run_id": run_id})
    result = conn.execute(text(LINK), {"run_id": run_id, "distance": float(distance_m),
                                       "hours": float(hours)})
    return int(result.rowcount or 0)
