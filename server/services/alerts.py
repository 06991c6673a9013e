"""Alerts: subscribe to an area and a filter; new incidents a subscriber may see produce alerts
(one per subscription and incident: a unique constraint), delivered as HMAC-signed webhook POSTs.
Delivery is durable: every attempt is logged; a failed one leaves the alert pending with its
attempt count and a next attempt time (exponential backoff, capped) for a later run, until
`max_attempts` marks it failed. No SQL, no HTTP framework: the runner is synchronous
(`truce alerts run`, after an incidents ETL load, or `run()` after an API write).

Webhook safety (alerts_webhook): the URL must be http(s) to a host in
`AlertSettings.webhook_hosts` (TRUCE_ALERTS_WEBHOOK_HOSTS, empty by default); an internal
address only as server.outbound's rule admits it (the host listed itself, best as host:port);
redirects are not followed.
Each subscription's secret is HMAC-SHA256(security.webhook_secret, its random salt): returned once
at creation, never stored (rotating `webhook_secret` changes every subscription's secret).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from server.errors import InvalidQueryError, NotFoundError
from server.queries import alerts as q
from server.security.principal import Principal, Role
from server.security.release import ReleasePolicy, release_for
from server.services import alerts_webhook as webhook
from server.settings import AlertSettings

SIGNATURE_HEADER = "X-Truce-Signature"


@dataclass(frozen=True)
class Subscription:
    """A validated subscription request (the route builds it from the JSON body)."""

    area_kind: str  # agreement_area | admin_area | geometry
    area_ref: str | None
    geometry: dict[str, Any] | None
    buffer_m: float
    webhook_url: str
    event_type: str | None = None
    verification_status: str | None = None
    min_fatalities: int | None = None


def subscription_secret(webhook_secret: str, salt: str) -> str:
    return hmac.new(webhook_secret.encode(), f"truce-alert:{salt}".encode(),
                    hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The X-Truce-Signature value of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def create(sub: Subscription, principal: Principal, *, webhook_secret: str,
           settings: AlertSettings, session: Session,
           resolve: webhook.Resolver | None = None) -> dict[str, Any]:
    assert principal.key_id is not None  # the route admits keyed roles only
    webhook.check_url(sub.webhook_url, settings.webhook_hosts, resolve)
    if sub.buffer_m > settings.max_buffer_m:
        raise InvalidQueryError(f"buffer_m may be at most {settings.max_buffer_m:g}")
    geojson = json.dumps(sub.geometry) if sub.geometry is not None else None
    if geojson is not None:
        problem = q.geometry_problem(geojson, session=session)
        if problem:
            raise InvalidQueryError(problem)
    salt = secrets.token_hex(16)
    new_id = q.create_subscription(
        key_id=principal.key_id, area_kind=sub.area_kind, area_ref=sub.area_ref,
        geojson=geojson, buffer_m=sub.buffer_m, event_type=sub.event_type,
        verification_status=sub.verification_status, min_fatalities=sub.min_fatalities,
        webhook_url=sub.webhook_url, secret_salt=salt, session=session)
    if new_id is None:
        session.rollback()
        raise NotFoundError(f"no {sub.area_kind.replace('_', ' ')} {sub.area_ref!r}")
    session.commit()
    created = get(new_id, principal, session=session)
    return {**created, "secret": subscription_secret(webhook_secret, salt),
            "signature": f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body with secret>"}


def get(subscription_id: int, principal: Principal, *, session: Session) -> dict[str, Any]:
    row = q.get_subscription(subscription_id, key_id=principal.key_id or "", session=session)
    if row is None:
        raise NotFoundError(f"you have no alert subscription {subscription_id}")
    return _jsonable(row)


def list_(principal: Principal, *, session: Session) -> dict[str, Any]:
    rows = q.list_subscriptions(key_id=principal.key_id or "", session=session)
    return {"subscriptions": [_jsonable(r) for r in rows]}


def delete(subscription_id: int, principal: Principal, *, session: Session) -> None:
    if not q.delete_subscription(subscription_id, key_id=principal.key_id or "",
                                 session=session):
        raise NotFoundError(f"you have no alert subscription {subscription_id}")
    session.commit()


def alerts(principal: Principal, *, after: int, limit: int, session: Session) -> dict[str, Any]:
    rows = q.list_alerts(key_id=principal.key_id or "", after=after, limit=limit,
                         session=session)
    return {"alerts": [_jsonable(r) for r in rows],
            "next": rows[-1]["id"] if len(rows) == limit else None}


def deliveries(principal: Principal, *, after: int, limit: int, session: Session
               ) -> dict[str, Any]:
    rows = q.list_deliveries(key_id=principal.key_id or "", after=after, limit=limit,
                             session=session)
    return {"deliveries": [_jsonable(r) for r in rows],
            "next": rows[-1]["id"] if len(rows) == limit else None}


@dataclass(frozen=True)
class MatchResult:
    since: int
    until: int
    alerts: list[int]


def match_new_incidents(session: Session, since_seq: int | None = None, *,
                        policy: ReleasePolicy | None = None) -> MatchResult:
    """Alerts for incidents written after audit seq `since_seq` (default: the stored cursor,
    which then advances), for every active subscription, under its key's release rules."""
    cursor = q.lock_cursor(session=session)
    since = cursor if since_seq is None else since_seq
    until = q.head_seq(session=session)
    made: list[int] = []
    for sub in q.active_subscriptions(session=session):
        principal = Principal(Role(sub.role), sub.key_id, sub.org)
        rel = release_for(principal, "incidents", policy, alias="t")
        made += q.match(sub.id, rel, since=since, until=until, session=session)
    q.set_cursor(until, session=session)
    session.commit()
    return MatchResult(since, until, made)


#: (target, body, headers, timeout) -> HTTP status; raises OSError when nothing usable answered
Sender = Callable[[webhook.Target, bytes, dict[str, str], float], int]


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int  # alerts delivered
    failed: int  # alerts that used their last attempt and are now failed
    attempts: int  # POSTs tried (or refused)
    retrying: int = 0  # alerts whose attempt failed and that wait for a later run

    def __add__(self, other: DeliveryResult) -> DeliveryResult:
        return DeliveryResult(self.delivered + other.delivered, self.failed + other.failed,
                              self.attempts + other.attempts, self.retrying + other.retrying)


def backoff_seconds(settings: AlertSettings, attempt: int) -> float:
    """How long an alert waits after failed attempt `attempt` (1, 2, ...): exponential, capped."""
    return float(min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (attempt - 1)))


def _attempt(alert: Any, *, webhook_secret: str, settings: AlertSettings, timeout: float,
             targets: dict[str, webhook.Target | str], send: Sender,
             resolve: webhook.Resolver | None) -> tuple[int | None, str | None]:
    """One signed POST of an alert: (HTTP status, error)."""
    url = alert.webhook_url
    if url not in targets:  # checked once per URL and pass: allow-list, then the SSRF guard
        try:
            targets[url] = webhook.check_url(url, settings.webhook_hosts, resolve)
        except webhook.WebhookRefused as exc:
            targets[url] = f"refused: {exc.detail}"
    target = targets[url]
    if isinstance(target, str):
        return None, target[:500]
    secret = subscription_secret(webhook_secret, alert.secret_salt)
    body = orjson.dumps({
        "alert_id": alert.id, "subscription_id": alert.subscription_id,
        "incident_id": alert.incident_id, "seq": alert.seq,
        "created_at": alert.created_at.isoformat(), "feature": alert.feature})
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
               "X-Truce-Alert-Id": str(alert.id),  # receivers can drop a repeated delivery
               "X-Truce-Attempt": str(alert.attempts + 1), "User-Agent": "truce-alerts/1"}
    try:
        status = send(target, body, headers, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return status, None
    return status, (f"HTTP {status} (redirects are not followed)" if 300 <= status < 400
                    else f"HTTP {status}")


def deliver_pending(session: Session, *, webhook_secret: str, settings: AlertSettings,
                    limit: int | None = None, timeout: float | None = None,
                    deadline: float | None = None, send: Sender = webhook.post,
                    resolve: webhook.Resolver | None = None) -> DeliveryResult:
    """One attempt at each pending alert that is due (at most `limit`, oldest due first).

    Alerts are claimed in a short transaction (their next attempt moved past the POST's bound,
    so a concurrent runner skips them and a crashed one's come back later); each attempt is then
    logged and committed on its own. A failed attempt leaves the alert pending until
    now + backoff; the `max_attempts`-th marks it failed. Past `deadline` (time.monotonic())
    the claimed alerts not yet tried are handed back, due at once."""
    timeout = settings.timeout_seconds if timeout is None else timeout
    claimed = q.claim_due(limit=settings.batch if limit is None else limit,
                          lease_seconds=2 * timeout + 30, session=session)
    session.commit()
    delivered = failed = retrying = attempts = 0
    targets: dict[str, webhook.Target | str] = {}
    for n, alert in enumerate(claimed):
        if deadline is not None and time.monotonic() >= deadline:
            q.release([a.id for a in claimed[n:]], session=session)
            session.commit()
            break
        status, error = _attempt(alert, webhook_secret=webhook_secret, settings=settings,
                                 timeout=timeout, targets=targets, send=send, resolve=resolve)
        attempt = alert.attempts + 1
        ok = error is None
        retry_in = (None if ok or attempt >= settings.max_attempts
                    else backoff_seconds(settings, attempt))
        if q.record_attempt(alert.id, attempt=attempt, status_code=status, ok=ok, error=error,
                            retry_in=retry_in, session=session):
            attempts += 1
            delivered += ok
            failed += not ok and retry_in is None
            retrying += retry_in is not None
        session.commit()
    return DeliveryResult(delivered, failed, attempts, retrying)


def run(session: Session, *, webhook_secret: str, settings: AlertSettings,
        policy: ReleasePolicy | None = None, since_seq: int | None = None,
        after_write: bool = False) -> dict[str, Any]:
    """Retry the due pending alerts, match new incidents, deliver the new alerts: what
    `truce alerts run`, an ETL load and the API after a write do. After a write, delivery is
    bounded (AlertSettings.after_write_*: a short timeout per POST, a few alerts, a time
    budget); what is left waits for the next run."""
    limit, timeout, deadline = settings.batch, settings.timeout_seconds, None
    if after_write:
        limit, timeout = settings.after_write_batch, settings.after_write_timeout_seconds
        deadline = time.monotonic() + settings.after_write_budget_seconds
    sent = DeliveryResult(0, 0, 0)
    if limit:
        sent = deliver_pending(session, webhook_secret=webhook_secret, settings=settings,
                               limit=limit, timeout=timeout, deadline=deadline)
    matched = match_new_incidents(session, since_seq, policy=policy)
    if matched.alerts and limit - sent.attempts > 0:
        sent += deliver_pending(session, webhook_secret=webhook_secret, settings=settings,
                                limit=limit - sent.attempts, timeout=timeout, deadline=deadline)
    return {"since": matched.since, "until": matched.until, "alerts": len(matched.alerts),
            "delivered": sent.delivered, "failed": sent.failed, "retrying": sent.retrying,
            "attempts": sent.attempts}
