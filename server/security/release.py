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


@dataclass(frozen=True)
class Release:
    predicate: str
    params: dict[str, Any] = field(default_factory=dict)
    geometry: str = "geom"
    columns: dict[str, str] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def unrestricted(self) -> bool:
        return self.predicate == "TRUE" and not self.columns and not self.notes


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
        return Release("TRUE", geometry=geom)
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
    return Release(predicate, params, geom, columns, frozenset(), notes)


def policy_from(settings: Any) -> ReleasePolicy:
    """The policy of a SecuritySettings (duck-typed to keep this module free of settings)."""
    return ReleasePolicy(settings.public_grid_degrees, settings.partner_grid_degrees,
                         settings.public_time_bucket, settings.partner_time_bucket)
