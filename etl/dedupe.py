"""Cross-source duplicates: after an incidents load, link each incident the run wrote to the
report of the same event from another source, so the event is not counted twice.

Two reports match when they are from different sources, within `distance_m` metres (geography),
their time spans ([occurred_at, occurred_until]) come within `hours` of each other, and their
event types are of one class (`event_type_classes`; a type not listed is its own class). Each
report is linked to at most one report per other source: the pair must be each other's best
(score: closer in space and time, same type scores higher). The later-recorded report (higher
id) is the duplicate (`incident_duplicates.incident_id`), the first-recorded the original.

Reports whose own time span is longer than MAX_SPAN_DAYS (UCDP events dated to a month or a
year) are too vague to match and are left alone.

Set-based and incremental: only the run's rows (etl_run_id) are matched, in one statement, after
their earlier links are dropped; a rerun that writes nothing changes nothing. The candidates come
from a hash join on (day, grid cell) keys: cells at least `distance_m` wide, each report of the run
keyed on its 3x3 neighbouring cells and the days of its span grown by `hours`, the other reports on
their own cell and days. A GiST index on the points cannot filter on time: in a town with a year of
reports it returns them all for every report; the keys find the
few of the same days, so the cost grows with the rows, not with their density.

Where reports crowd (hundreds at one place on one day), every report of the run would still be
paired with every other report there. But reports alike in place, time span and type (and
source) score the same against any report, and a tie goes to the lower id: only the
first-recorded of them can be a best pair. So each side keeps one report per such group before
pairing (the links are exactly those pairing them all would make), and the pairs grow with the
distinct places, days and types, not with the reports: 4 places x 500 reports of each of two
sources pair 4 reports with 4, not 1,000,000 pairs (tests/etl/test_duplicates_dense.py).

Links join reports into groups (connected components: A-B and B-C make one group of three), and
each group counts once. The links dropped and made here regroup the reports they touch,
set-based, through triggers on `incident_duplicates` (migration 13d_duplicate_groups): the
superseded reports and their counts in the per-area summary follow every link, whether made here,
by hand or removed by a deletion.
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, text

UNLINK = """
    DELETE FROM incident_duplicates d
    WHERE d.incident_id IN (SELECT id FROM incidents WHERE etl_run_id = :run_id)
       OR d.duplicate_of IN (SELECT id FROM incidents WHERE etl_run_id = :run_id)
"""

OTHER_SOURCES = "SELECT EXISTS (SELECT 1 FROM incidents WHERE source <> :source)"

MAX_SPAN_DAYS = 7
_WINDOW = "make_interval(secs => CAST(:hours AS float8) * 3600.0)"
_SPAN = f"interval '{MAX_SPAN_DAYS} days'"
_N_END = "coalesce(n.occurred_until, n.occurred_at)"
_C_END = "coalesce(c.occurred_until, c.occurred_at)"


def _day(ts: str) -> str:
    return f"floor(extract(epoch FROM {ts}) / 86400.0)::int"


LINK = f"""
WITH run AS MATERIALIZED (
  -- one report stands for the run's reports alike in place, time span and type (the lowest id):
  -- they score the same against every other report and a tie goes to the lower id, so no other
  -- of them can be a best pair; co-located reports cost one, not one each
  SELECT min(n.id) AS id, n.geom, n.occurred_at AS t0, {_N_END} AS t1
  FROM incidents n
  WHERE n.etl_run_id = :run_id AND {_N_END} - n.occurred_at <= {_SPAN}
  GROUP BY n.geom, n.occurred_at, {_N_END}, n.event_type
), grid AS MATERIALIZED (
  -- cells twice `distance` wide (longitude degrees at the run's highest latitude + 1 degree): a
  -- point's `distance` box touches 1, 2 or 4 of them
  SELECT 2.0 * (CAST(:distance AS float8) / 110574.0 * 1.01 + 1e-9) AS dlat,
         2.0 * (CAST(:distance AS float8)
                / (111319.0 * cos(radians(least(89.0, coalesce(max(abs(ST_Y(geom))), 0) + 1.0))))
                * 1.01 + 1e-9) AS dlon,
         min(t0) - {_WINDOW} - {_SPAN} AS since, max(t1) + {_WINDOW} AS until
  FROM run
), run_keys AS MATERIALIZED (
  -- offsets from series with constant bounds (:days is bound client-side), so the planner knows
  -- how many rows come: a report of the run keys the days of its span grown by the window and
  -- the cells its distance box touches; the other reports key their own days and cell
  SELECT r.id, r.day0 + d.k AS day, r.cx0 + x.k AS cx, r.cy0 + y.k AS cy
  FROM (SELECT run.id, {_day(f"t0 - {_WINDOW}")} AS day0,
               {_day(f"t1 + {_WINDOW}")} - {_day(f"t0 - {_WINDOW}")} AS ndays,
               floor((ST_X(geom) - g.dlon / 2) / g.dlon)::int AS cx0,
               floor((ST_X(geom) + g.dlon / 2) / g.dlon)::int
                 - floor((ST_X(geom) - g.dlon / 2) / g.dlon)::int AS ncx,
               floor((ST_Y(geom) - g.dlat / 2) / g.dlat)::int AS cy0,
               floor((ST_Y(geom) + g.dlat / 2) / g.dlat)::int
                 - floor((ST_Y(geom) - g.dlat / 2) / g.dlat)::int AS ncy
        FROM run CROSS JOIN grid g) r
  JOIN generate_series(0, CAST(:days AS int)) AS d(k) ON d.k <= r.ndays
  JOIN generate_series(0, 1) AS x(k) ON x.k <= r.ncx
  JOIN generate_series(0, 1) AS y(k) ON y.k <= r.ncy
), others AS MATERIALIZED (
  -- the other sources' reports of the run's days free to match (a report keeps a link made
  -- earlier to another report of the run's source); as for the run's, one stands for those of a
  -- source alike in place, time span and type. (No join to the run's keys here: the run's rows
  -- are not in the statistics yet, and a plan that believes them few loops over them.)
  SELECT min(o.id) AS id, o.geom, {_day("o.occurred_at")} AS day0,
         {_day("coalesce(o.occurred_until, o.occurred_at)")} - {_day("o.occurred_at")} AS ndays
  FROM incidents o CROSS JOIN grid g
  WHERE o.occurred_at BETWEEN g.since AND g.until AND o.source <> :source
    AND coalesce(o.occurred_until, o.occurred_at) - o.occurred_at <= {_SPAN}
    AND NOT EXISTS (SELECT 1 FROM incident_duplicates d JOIN incidents x ON x.id = d.duplicate_of
                    WHERE d.incident_id = o.id AND x.source = :source)
    AND NOT EXISTS (SELECT 1 FROM incident_duplicates d JOIN incidents x ON x.id = d.incident_id
                    WHERE d.duplicate_of = o.id AND x.source = :source)
  GROUP BY o.source, o.geom, o.occurred_at, coalesce(o.occurred_until, o.occurred_at),
           o.event_type
), other_keys AS MATERIALIZED (
  SELECT c.id, c.day0 + d.k AS day, c.cx, c.cy
  FROM (SELECT o.id, o.day0, o.ndays, floor(ST_X(o.geom) / g.dlon)::int AS cx,
               floor(ST_Y(o.geom) / g.dlat)::int AS cy
        FROM others o CROSS JOIN grid g) c
  JOIN generate_series(0, {MAX_SPAN_DAYS + 1}) AS d(k) ON d.k <= c.ndays
), pairs AS (
  SELECT DISTINCT rk.id AS n_id, ok.id AS c_id
  FROM run_keys rk JOIN other_keys ok USING (day, cx, cy)
), candidates AS (
  SELECT n.id AS n_id, c.id AS c_id, c.source AS c_source, n.event_type AS n_type,
         c.event_type AS c_type, coalesce(tn.event_class, n.event_type) AS event_class,
         ST_Distance(n.geom::geography, c.geom::geography) AS distance_m,
         greatest(0.0, extract(epoch FROM greatest(n.occurred_at, c.occurred_at)
                                          - least({_N_END}, {_C_END})) / 3600.0) AS hours_apart
  FROM pairs p
  JOIN incidents n ON n.id = p.n_id
  JOIN incidents c ON c.id = p.c_id
  LEFT JOIN event_type_classes tn ON tn.event_type = n.event_type
  LEFT JOIN event_type_classes tc ON tc.event_type = c.event_type
  WHERE c.occurred_at <= {_N_END} + {_WINDOW} AND {_C_END} >= n.occurred_at - {_WINDOW}
    AND ST_DWithin(n.geom::geography, c.geom::geography, :distance)
    AND coalesce(tn.event_class, n.event_type) = coalesce(tc.event_class, c.event_type)
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


def link_params(*, run_id: int, source: str, distance_m: float | None = None,
                hours: float | None = None) -> dict[str, object]:
    """LINK's parameters. Defaults: TRUCE_ETL_DUPLICATE_DISTANCE_M and TRUCE_ETL_DUPLICATE_HOURS
    (EtlSettings)."""
    if distance_m is None or hours is None:
        from server.settings import EtlSettings

        settings = EtlSettings()
        distance_m = settings.duplicate_distance_m if distance_m is None else distance_m
        hours = settings.duplicate_hours if hours is None else hours
    days = MAX_SPAN_DAYS + 2 * math.ceil(hours / 24) + 2  # the most days a report's keys cover
    return {"run_id": run_id, "source": source, "days": days, "distance": float(distance_m),
            "hours": float(hours)}


def link(conn: Connection, *, run_id: int, source: str, distance_m: float | None = None,
         hours: float | None = None) -> int:
    """Re-link the incidents run `run_id` wrote (of `source`); return the links made."""
    params = link_params(run_id=run_id, source=source, distance_m=distance_m, hours=hours)
    if not conn.execute(text(OTHER_SOURCES), {"source": source}).scalar():
        return 0  # one source only (a first load, a benchmark): no link can exist
    conn.execute(text(UNLINK), {"run_id": run_id})
    conn.execute(text("SET LOCAL work_mem = '128MB'"))  # the key join hashes in memory
    result = conn.execute(text(LINK), params)
    return int(result.rowcount or 0)
