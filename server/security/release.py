"""Release rules: for a principal and a collection, which rows it may see and how precisely.

`release_for()` is pure. It returns SQL text over a row alias (identifiers from constants only,
values as bound parameters prefixed `rel_`) that EVERY output path must apply:

- `predicate`: a boolean SQL expression; rows where it is false are never output;
- `geometry`: the SQL expression to output instead of `<alias>.geom` (grid snapping);
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


@dataclass(frozen=True)
class Release:
    predicate: str
    params: dict[str, Any] = field(default_factory=dict)
    geometry: str = "geom"
    columns: dict[str, str] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)
    alias: str = "t"
    grid: float | None = None  # the snapping grid of `geometry`, degrees (None: exact)
    min_count: int | None = None  # small-count suppression for aggregates (None: off)

    @property
    def unrestricted(self) -> bool:
        return self.predicate == "TRUE" and not self.columns and not self.notes

    @property
    def is_public_release(self) -> bool:
        """The predicate is exactly "confirmed and public" (no per-organisation rows)."""
        return self.predicate == released(self.alias)

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
        for name in columns:
            if name in self.hidden:
                cols.append(f"NULL AS {name}")
            elif name == "geom":
                cols.append(f"{self.geometry} AS geom")
            else:
                cols.append(f"{self.columns.get(name, f'{a}.{name}')} AS {name}")
        cols.append(f"{a}.geom AS rel_exact_geom")
        return (f"(SELECT {', '.join(cols)} FROM {table} {a} "  # noqa: S608 - constants only
                f"WHERE {self.predicate})")

    def within(self, alias: str, box: str) -> str:
        """SQL: the released geometry of row `alias` (from `source`) is in box `box` (SRID 4326);
        index-friendly: the exact point is prefiltered on the box grown by the grid."""
        if self.unrestricted or not self.grid:
            return f"{alias}.geom && {box}"
        return (f"{alias}.rel_exact_geom && ST_Expand({box}, :rel_grid) "
                f"AND {alias}.geom && {box}")


def released(alias: str = "t") -> str:
    """SQL: the row is released to everyone."""
    return (f"({alias}.verification_status = '{RELEASED_STATUS}' "
            f"AND {alias}.sensitivity = '{RELEASED_SENSITIVITY}')")


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
    else:
        grid, bucket = policy.public_grid_degrees, policy.public_time_bucket
    notes: dict[str, str] = {}
    if grid:
        geom = f"ST_SnapToGrid({alias}.geom, :rel_grid)"
        params["rel_grid"] = float(grid)
        notes["location_obfuscated"] = f"snapped to a {grid:g} degree grid"
    columns: dict[str, str] = {}
    if bucket:
        if bucket not in TIME_BUCKETS:
            raise ValueError(f"bad time bucket {bucket!r}")
        columns = {c: f"date_trunc('{bucket}', {alias}.{c})" for c in _INCIDENT_TIMES}
        notes["time_bucket"] = bucket
    return Release(predicate, params, geom, columns, frozenset(), notes, alias,
                   float(grid) if grid else None, policy.min_count or None)


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
                         getattr(settings, "min_released_count", None))
