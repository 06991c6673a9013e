"""FastAPI side of security: `PrincipalDep` (who calls; public without a key) and
`require_roles(...)`. Both API key schemes appear in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.deps import SessionDep
from server.errors import ForbiddenError, UnauthorizedError
from server.queries import features as features_q
from server.queries.versions import LayerVersion
from server.security import keys
from server.security.acted_as import ActedAs
from server.security.principal import PUBLIC, Principal, Role
from server.services import features
from server.services import keys as key_service

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="Authorization: Bearer <API key>")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                              description="X-API-Key: <API key>")


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    header_key: Annotated[str | None, Security(api_key_header)] = None,
) -> Principal:
    raw = header_key or (credentials.credentials if credentials else None)
    return remembered(request, raw, principal_for(raw, session=session))


def acted_as(request: Request) -> ActedAs:
    memory: ActedAs = request.app.state.acted_as
    return memory


def remembered(request: Request, raw: str | None, principal: Principal) -> Principal:
    """`principal`, which `raw` was checked to act as, remembered for the hot paths' guess and
    for the rate limiter (a verified key is limited by its id)."""
    acted_as(request).remember(raw, principal)
    return principal


def principal_for(raw: str | None, *, session: Session) -> Principal:
    """Who presents `raw` (an API key), or public without one."""
    if not raw:
        return PUBLIC
    return key_service.authenticate(raw.strip(), session=session)


#: OpenAPI `security` of a route that reads the key with `presented_key` (no dependency)
KEY_SECURITY: dict[str, Any] = {"security": [{"bearer": []}, {"apiKey": []}]}


def presented_key(request: Request) -> str | None:
    """The API key a request presents, read as the `bearer` and `api_key_header` schemes read
    it (X-API-Key first, then `Authorization: Bearer`), without solving them as dependencies:
    for the hot read routes, whose OpenAPI entries declare KEY_SECURITY instead."""
    return keys.presented(request.headers.get("x-api-key"), request.headers.get("authorization"))


def principal_and_version(raw: str | None, c: Collection, *,
                          session: Session) -> tuple[Principal, LayerVersion]:
    """Who presents `raw` (as `principal_for` judges it) and the collection's data version, in
    ONE round trip: the hot read paths' first statement."""
    raw = raw.strip() if raw else None
    found, row = features_q.version_and_key(c.table, keys.key_id(raw) if raw else None,
                                            session=session)
    principal = key_service.check(raw, row) if raw else PUBLIC
    return principal, features.or_clock(c, found)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`: 401 without a key, 403 with a key of another role."""
    allowed = frozenset(roles)

    def check(principal: PrincipalDep) -> Principal:
        if principal.role in allowed:
            return principal
        names = ", ".join(sorted(r.value for r in allowed))
        if principal.role is Role.PUBLIC:
            raise UnauthorizedError(f"this needs an API key with one of the roles: {names}")
        raise ForbiddenError(f"a {principal.role.value} key may not do this; it needs one of: "
                             f"{names}")

    return check


VARY = "Authorization, X-API-Key"


def vary_by_key(principal: Principal, headers: dict[str, str]) -> dict[str, str]:
    """Response headers for an answer that depends on the caller's key: `Vary` on both key
    headers, and a keyed answer is `private` (no shared cache may hand it to someone else)."""
    vary = headers.get("Vary")
    headers["Vary"] = f"{vary}, {VARY}" if vary else VARY
    if principal.role is not Role.PUBLIC and "Cache-Control" in headers:
        headers["Cache-Control"] = headers["Cache-Control"].replace("public", "private")
    return headers
