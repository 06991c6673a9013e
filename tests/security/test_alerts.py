"""Alerts end to end with real keys: subscriptions, matching under the release rules, signed
webhooks to a local receiver, retries and the delivery log, and the `truce alerts run` runner."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.services import alerts as alert_service
from tests.security.conftest import Headers
from tests.security.webhooks import (
    FAST,
    LOOPBACK_ENV,
    SOURCE,
    Receiver,
    add_incident,
    seq_now,
    subscribe,
)


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    def clean() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('truce.actor', 'tests:alerts', true)"))
            conn.execute(text("DELETE FROM alert_subscriptions"))
            conn.execute(text("DELETE FROM incidents WHERE source = :s"), {"s": SOURCE})

    clean()
    yield
    clean()


def match(engine: Engine, since: int) -> list[int]:
    with Session(engine) as session:
        return alert_service.match_new_incidents(session, since).alerts


def deliver(engine: Engine, client: TestClient, settings: alert_service.AlertSettings = FAST
            ) -> alert_service.DeliveryResult:
    secret = client.app.state.settings.security.webhook_secret  # type: ignore[attr-defined]
    with Session(engine) as session:
        return alert_service.deliver_pending(session, webhook_secret=secret, settings=settings)


def test_public_gets_401_and_reporter_403(client: TestClient, auth: Headers) -> None:
    body = {"area": {"agreement_area_id": 1}, "webhook_url": "http://127.0.0.1:9/hook"}
    assert client.post("/alerts/subscriptions", json=body).status_code == 401
    for path in ("/alerts", "/alerts/deliveries", "/alerts/subscriptions",
                 "/alerts/subscriptions/1"):
        assert client.get(path).status_code == 401, path
    assert client.post("/alerts/subscriptions", json=body,
                       headers=auth("reporter")).status_code == 403


@pytest.mark.parametrize("body", [
    {"area": {}, "webhook_url": "http://127.0.0.1:9/hook"},
    {"area": {"agreement_area_id": 1, "admin_pcode": "SY14"}, "webhook_url": "http://127.0.0.1/h"},
    {"area": {"geometry": {"type": "Point", "coordinates": [36.7, 34.7]}},
     "webhook_url": "http://127.0.0.1:9/hook"},
    {"area": {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1],
                                                               [0, 0]]]}},
     "webhook_url": "http://127.0.0.1:9/hook"},  # a bow tie: not valid
    {"area": {"geometry": {"type": "Polygon", "coordinates": "nope"}},
     "webhook_url": "http://127.0.0.1:9/hook"},
    {"area": {"agreement_area_id": 1, "buffer_m": -5}, "webhook_url": "http://127.0.0.1:9/h"},
    {"area": {"agreement_area_id": 1, "buffer_m": 1e9}, "webhook_url": "http://127.0.0.1:9/h"},
    {"area": {"agreement_area_id": 1}, "webhook_url": "ftp://127.0.0.1/hook"},
    {"area": {"agreement_area_id": 1}, "webhook_url": "http://127.0.0.1:9/h",
     "filter": {"verification_status": "maybe"}},
    {"area": {"agreement_area_id": 1}, "webhook_url": "http://127.0.0.1:9/h",
     "filter": {"min_fatalities": -1}},
    {"area": {"agreement_area_id": 1}, "webhook_url": "http://127.0.0.1:9/h", "extra": 1},
    {"area": {"admin_pcode": "x' OR 1=1 --"}, "webhook_url": "http://127.0.0.1:9/h"},
])
def test_bad_input_gets_400(client: TestClient, auth: Headers, body: dict[str, Any]) -> None:
    response = client.post("/alerts/subscriptions", json=body, headers=auth("analyst"))
    assert response.status_code == 400, response.text
    assert response.json()["description"]


def test_not_json_and_unknown_area(client: TestClient, auth: Headers) -> None:
    response = client.post("/alerts/subscriptions", content=b"{not json",
                           headers={**auth("analyst"), "Content-Type": "application/json"})
    assert response.status_code == 400
    response = client.post("/alerts/subscriptions", headers=auth("analyst"), json={
        "area": {"admin_pcode": "XX999"}, "webhook_url": "http://127.0.0.1:9/h"})
    assert response.status_code == 404


@pytest.mark.parametrize("url", ["http://example.org/hook", "https://10.0.0.1/hook",
                                 "http://127.0.0.1.evil.org/hook", "http://user:pw@localhost/h"])
def test_webhook_host_outside_the_allow_list_gets_400(client: TestClient, auth: Headers,
                                                      url: str) -> None:
    response = client.post("/alerts/subscriptions", headers=auth("partner_a"), json={
        "area": {"agreement_area_id": 1}, "webhook_url": url})
    assert response.status_code == 400, response.text


def test_one_alert_for_the_incident_inside_and_a_signed_webhook(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],
        receiver: Receiver) -> None:
    created = subscribe(client, auth, "analyst", receiver.url, area["id"])
    secret = created["secret"]
    assert len(secret) == 64 and created["area_kind"] == "agreement_area"
    shown = client.get(f"/alerts/subscriptions/{created['id']}", headers=auth("analyst")).json()
    assert "secret" not in shown and "secret_salt" not in shown
    assert shown["geometry"]["type"] == "MultiPolygon"

    since = seq_now(engine)
    inside = add_incident(engine, area["inside"])
    add_incident(engine, area["outside"])
    assert len(match(engine, since)) == 1
    assert match(engine, since) == []  # an incident alerts a subscription once

    listed = client.get("/alerts", headers=auth("analyst")).json()["alerts"]
    assert [a["incident_id"] for a in listed] == [inside]
    assert listed[0]["feature"]["id"] == inside and listed[0]["state"] == "pending"

    sent = deliver(engine, client)
    assert (sent.delivered, sent.failed, sent.attempts) == (1, 0, 1)
    assert len(receiver.received) == 1
    body, headers = receiver.received[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Truce-Signature"], expected)
    payload = json.loads(body)
    assert payload["incident_id"] == inside and payload["subscription_id"] == created["id"]
    assert payload["feature"]["geometry"]["type"] == "Point"

    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in log] == [(1, 200, True)]
    assert client.get("/alerts", headers=auth("analyst")).json()["alerts"][0]["state"] \
        == "delivered"
    assert deliver(engine, client).attempts == 0  # nothing pending any more

    # own only: another key sees nothing of it
    for who in ("planner", "partner_a"):
        assert client.get(f"/alerts/subscriptions/{created['id']}",
                          headers=auth(who)).status_code == 404
        assert client.delete(f"/alerts/subscriptions/{created['id']}",
                             headers=auth(who)).status_code == 404
        assert client.get("/alerts", headers=auth(who)).json()["alerts"] == []
        assert client.get("/alerts/deliveries", headers=auth(who)).json()["deliveries"] == []
    assert client.delete(f"/alerts/subscriptions/{created['id']}",
                         headers=auth("analyst")).status_code == 204
    assert client.get("/alerts/subscriptions", headers=auth("analyst")).json() == {
        "subscriptions": []}


def test_a_500_is_retried_and_the_log_shows_both_attempts(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],
        receiver: Receiver) -> None:
    receiver.statuses = [500]
    subscribe(client, auth, "planner", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    assert len(match(engine, since)) == 1
    sent = deliver(engine, client)  # one attempt per run: the 500 leaves it pending
    assert (sent.delivered, sent.failed, sent.attempts, sent.retrying) == (0, 0, 1, 1)
    sent = deliver(engine, client)
    assert (sent.delivered, sent.failed, sent.attempts, sent.retrying) == (1, 0, 1, 0)
    assert len(receiver.received) == 2
    assert receiver.received[0][0] == receiver.received[1][0]  # the same signed body again
    log = client.get("/alerts/deliveries", headers=auth("planner")).json()["deliveries"]
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in log] == [(1, 500, False),
                                                                         (2, 200, True)]
    assert log[0]["error"] == "HTTP 500"


def test_retries_are_bounded_then_the_alert_fails(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],
        receiver: Receiver) -> None:
    receiver.statuses = [500, 502, 503, 504]
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    match(engine, since)
    three = FAST.model_copy(update={"max_attempts": 3})
    runs = [deliver(engine, client, three) for _ in range(4)]
    assert [(r.delivered, r.failed, r.attempts) for r in runs] == [(0, 0, 1), (0, 0, 1),
                                                                   (0, 1, 1), (0, 0, 0)]
    alerts = client.get("/alerts", headers=auth("analyst")).json()["alerts"]
    assert alerts[0]["state"] == "failed" and alerts[0]["attempts"] == 3
    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert [d["status_code"] for d in log] == [500, 502, 503]


def test_nothing_listening_is_logged_as_an_error(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any]) -> None:
    dead = Receiver()
    url = dead.url
    dead.close()
    subscribe(client, auth, "analyst", url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    match(engine, since)
    two = FAST.model_copy(update={"max_attempts": 2})
    runs = [deliver(engine, client, two) for _ in range(2)]
    assert [(r.failed, r.attempts) for r in runs] == [(0, 1), (1, 1)]
    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert [d["status_code"] for d in log] == [None, None] and all(d["error"] for d in log)


def test_a_partner_never_gets_alerts_for_incidents_it_may_not_see(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],
        receiver: Receiver) -> None:
    partner = subscribe(client, auth, "partner_a", receiver.url, area["id"])
    analyst = subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    restricted = add_incident(engine, area["inside"], sensitivity="restricted")
    unverified = add_incident(engine, area["inside"], status="reported")
    released = add_incident(engine, area["inside"])
    match(engine, since)
    got = {a["incident_id"] for a in client.get("/alerts", headers=auth("partner_a")).json()
           ["alerts"]}
    assert got == {released}
    got = {a["incident_id"] for a in client.get("/alerts", headers=auth("analyst")).json()
           ["alerts"]}
    assert got == {restricted, unverified, released}
    deliver(engine, client)
    by_sub: dict[int, set[int]] = {}
    for body, _ in receiver.received:
        payload = json.loads(body)
        by_sub.setdefault(payload["subscription_id"], set()).add(payload["incident_id"])
    assert by_sub == {partner["id"]: {released}, analyst["id"]: {restricted, unverified,
                                                                 released}}

    # once it is released, the partner is alerted about it too
    since = seq_now(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET verification_status = 'confirmed' WHERE id = :id"),
                     {"id": unverified})
    match(engine, since)
    got = {a["incident_id"] for a in client.get("/alerts", headers=auth("partner_a")).json()
           ["alerts"]}
    assert got == {released, unverified}


def test_the_filter_applies(client: TestClient, auth: Headers, engine: Engine,
                            area: dict[str, Any], receiver: Receiver) -> None:
    subscribe(client, auth, "analyst", receiver.url, area["id"], event_type="airstrike",
              min_fatalities=3, verification_status="confirmed")
    since = seq_now(engine)
    add_incident(engine, area["inside"], event_type="shelling", fatalities=5)
    add_incident(engine, area["inside"], event_type="airstrike", fatalities=1)
    add_incident(engine, area["inside"], event_type="airstrike", fatalities=5, status="reported")
    hit = add_incident(engine, area["inside"], event_type="airstrike", fatalities=3)
    match(engine, since)
    got = [a["incident_id"] for a in client.get("/alerts", headers=auth("analyst")).json()
           ["alerts"]]
    assert got == [hit]


def test_a_drawn_polygon_with_a_buffer(client: TestClient, auth: Headers, engine: Engine,
                                       area: dict[str, Any], receiver: Receiver) -> None:
    x, y = area["inside"]
    square = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01],
                                                  [x, y + 0.01], [x, y]]]}
    response = client.post("/alerts/subscriptions", headers=auth("analyst"), json={
        "area": {"geometry": square, "buffer_m": 2000}, "webhook_url": receiver.url})
    assert response.status_code == 201, response.text
    since = seq_now(engine)
    near = add_incident(engine, (x - 0.01, y))  # ~1 km west: inside the buffer only
    add_incident(engine, (x - 0.1, y))  # ~9 km west: outside
    match(engine, since)
    got = [a["incident_id"] for a in client.get("/alerts", headers=auth("analyst")).json()
           ["alerts"]]
    assert got == [near]


def test_truce_alerts_run(client: TestClient, auth: Headers, engine: Engine, database_url: str,
                          area: dict[str, Any], receiver: Receiver) -> None:
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    done = subprocess.run([sys.executable, "-m", "cli.main", "alerts", "run", "--since",
                           str(since), "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url, **LOOPBACK_ENV})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["alerts"], result["delivered"]) == (1, 1)
    assert len(receiver.received) == 1


def test_a_report_through_the_api_alerts_right_away(client: TestClient, auth: Headers,
                                                    engine: Engine, receiver: Receiver) -> None:
    x, y = 36.71, 34.73
    square = {"type": "Polygon", "coordinates": [[[x - 0.01, y - 0.01], [x + 0.01, y - 0.01],
                                                  [x + 0.01, y + 0.01], [x - 0.01, y + 0.01],
                                                  [x - 0.01, y - 0.01]]]}
    for who in ("analyst", "partner_b"):
        response = client.post("/alerts/subscriptions", headers=auth(who), json={
            "area": {"geometry": square}, "webhook_url": receiver.url})
        assert response.status_code == 201, response.text
    report = client.post("/reports", headers=auth("reporter"), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"occurred_at": "2016-03-02T06:30:00Z", "event_type": "shelling",
                       "description": "alerts test"}})
    assert report.status_code == 201, report.text
    incident = report.json()["incident_id"]
    analyst = client.get("/alerts", headers=auth("analyst")).json()["alerts"]
    assert [(a["incident_id"], a["state"]) for a in analyst] == [(incident, "delivered")]
    assert client.get("/alerts", headers=auth("partner_b")).json()["alerts"] == []  # restricted
    assert [json.loads(b)["incident_id"] for b, _ in receiver.received] == [incident]
