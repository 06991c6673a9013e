"""SQL fragments shared by the analysis queries (constants only; no input is spliced in).

- `INPUT_GEOMS`: the request's geometries, from a bound text[] of GeoJSON, in SRID 4326
  (transformed from `:srid` when the caller stated another CRS), numbered from 0.
- `expand_sql(g, d)`: `g`'s bounding box grown by at least `d` metres in every direction, in
  degrees, so a geometry `&&` on it lets the GiST index prefilter a geography ST_DWithin.
  One degree of latitude is at least 110,574 m; one of longitude at least 111,319 m x cos(lat).
- `STATUS_AT`: the status an agreement area had at `:at`: the latest history row at or before
  `:at`; before the record began, the first recorded previous status (or the first status).
"""

from __future__ import annotations

from typing import Any

from server.db.tables import incidents as incidents_table
from server.security.release import Release

#: where an analysis statement reads incidents (always aliased `i`): replaced by `released_sql`
INCIDENTS = "/*released*/incidents"


#: where an analysis statement reads the superseded reports (a FROM item, one column `id`):
#: replaced by `released_sql` (see SUPERSEDED)
SUPERSEDED_SET = "/*superseded_set*/"
SUPERSEDED = f"SELECT s.id FROM {SUPERSEDED_SET} s"  # noqa: S608 - constants only

_RANK = ("CASE x.verification_status WHEN 'confirmed' THEN 0 WHEN 'under_review' THEN 1 "
         "WHEN 'reported' THEN 2 ELSE 3 END")


def _member(column: str) -> str:
    """LATERAL subquery: the link's report in `column` as the caller sees it, with its rank (a
    look-up by id per link: OFFSET 0 keeps it one, not a scan of every incident to hash)."""
    return (f"SELECT x.id, {_RANK} AS rank FROM {INCIDENTS} x "  # noqa: S608 - constants only
            f"WHERE x.id = d.{column} OFFSET 0")


#: The superseded reports computed live from the links between rows the caller sees: a group is
#: a connected component of those links (A-B and B-C: one group, even without A-C); every member
#: a linked report ranks before (better verified, then lower id) is superseded, so only the
#: group's first report stands. Reached pairs grow with the square of a group's size (groups are
#: small: a report links to at most one report per other source).
SUPERSEDED_LIVE = f"""(
    WITH RECURSIVE v AS MATERIALIZED (
      SELECT n.id AS n_id, n.rank AS n_rank, o.id AS o_id, o.rank AS o_rank
      FROM incident_duplicates d
      CROSS JOIN LATERAL ({_member("incident_id")}) n
      CROSS JOIN LATERAL ({_member("duplicate_of")}) o
    ), e AS MATERIALIZED (
      SELECT n_id AS a, o_id AS b FROM v UNION ALL SELECT o_id, n_id FROM v
    ), ranks AS MATERIALIZED (
      SELECT n_id AS id, n_rank AS rank FROM v UNION SELECT o_id, o_rank FROM v
    ), reach(id, other) AS (
      SELECT a, b FROM e
      UNION
      SELECT r.id, e.b FROM reach r JOIN e ON e.a = r.other WHERE e.b <> r.id
    )
    SELECT DISTINCT r.id FROM reach r JOIN ranks me ON me.id = r.id
    JOIN ranks o ON o.id = r.other
    WHERE (o.rank, o.id) < (me.rank, me.id))"""  # noqa: S608 - constant fragments only
#: the same for a caller who sees every row: kept by triggers (migration 13d_duplicate_groups)
SUPERSEDED_KEPT = "(SELECT incident_id AS id FROM incident_superseded)"


def released_sql(sql: str, rel: Release, params: dict[str, Any]) -> str:
    """`sql` reading incidents as `rel` (built with alias "i") releases them: unchanged for
    unrestricted callers; otherwise every `INCIDENTS` becomes the subquery of released rows
    (snapped points, bucketed times), so filters, joins, counts and outputs see only those.
    `SUPERSEDED_SET` becomes the maintained set for unrestricted callers, else the live one
    over the rows released to the caller."""
    params.update(rel.params)
    params.setdefault("min_count", rel.min_count)
    if rel.unrestricted:
        return sql.replace(SUPERSEDED_SET, SUPERSEDED_KEPT).replace(INCIDENTS, "incidents")
    sql = sql.replace(SUPERSEDED_SET, SUPERSEDED_LIVE)
    if rel.alias != "i":
        raise ValueError("analysis releases are built with alias 'i'")
    return sql.replace(INCIDENTS, rel.source("incidents", list(incidents_table.c.keys())))

INPUT_GEOMS = """
    SELECT (u.ord - 1)::int AS ord,
           CASE WHEN :srid = 4326 THEN ST_SetSRID(ST_GeomFromGeoJSON(u.gj), 4326)
                ELSE ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(u.gj), :srid), 4326) END AS g
    FROM unnest(CAST(:geoms AS text[])) WITH ORDINALITY AS u(gj, ord)
"""


def expand_sql(g: str, d: str) -> str:
    """SQL of `g`'s box grown by `d` metres (both SQL expressions from constants)."""
    lat = f"({d}) / 110574.0 * 1.01 + 1e-9"
    maxlat = f"least(89.0, greatest(abs(ST_YMin({g})), abs(ST_YMax({g}))) + {lat})"
    lon = f"({d}) / (111319.0 * cos(radians({maxlat}))) * 1.01 + 1e-9"
    return f"ST_Expand({g}, {lon}, {lat})"


STATUS_AT = """
    coalesce(
      (SELECT h.status FROM agreement_area_history h
        WHERE h.area_id = a.id AND h.changed_at <= :at
        ORDER BY h.changed_at DESC, h.id DESC LIMIT 1),
      (SELECT coalesce(h.previous_status, h.status) FROM agreement_area_history h
        WHERE h.area_id = a.id AND h.changed_at > :at
        ORDER BY h.changed_at, h.id LIMIT 1),
      a.status)
"""

IN_FORCE = """
    a.signed_at IS NOT NULL AND a.signed_at <= :at
    AND (a.effective_from IS NULL OR a.effective_from <= :at)
    AND (a.effective_to IS NULL OR a.effective_to > :at)
"""
