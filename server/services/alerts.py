"""Alerts: subscribe to an area and a filter; new incidents a subscriber may see produce alerts,
delivered as HMAC-signed webhook POSTs with bounded retries and a delivery log. No SQL, no HTTP
framework: the runner is synchronous (`truce alerts run`, or `run()` after an API write).

Webhook safety: the URL must be http(s) to a host in `AlertSettings.webhook_hosts`
(TRUCE_ALERTS_WEBHOOK_HOSTS, default 127.0.0.1 and localhost); redirects are not followed.
Each subscription's secret is HMAC-SHA256(security.webhook_secret, its random salt): returned once
at creation, never stored (rotating `webhook_secret` changes every subscription's secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy.orm import Session

from server.errors import InvalidQueryError, NotFoundError
from server.queries import alerts as q
from server.security.principal import Principal, Role
from server.security.release import ReleasePolicy, release_for
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


def check_webhook_url(url: str, allowed: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidQueryError("webhook_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise InvalidQueryError("webhook_url must not carry credentials")
    host = parts.hostname.lower().rstrip(".")
    for pattern in (p.lower() for p in allowed):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return
    raise InvalidQueryError(f"webhook host {host!r} is not in the allow-list "
                            "(TRUCE_ALERTS_WEBHOOK_HOSTS)", allowed=allowed)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def create(sub: Subscription, principal: Principal, *, webhook_secret: str,
           settings: AlertSettings, session: Session) -> dict[str, Any]:
    assert principal.key_id is not None  # the route admits keyed roles only
    check_webhook_url(sub.webhook_url, settings.webhook_hosts)
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


#: (url, body, headers, timeout) -> HTTP status; raises OSError when nothing answered
Sender = Callable[[str, bytes, dict[str, str], float], int]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could leave the allow-list: it counts as a failed attempt


_opener = urllib.request.build_opener(_NoRedirect)


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int
    failed: int
    attempts: int


def deliver_pending(session: Session, *, webhook_secret: str, settings: AlertSettings,
                    send: Sender = http_post, sleep: Callable[[float], None] = time.sleep
                    ) -> DeliveryResult:
    """POST every pending alert to its webhook, signed; retry up to `max_attempts` with
    exponential backoff; every attempt is logged; an alert still failing is marked failed."""
    delivered = failed = attempts = 0
    for alert in q.pending_alerts(limit=settings.batch, session=session):
        secret = subscription_secret(webhook_secret, alert.secret_salt)
        body = orjson.dumps({
            "alert_id": alert.id, "subscription_id": alert.subscription_id,
            "incident_id": alert.incident_id, "seq": alert.seq,
            "created_at": alert.created_at.isoformat(), "feature": alert.feature})
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
                   "User-Agent": "truce-alerts/1"}
        ok = False
        for attempt in range(alert.attempts + 1, alert.attempts + settings.max_attempts + 1):
            if attempt > alert.attempts + 1:
                sleep(settings.backoff_seconds * 2 ** (attempt - alert.attempts - 2))
            status: int | None = None
            error: str | None = None
            try:
                status = send(alert.webhook_url, body, headers, settings.timeout_seconds)
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            ok = status is not None and 200 <= status < 300
            if status is not None and not ok:
                error = f"HTTP {status}"
            attempts += 1
            q.record_attempt(alert.id, attempt=attempt, status_code=status, ok=ok, error=error,
                             session=session)
            if ok:
                break
        if ok:
            delivered += 1
        else:
            failed += 1
            q.mark_failed(alert.id, session=session)
    session.commit()
    return DeliveryResult(delivered, failed, attempts)


def run(session: Session, *, webhook_secret: str, settings: AlertSettings,
        policy: ReleasePolicy | None = None, since_seq: int | None = None
        ) -> dict[str, Any]:
    """Match, then deliver: what `truce alerts run` and the API do after a write."""
    matched = match_new_incidents(session, since_seq, policy=policy)
    sent = deliver_pending(session, webhook_secret=webhook_secret, settings=settings)
    return {"since": matched.since, "until": matched.until, "alerts": len(matched.alerts),
            "delivered": sent.delivered, "failed": sent.failed, "attempts": sent.attempts}
