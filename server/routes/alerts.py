"""Alerts: subscriptions (POST/GET/DELETE /alerts/subscriptions), the alerts they produced
(GET /alerts) and the webhook delivery log (GET /alerts/deliveries); each key sees its own."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.db.tables.incidents import VERIFICATION_STATUSES
from server.deps import SessionDep, SettingsDep
from server.security.dependencies import require_roles
from server.security.principal import Principal, Role
from server.services import alerts as service
from server.settings import AlertSettings, Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/alerts", tags=["alerts"])
Subscriber = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.PLANNER, Role.PARTNER,
                                                        Role.ADMIN))]
ID = Annotated[int, Path(ge=1, le=2**62)]
After = Annotated[int, Query(ge=0, le=2**62, description="the `next` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=1_000)]
Status = Literal[VERIFICATION_STATUSES]  # type: ignore[valid-type]


def alert_settings(settings: SettingsDep) -> AlertSettings:
    return settings.alerts


def run_after_write(app: FastAPI) -> None:
    """Retry due alerts, match and deliver new ones in a session of its own: a background task
    after an API write, bounded by AlertSettings.after_write_* (a failure here is logged;
    `truce alerts run` picks up whatever is left)."""
    settings: Settings = app.state.settings
    try:
        with app.state.sessionmaker() as session:
            service.run(session, webhook_secret=settings.security.webhook_secret,
                        settings=settings.alerts, policy=app.state.policy,
                        after_write=True)
    except Exception:
        log.exception("alerts: matching after a write failed")


AlertSettingsDep = Annotated[AlertSettings, Depends(alert_settings)]


class AreaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_area_id: int | None = Field(None, ge=1, le=2**31 - 1)
    admin_pcode: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon")
    buffer_m: float = Field(0, ge=0, description="grow the area by this many metres")

    @model_validator(mode="after")
    def _exactly_one(self) -> AreaIn:
        given = [self.agreement_area_id is not None, self.admin_pcode is not None,
                 self.geometry is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of agreement_area_id, admin_pcode, geometry")
        if self.geometry is not None and (
                self.geometry.get("type") not in ("Polygon", "MultiPolygon")
                or not isinstance(self.geometry.get("coordinates"), list)):
            raise ValueError("geometry must be a GeoJSON Polygon or MultiPolygon")
        return self


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str | None = Field(None, min_length=1, max_length=100)
    verification_status: Status | None = None
    min_fatalities: int | None = Field(None, ge=0, le=1_000_000)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: AreaIn
    filter: FilterIn = Field(default_factory=FilterIn)
    webhook_url: str = Field(min_length=8, max_length=2_000,
                             description="http(s) URL on an allowed host (TRUCE_ALERTS_WEBHOOK_HOSTS)")

    def to_service(self) -> service.Subscription:
        a = self.area
        kind, ref = (("agreement_area", str(a.agreement_area_id)) if a.agreement_area_id
                     else ("admin_area", a.admin_pcode) if a.admin_pcode else ("geometry", None))
        return service.Subscription(kind, ref, a.geometry, a.buffer_m, self.webhook_url,
                                    self.filter.event_type, self.filter.verification_status,
                                    self.filter.min_fatalities)


@router.post("/subscriptions", status_code=201, summary="Subscribe to new incidents in an area",
             description="An agreement area, an admin area (pcode) or a drawn polygon, grown by "
             "`buffer_m`, and a filter. New incidents this key may see produce alerts and a POST "
             "to `webhook_url` signed `X-Truce-Signature: sha256=<hex HMAC-SHA256 of the body>` "
             "with the `secret` returned here once.")
def subscribe(body: SubscriptionIn, principal: Subscriber, settings: SettingsDep,
              alerts_settings: AlertSettingsDep, session: SessionDep) -> dict[str, Any]:
    return service.create(body.to_service(), principal,
                          webhook_secret=settings.security.webhook_secret,
                          settings=alerts_settings, session=session)


@router.get("/subscriptions", summary="This key's alert subscriptions")
def subscriptions(principal: Subscriber, session: SessionDep) -> dict[str, Any]:
    return service.list_(principal, session=session)


@router.get("/subscriptions/{subscription_id}", summary="One of this key's subscriptions")
def subscription(subscription_id: ID, principal: Subscriber, session: SessionDep
                 ) -> dict[str, Any]:
    return service.get(subscription_id, principal, session=session)


@router.delete("/subscriptions/{subscription_id}", status_code=204,
               summary="Unsubscribe (its alerts and delivery log go too)")
def unsubscribe(subscription_id: ID, principal: Subscriber, session: SessionDep) -> Response:
    service.delete(subscription_id, principal, session=session)
    return Response(status_code=204)


@router.get("", summary="Alerts for this key's subscriptions, oldest first")
def alerts(principal: Subscriber, session: SessionDep, after: After = 0, limit: Limit = 100
           ) -> dict[str, Any]:
    return service.alerts(principal, after=after, limit=limit, session=session)


@router.get("/deliveries", summary="Webhook delivery attempts for this key's alerts")
def deliveries(principal: Subscriber, session: SessionDep, after: After = 0, limit: Limit = 100
               ) -> dict[str, Any]:
    return service.deliveries(principal, after=after, limit=limit, session=session)
