"""Roles and the principal a request acts as (anonymous requests act as `public`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything, including keys
    ANALYST = "analyst"  # read all, verify, edit
    PLANNER = "planner"  # read all, run queries
    PARTNER = "partner"  # released data, plus its own organisation's
    REPORTER = "reporter"  # submit reports, read its own
    PUBLIC = "public"  # anonymous: released public data only


#: roles that see every row, restricted ones included
READ_ALL = frozenset({Role.ADMIN, Role.ANALYST, Role.PLANNER})
#: roles that see reporter identity and contact details, and move the verification workflow
ANALYSTS = frozenset({Role.ADMIN, Role.ANALYST})


@dataclass(frozen=True)
class Principal:
    role: Role
    key_id: str | None = None
    org: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"key:{self.key_id}" if self.key_id else "public"

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL

    @property
    def is_analyst(self) -> bool:
        return self.role in ANALYSTS


PUBLIC = Principal(Role.PUBLIC)
