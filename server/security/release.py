"""Release rules: for a principal and a collection, which rows it may see and how precisely.

`release_for()` is pure. It returns SQL text over a row alias (identifiers from constants only,
values as bound parameters prefixed `rel_`) that EVERY output path must apply:

- `predicate`: a boolean SQL expression; rows where it is false are never output;
- `geometry`: the SQL expression to output instead of `<alias>.geom` (geo-obfuscation: snapped
  to a grid, moved to its admin area's centroid or to the nearest settlement; see `location`);
- `columns`: property -> SQL expression replacing `<alias>.<property>` (time bucketing);
- `hidden`: properties never output to this principal;
- `notes`: constant properties to add to every feature (saying what was obfuscated).

Incidents are released when confirmed and public; restricted rows reach only admin, analyst and
planner keys; a partner also sees the incidents its own organisation reported. Reporter identity
lives only in `reports` and reaches only analysts (see `services.reports`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.security.principal import Principal, Role

TIME_BUCKETS = ("hour", "day", "week", "month")
#: how public and partner principals see an incident's point (besides exactly, with no grid)
LOCATION_METHODS = ("grid", "admin_centroid", "settlement")
DEFAULT_FALLBACK_GRID = 0.1
RELEASED_STATUS = "confirmed"
RELEASED_SENSITIVITY = "public"

#: per collection: the time columns bucketing applies to, and whether rows carry release state
_INCIDENT_TIMES = ("occurred_at", "occurred_until", "reported_at")
RESTRICTED_COLLECTIONS = frozenset({"incidents"})


@dataclass(frozen=True)
class ReleasePolicy:
    """How precisely public and partner principals see incidents (from SecuritySettings)."""

    public_grid_degrees: float | None = 0.1
    partner_grid_degrees: float | None = None
    public_time_bucket: str | None = "day"
    partner_time_bucket: str | None = None
    #: aggregates (grid cells, clusters, time-series buckets) counting fewer released incidents
    #: than this are left out (or given as null) for public and partner principals; None: off
    min_count: int | None = None
    #: "grid" (the role's grid; none: exact), "admin_centroid" or "settlement"; the last two fall
    #: back to the role's grid (else DEFAULT_FALLBACK_GRID) where no area / settlement is found
    public_location_method: str = "grid"
    partner_location_method: str = "grid"
    admin_level: int = 3  # admin_centroid: the level of the areas (3: sub-districts)
    settlement_max_degrees: float = 0.25  # settlement: the farthest a settlement may be


@dataclass(frozen=True)
class Release:
    predicate: str
    params: dict[str, Any] = field(default_factory=dict)
    geometry: str = "geom"
    columns: dict[str, str] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)
    alias: str = "t"
    grid: float | None = None  # the snapping grid of `geometry`, degrees (None: not a grid)
    min_count: int | None = None  # small-count suppression for aggregates (None: off)
    method: str = "exact"  # how `geometry` obfuscates: exact, grid, admin_centroid, settlement
    #: SQL: the farthest (degrees) `geometry` may lie from the exact point (None: it is exact)
    reach: str | None = None
    #: the look-up behind `geometry` as a LATERAL subquery (one column `g`) and the geometry
    #: over it (alias rel_loc): `source` joins it, so each row's look-up runs once
    lateral: str | None = None
    lateral_geometry: str | None = None
    #: SQL over `{box}`: a geometry covering every exact point the look-up moves into the box
    #: (besides those within `reach` of it), for the index prefilter; None: `reach` suffices
    moved_from: str | None = None
    #: the time bucket of `columns` (None: times are exact)
    bucket: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.predicate == "TRUE" and not self.columns and not self.notes

    @property
    def is_public_release(self) -> bool:
        """The predicate is exactly "confirmed and public" (no per-organisation rows)."""
        return self.predicate == released(self.alias)

    @property
    def pyramid_ok(self) -> bool:
        """Whether the maintained tile pyramid (cells of exact points, snapped arithmetically to
        `grid`) may answer for this release: unrestricted, or the public release located by a
        grid or exactly (an area centroid or a settlement cannot be computed from a cell)."""
        return self.unrestricted or (self.is_public_release
                                     and self.method in ("exact", "grid"))

    def source(self, table: str, columns: Sequence[str]) -> str:
        """FROM-clause SQL for `table` as this principal may see it, to be aliased `alias`.

        Unrestricted: the table itself (the same SQL as before, no extra cost). Otherwise a
        subquery of the released rows with released values under the table's own column names
        (snapped `geom`, bucketed times, NULL for hidden columns), so every filter, join, sort,
        aggregate and output over it sees only what may be seen; the exact point stays
        reachable only as `rel_exact_geom`, for index prefilters (see `within`)."""
        if self.unrestricted:
            return table
        a = self.alias
        cols = []
        rows = f"{table} {a}"
        if self.lateral:
            rows += f" LEFT JOIN LATERAL ({self.lateral}) rel_loc ON TRUE"
        for name in columns:
            if name in self.hidden:
                cols.append(f"NULL AS {name}")
            elif name == "geom":
                cols.append(f"{self.lateral_geometry or self.geometry} AS geom")
            else:
                cols.append(f"{self.columns.get(name, f'{a}.{name}')} AS {name}")
        cols.append(f"{a}.geom AS rel_exact_geom")
        cols += [f"{a}.{name} AS rel_exact_{name}" for name in columns
                 if name in self.columns and name not in self.hidden]
        return (f"(SELECT {', '.join(cols)} FROM {rows} "  # noqa: S608 - constants only
                f"WHERE {self.predicate})")

    def within(self, alias: str, box: str) -> str:
        """SQL: the released geometry of row `alias` (from `source`) is in box `box` (SRID 4326);
        index-friendly: the exact point is prefiltered on the box grown by the `reach` (or, for
        a look-up, also on where the points moved into the box come from)."""
        if self.unrestricted or not self.reach:
            return f"{alias}.geom && {box}"
        exact = f"{alias}.rel_exact_geom"
        near = f"{exact} && ST_Expand({box}, {self.reach})"
        if self.moved_from:
            near = f"({near} OR {exact} && {self.moved_from.format(box=box)})"
        return f"{near} AND {alias}.geom && {box}"

    def compare(self, alias: str, name: str, op: str, value: str) -> str:
        """SQL: the released time `name` of row `alias` (from `source`) is `op` (">=" or "<=")
        `value` (SQL, a bound value), written on the exact column so that its index answers
        it (a filter on the bucketed value would read every released row). For a bucket b
        (buckets cut in the session's time zone, exactly like the released values):
        b(x) >= v  <=>  x >= v when v starts a bucket, else x >= the start of the next bucket;
        b(x) <= v  <=>  x < the end of v's bucket. The same rows, so the same answers."""
        if op not in (">=", "<="):
            raise ValueError(f"bad comparison {op!r}")
        if not self.bucket or name not in self.columns:
            return f"{alias}.{name} {op} {value}"
        exact, v = f"{alias}.rel_exact_{name}", f"CAST({value} AS timestamptz)"
        start, step = f"date_trunc('{self.bucket}', {v})", f"interval '1 {self.bucket}'"
        if op == "<=":
            return f"{exact} < {start} + {step}"
        return f"{exact} >= (CASE WHEN {start} = {v} THEN {v} ELSE {start} + {step} END)"

    def bucket_edge(self, name: str, exact: str, *, after: bool) -> str | None:
        """SQL: the end (`after`; else the start) of the bucket of the exact time `exact` of
        column `name`; None when `name` is not bucketed."""
        if not self.bucket or name not in self.columns:
            return None
        start = f"date_trunc('{self.bucket}', {exact})"
        return f"{start} + interval '1 {self.bucket}'" if after else start


def released(alias: str = "t") -> str:
    """SQL: the row is released to everyone."""
    return (f"({alias}.verification_status = '{RELEASED_STATUS}' "
            f"AND {alias}.sensitivity = '{RELEASED_SENSITIVITY}')")


@dataclass(frozen=True)
class Location:
    """How a released point is output: SQL over `<alias>.geom`, the note saying so, the farthest
    it may move (SQL, degrees), the grid when it is a plain grid snap, and for a look-up the
    LATERAL subquery (column `g`) with the geometry over it (alias rel_loc)."""

    geometry: str
    note: str | None = None
    reach: str | None = None
    grid: float | None = None
    method: str = "exact"
    lateral: str | None = None
    lateral_geometry: str | None = None
    moved_from: str | None = None


def location(method: str, alias: str, grid: float | None, policy: ReleasePolicy,
             params: dict[str, Any]) -> Location:
    """THE place geo-obfuscation is decided, for every output path (items, exports, tiles, feeds,
    analysis, alerts, metadata): `method` "grid" snaps to `grid` (None: exact); "admin_centroid"
    moves the point to the centroid of the admin area (level `policy.admin_level`) containing it;
    "settlement" to the nearest settlement within `policy.settlement_max_degrees`. Those two fall
    back to the grid (or DEFAULT_FALLBACK_GRID) where no area / settlement is found, so no point
    is ever output exactly. Values are bound into `params` (prefix rel_)."""
    geom = f"{alias}.geom"
    if method not in LOCATION_METHODS:
        raise ValueError(f"bad location method {method!r}")
    if method == "grid":
        if not grid:
            return Location(geom)
        params["rel_grid"] = float(grid)
        return Location(f"ST_SnapToGrid({geom}, :rel_grid)", f"snapped to a {grid:g} degree grid",
                        ":rel_grid", float(grid), "grid")
    fallback = float(grid or DEFAULT_FALLBACK_GRID)
    params["rel_grid"] = fallback
    snapped = f"ST_SnapToGrid({geom}, :rel_grid)"
    if method == "admin_centroid":
        # admin_area_parts (migration 11a): areas cut into <= 64-vertex parts with their centroid
        params["rel_admin_level"] = int(policy.admin_level)
        moved = (f"SELECT rel_a.centroid AS g FROM admin_area_parts rel_a "  # noqa: S608
                 f"WHERE rel_a.admin_level = :rel_admin_level "
                 f"AND ST_Intersects(rel_a.geom, {geom}) ORDER BY rel_a.pcode LIMIT 1")
        # a point moved into a box lies in an area whose centroid is in the box (or, outside
        # every area, within the fallback grid of the box)
        reach = ":rel_grid"
        moved_from = ("(SELECT ST_SetSRID(ST_Extent(rel_b.geom)::geometry, 4326) "
                      "FROM admin_area_parts rel_b WHERE rel_b.admin_level = :rel_admin_level "
                      "AND rel_b.centroid && {box})")
        note = (f"moved to the centroid of its admin level {policy.admin_level} area (snapped "
                f"to a {fallback:g} degree grid outside every such area)")
    else:
        params["rel_settlement_max"] = float(policy.settlement_max_degrees)
        moved = (f"SELECT rel_s.geom AS g FROM settlements rel_s "  # noqa: S608
                 f"WHERE ST_DWithin(rel_s.geom, {geom}, :rel_settlement_max) "
                 f"ORDER BY rel_s.geom <-> {geom}, rel_s.id LIMIT 1")
        reach = "greatest(:rel_grid, :rel_settlement_max)"
        moved_from = None
        note = (f"moved to the nearest settlement (within {policy.settlement_max_degrees:g} "
                f"degrees; else snapped to a {fallback:g} degree grid)")
    return Location(f"coalesce(({moved}), {snapped})", note, reach, None, method, moved,
                    f"coalesce(rel_loc.g, {snapped})", moved_from)


def release_for(principal: Principal, collection_id: str, policy: ReleasePolicy | None = None,
                alias: str = "t") -> Release:
    policy = policy or ReleasePolicy()
    if not alias.isidentifier():
        raise ValueError(f"bad alias {alias!r}")
    geom = f"{alias}.geom"
    if collection_id not in RESTRICTED_COLLECTIONS or principal.reads_all:
        return Release("TRUE", geometry=geom, alias=alias)
    params: dict[str, Any] = {}
    predicate = released(alias)
    if principal.role is Role.PARTNER and principal.org:
        own = "SELECT 1 FROM reports rel_r WHERE rel_r.org = :rel_org AND rel_r.incident_id = "
        predicate = f"({predicate} OR EXISTS ({own}{alias}.id))"
        params["rel_org"] = principal.org
        grid, bucket = policy.partner_grid_degrees, policy.partner_time_bucket
        method = policy.partner_location_method
    else:
        grid, bucket = policy.public_grid_degrees, policy.public_time_bucket
        method = policy.public_location_method
    notes: dict[str, str] = {}
    where = location(method, alias, grid, policy, params)
    if where.note:
        notes["location_obfuscated"] = where.note
    columns: dict[str, str] = {}
    if bucket:
        if bucket not in TIME_BUCKETS:
            raise ValueError(f"bad time bucket {bucket!r}")
        columns = {c: f"date_trunc('{bucket}', {alias}.{c})" for c in _INCIDENT_TIMES}
        notes["time_bucket"] = bucket
    return Release(predicate, params, where.geometry, columns, frozenset(), notes, alias,
                   where.grid, policy.min_count or None, where.method, where.reach,
                   where.lateral, where.lateral_geometry, where.moved_from, bucket or None)


def cache_key(principal: Principal) -> str:
    """What a cache key or ETag must carry so that no principal gets another's answer: every
    read-all role shares one key; others are keyed by role and organisation."""
    if principal.reads_all:
        return "all"
    return f"{principal.role.value}:{principal.org or ''}"


def policy_from(settings: Any) -> ReleasePolicy:
    """The policy of a SecuritySettings (duck-typed to keep this module free of settings)."""
    return ReleasePolicy(settings.public_grid_degrees, settings.partner_grid_degrees,
                         settings.public_time_bucket, settings.partner_time_bucket,
                         getattr(settings, "min_released_count", None),
                         getattr(settings, "public_location_method", "grid"),
                         getattr(settings, "partner_location_method", "grid"),
                         getattr(settings, "obfuscation_admin_level", 3),
                         getattr(settings, "settlement_max_degrees", 0.25))
