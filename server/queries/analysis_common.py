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


def released_sql(sql: str, rel: Release, params: dict[str, Any]) -> str:
    """`sql` reading incidents as `rel` (built with alias "i") releases them: unchanged for
    unrestricted callers; otherwise every `INCIDENTS` becomes the subquery of released rows
    (snapped points, bucketed times), so filters, joins, counts and outputs see only those."""
    params.update(rel.params)
    params.setdefault("min_count", rel.min_count)
    if rel.unrestricted:
        return sql.replace(INCIDENTS, "incidents")
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
