"""Alert delivery that survives a run: failed webhooks stay pending with a backoff and are
retried by the next run until `max_attempts`; one alert per subscription and incident; bounded
POSTs (whole-exchange timeout, no redirects, a budget after API writes); the SSRF guard; and
alerts after an incidents ETL load (`truce etl load|watch`, `--no-alerts`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.services import alerts as alert_service
from server.services import alerts_webhook as webhook
from tests.security.conftest import Headers
from tests.security.webhooks import (
    FAST,
    LOOPBACK_ENV,
    Receiver,
    add_incident,
    seq_now,
    subscribe,
)

ETL_SOURCE = "tests-alerts-etl"


@pytest.fixture(autouse=True)
def _clean(engine: Engine) -> Iterator[None]:
    def clean() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('truce.actor', 'tests:alerts', true)"))
            conn.execute(text("DELETE FROM alert_subscriptions"))
            conn.execute(text("DELETE FROM incidents WHERE source IN ('tests-alerts', :s)"),
                         {"s": ETL_SOURCE})

    clean()
    yield
    clean()


def secret_of(client: TestClient) -> str:
    return str(client.app.state.settings.security.webhook_secret)  # type: ignore[attr-defined]


def run(engine: Engine, client: TestClient, since: int,
        settings: alert_service.AlertSettings = FAST, **kwargs: Any) -> dict[str, Any]:
    with Session(engine) as session:
        return alert_service.run(session, webhook_secret=secret_of(client), settings=settings,
                                 since_seq=since, **kwargs)


def alert_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("""
            SELECT id, state, attempts, next_attempt_at,
                   extract(epoch FROM next_attempt_at - now()) AS due_in
            FROM alerts ORDER BY id""")).mappings()]


def cli(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url, **LOOPBACK_ENV,
                               **env})


class Silent:
    """A TCP listener on 127.0.0.1 that accepts connections and then says nothing (or drips a
    status line one byte at a time): a webhook that would hold a POST forever."""

    def __init__(self, drip: bool = False) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.conns: list[socket.socket] = []
        self.drip = drip
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.drip:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    @staticmethod
    def _drip(conn: socket.socket) -> None:
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                conn.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


# -- durable retries ----------------------------------------------------------------------------

def test_a_failing_webhook_is_retried_by_the_next_run(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],  # noqa: F811
        receiver: Receiver) -> None:  # noqa: F811
    receiver.statuses = [503]
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    incident = add_incident(engine, area["inside"])
    first = run(engine, client, since, FAST.model_copy(update={"backoff_seconds": 60}))
    assert (first["alerts"], first["delivered"], first["retrying"], first["failed"]) \
        == (1, 0, 1, 0)
    [row] = alert_rows(engine)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert 50 < row["due_in"] <= 60  # backoff: not due before a minute

    # not due yet: a run that matches again makes no second alert and posts nothing
    again = run(engine, client, since)
    assert (again["alerts"], again["attempts"]) == (0, 0)
    with engine.begin() as conn:  # a minute passes
        conn.execute(text("UPDATE alerts SET next_attempt_at = now() - interval '1 second'"))
    second = run(engine, client, since)
    assert (second["alerts"], second["delivered"], second["attempts"]) == (0, 1, 1)
    [row] = alert_rows(engine)
    assert (row["state"], row["attempts"], row["next_attempt_at"]) == ("delivered", 2, None)
    bodies = [json.loads(b) for b, _ in receiver.received]
    assert [b["incident_id"] for b in bodies] == [incident, incident]
    assert [h["X-Truce-Attempt"] for _, h in receiver.received] == ["1", "2"]
    assert {h["X-Truce-Alert-Id"] for _, h in receiver.received} == {str(row["id"])}
    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in log] == [(1, 503, False),
                                                                         (2, 200, True)]
    listed = client.get("/alerts", headers=auth("analyst")).json()["alerts"]
    assert listed[0]["next_attempt_at"] is None


def test_two_truce_alerts_runs_fail_then_deliver(
        client: TestClient, auth: Headers, engine: Engine, database_url: str,
        area: dict[str, Any], receiver: Receiver) -> None:  # noqa: F811
    receiver.statuses = [500]
    subscribe(client, auth, "planner", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    runs = []
    for _ in range(2):
        done = cli("alerts", "run", "--since", str(since), "--json", database_url=database_url,
                   TRUCE_ALERTS_BACKOFF_SECONDS="0")
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert [(r["alerts"], r["delivered"], r["retrying"]) for r in runs] == [(1, 0, 1), (0, 1, 0)]
    assert len(receiver.received) == 2


def test_backoff_doubles_up_to_the_cap(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any]) -> None:  # noqa: F811
    settings = alert_service.AlertSettings(backoff_seconds=30, backoff_max_seconds=300)
    assert [alert_service.backoff_seconds(settings, n) for n in range(1, 7)] \
        == [30, 60, 120, 240, 300, 300]

    dead = Receiver()
    url = dead.url
    dead.close()
    subscribe(client, auth, "analyst", url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    slow = FAST.model_copy(update={"backoff_seconds": 30, "backoff_max_seconds": 100,
                                   "max_attempts": 5})
    waits = []
    for n in range(3):
        result = run(engine, client, since, slow)
        assert (result["attempts"], result["retrying"]) == (1, 1), n
        [row] = alert_rows(engine)
        assert row["attempts"] == n + 1
        waits.append(row["due_in"])
        with engine.begin() as conn:  # the wait passes
            conn.execute(text("UPDATE alerts SET next_attempt_at = now()"))
    assert [round(w / 10) * 10 for w in waits] == [30, 60, 100]


def test_max_attempts_then_failed_for_good(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],  # noqa: F811
        receiver: Receiver) -> None:  # noqa: F811
    receiver.statuses = [500, 500, 500]
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    two = FAST.model_copy(update={"max_attempts": 2})
    results = [run(engine, client, since, two) for _ in range(3)]
    assert [(r["attempts"], r["retrying"], r["failed"]) for r in results] \
        == [(1, 1, 0), (1, 0, 1), (0, 0, 0)]
    [row] = alert_rows(engine)
    assert (row["state"], row["attempts"], row["next_attempt_at"]) == ("failed", 2, None)
    assert len(receiver.received) == 2


def test_one_alert_per_subscription_and_incident(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],  # noqa: F811
        receiver: Receiver) -> None:  # noqa: F811
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    incident = add_incident(engine, area["inside"])
    assert run(engine, client, since)["alerts"] == 1
    with engine.begin() as conn:  # edited later: matched again, no second alert
        conn.execute(text("UPDATE incidents SET fatalities = 7 WHERE id = :id"), {"id": incident})
    assert run(engine, client, since)["alerts"] == 0
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("""INSERT INTO alerts (subscription_id, incident_id, seq, feature)
                             SELECT subscription_id, incident_id, seq, feature FROM alerts"""))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("""INSERT INTO alert_deliveries (alert_id, attempt, ok)
                             SELECT alert_id, attempt, ok FROM alert_deliveries"""))
    assert len(receiver.received) == 1


# -- bounded POSTs ------------------------------------------------------------------------------

def test_a_post_is_bounded_by_the_timeout_even_when_the_answer_drips() -> None:
    for drip in (False, True):
        silent = Silent(drip=drip)
        try:
            target = webhook.check_url(silent.url, ["127.0.0.1"])
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                webhook.post(target, b"{}", {"Content-Type": "application/json"}, 0.5)
            assert time.monotonic() - start < 2
        finally:
            silent.close()


def test_a_redirect_is_not_followed(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],  # noqa: F811
        receiver: Receiver) -> None:  # noqa: F811
    receiver.statuses = [302]
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    assert run(engine, client, since)["retrying"] == 1
    assert len(receiver.received) == 1
    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert [(d["status_code"], d["error"]) for d in log] == [
        (302, "HTTP 302 (redirects are not followed)")]


def test_delivery_after_an_api_write_is_bounded(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any]) -> None:  # noqa: F811
    silent = Silent()
    try:
        subscribe(client, auth, "analyst", silent.url, area["id"])
        since = seq_now(engine)
        for _ in range(6):
            add_incident(engine, area["inside"])
        bounded = FAST.model_copy(update={"after_write_timeout_seconds": 0.3,
                                          "after_write_budget_seconds": 1.0})
        start = time.monotonic()
        result = run(engine, client, since, bounded, after_write=True)
        took = time.monotonic() - start
    finally:
        silent.close()
    assert took < 4, took  # 6 silent hooks x 0.3 s, stopped by the 1 s budget
    assert result["alerts"] == 6 and 1 <= result["attempts"] < 6
    rows = alert_rows(engine)
    assert all(r["state"] == "pending" for r in rows)
    untried = [r for r in rows if r["attempts"] == 0]
    assert len(untried) == 6 - result["attempts"]
    assert all(r["due_in"] <= 0 for r in untried)  # handed back: due at the next run


# -- SSRF guard ---------------------------------------------------------------------------------

def fake_dns(table: dict[str, list[str]]) -> webhook.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


@pytest.mark.parametrize("addresses", [
    ["10.0.0.7"], ["192.168.1.20"], ["127.0.0.1"], ["169.254.169.254"], ["100.64.0.1"],
    ["0.0.0.0"], ["::1"], ["fe80::1"], ["fd00::5"], ["::ffff:10.0.0.7"],
    ["93.184.216.34", "10.0.0.7"],  # any internal address refuses the host
])
def test_a_wildcard_host_resolving_inside_is_refused(addresses: list[str]) -> None:
    resolve = fake_dns({"hooks.partner.example": addresses})
    with pytest.raises(webhook.WebhookRefused, match="internal address"):
        webhook.check_url("https://hooks.partner.example/alerts", ["*.partner.example"], resolve)
    # listed exactly, the operator has chosen to allow it
    target = webhook.check_url("https://hooks.partner.example/alerts?x=1",
                               ["hooks.partner.example"], resolve)
    assert (target.address, target.port, target.path) == (addresses[0], 443, "/alerts?x=1")


def test_a_public_address_passes_and_an_unknown_host_is_refused() -> None:
    resolve = fake_dns({"hooks.partner.example": ["93.184.216.34"]})
    target = webhook.check_url("http://hooks.partner.example:8080/a", ["*.partner.example"],
                               resolve)
    assert (target.host, target.address, target.port) == ("hooks.partner.example",
                                                          "93.184.216.34", 8080)
    with pytest.raises(webhook.WebhookRefused, match="does not resolve"):
        webhook.check_url("http://other.partner.example/a", ["*.partner.example"], resolve)
    # the real resolver: the default allow-list's exact loopback names
    assert webhook.check_url("http://localhost:9/h", ["localhost"]).address in ("127.0.0.1", "::1")


def test_subscribing_to_an_internal_address_gets_400(
        client: TestClient, auth: Headers, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = client.app.state.settings.alerts  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "webhook_hosts", [*settings.webhook_hosts, "*.partner.example"])
    monkeypatch.setattr(webhook, "resolve_host",
                        fake_dns({"hooks.partner.example": ["169.254.169.254"]}))
    response = client.post("/alerts/subscriptions", headers=auth("partner_a"), json={
        "area": {"agreement_area_id": 1}, "webhook_url": "http://hooks.partner.example/h"})
    assert response.status_code == 400, response.text
    assert "internal address" in response.json()["description"]


def test_a_host_that_moves_inside_after_subscribing_is_not_posted_to(
        client: TestClient, auth: Headers, engine: Engine, area: dict[str, Any],  # noqa: F811
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    settings = client.app.state.settings.alerts  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "webhook_hosts", [*settings.webhook_hosts, "*.partner.example"])
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://hooks.partner.example:{port}/hook"
    monkeypatch.setattr(webhook, "resolve_host",
                        fake_dns({"hooks.partner.example": ["93.184.216.34"]}))
    subscribe(client, auth, "analyst", url, area["id"])
    # DNS rebinding: the name now points at the loopback receiver
    monkeypatch.setattr(webhook, "resolve_host", fake_dns({"hooks.partner.example": ["127.0.0.1"]}))
    since = seq_now(engine)
    add_incident(engine, area["inside"])
    result = run(engine, client, since, settings.model_copy(update={"backoff_seconds": 0}))
    assert (result["attempts"], result["delivered"]) == (1, 0)
    assert receiver.received == []
    log = client.get("/alerts/deliveries", headers=auth("analyst")).json()["deliveries"]
    assert log[0]["status_code"] is None and log[0]["error"].startswith("refused: ")
    assert "internal address" in log[0]["error"]


# -- alerts after an incidents ETL load ---------------------------------------------------------

def incidents_csv(tmp_path: Path, name: str, where: dict[str, Any]) -> list[str]:
    """A generic CSV of one incident inside the area and one outside, and its mapping."""
    (x, y), (ox, oy) = where["inside"], where["outside"]
    path = tmp_path / f"{name}.csv"
    path.write_text(f"Ref,When,What,Y,X\n{name}-in,2016-06-01,shelling,{y},{x}\n"
                    f"{name}-out,2016-06-01,shelling,{oy},{ox}\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("source_id: Ref\noccurred_at: When\nevent_type: What\nlat: Y\nlon: X\n")
    return [str(path), "--layer", "incidents", "--mapping", str(mapping), "--source", ETL_SOURCE]


def matcher_at_head(engine: Engine) -> None:
    """Incidents other tests wrote are not this test's business."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alert_cursor SET last_seq = "
                          "(SELECT coalesce(max(seq), 0) FROM audit_log)"))


def incident_id(engine: Engine, source_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM incidents WHERE source = :s AND "
                                     "source_id = :i"), {"s": ETL_SOURCE, "i": source_id}
                                ).scalar_one())


def test_an_incidents_etl_load_alerts(
        client: TestClient, auth: Headers, engine: Engine, database_url: str, tmp_path: Path,
        area: dict[str, Any], receiver: Receiver) -> None:  # noqa: F811
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    matcher_at_head(engine)
    done = cli("etl", "load", *incidents_csv(tmp_path, "etl-a", area), "--json",
               database_url=database_url)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["status"], out["loaded"]) == ("completed", 2)
    assert (out["alerts"]["alerts"], out["alerts"]["delivered"]) == (1, 1)
    assert [json.loads(b)["incident_id"] for b, _ in receiver.received] == [
        incident_id(engine, "etl-a-in")]
    # the same file again changes nothing: no alert run, nothing posted twice
    again = json.loads(cli("etl", "load", *incidents_csv(tmp_path, "etl-a", area), "--json",
                           database_url=database_url).stdout)
    assert again["unchanged"] == 2 and "alerts" not in again
    assert len(receiver.received) == 1


def test_no_alerts_leaves_them_to_truce_alerts_run(
        client: TestClient, auth: Headers, engine: Engine, database_url: str, tmp_path: Path,
        area: dict[str, Any], receiver: Receiver) -> None:  # noqa: F811
    subscribe(client, auth, "analyst", receiver.url, area["id"])
    matcher_at_head(engine)
    done = cli("etl", "load", *incidents_csv(tmp_path, "etl-b", area), "--no-alerts", "--json",
               database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert "alerts" not in json.loads(done.stdout)
    assert receiver.received == [] and alert_rows(engine) == []
    later = cli("alerts", "run", "--json", database_url=database_url)
    assert later.returncode == 0, later.stderr
    assert (json.loads(later.stdout)["alerts"], len(receiver.received)) == (1, 1)


def test_etl_watch_alerts_after_each_incidents_file(
        client: TestClient, auth: Headers, engine: Engine, database_url: str, tmp_path: Path,
        area: dict[str, Any], receiver: Receiver) -> None:  # noqa: F811
    subscribe(client, auth, "partner_a", receiver.url, area["id"])
    analyst = subscribe(client, auth, "analyst", receiver.url, area["id"])
    matcher_at_head(engine)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    incidents_csv(inbox, "etl-c", area)
    mapping = tmp_path / "mapping.yaml"
    (inbox / "mapping.yaml").rename(mapping)
    watch = ["etl", "watch", str(inbox), "--layer", "incidents", "--mapping", str(mapping),
             "--source", ETL_SOURCE, "--once", "--json"]
    done = cli(*watch, database_url=database_url)
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in done.stdout.splitlines()]
    # generic ETL rows are `reported`: the analyst is alerted, the partner is not
    assert (line["loaded"], line["alerts"]["alerts"], line["alerts"]["delivered"]) == (2, 1, 1)
    payloads = [json.loads(b) for b, _ in receiver.received]
    assert [(p["subscription_id"], p["incident_id"]) for p in payloads] == [
        (analyst["id"], incident_id(engine, "etl-c-in"))]

    incidents_csv(inbox, "etl-d", area)
    (inbox / "mapping.yaml").unlink()
    done = cli(*watch[:-2], "--no-alerts", "--once", "--json", database_url=database_url)
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in done.stdout.splitlines()]
    assert line["loaded"] == 2 and "alerts" not in line and len(receiver.received) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_verifies_the_certificate_against_the_url_host(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append(self.headers["Host"])
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        target = webhook.check_url(f"https://localhost:{port}/hook", ["localhost"])
        with pytest.raises(ssl.SSLCertVerificationError):  # self-signed: not trusted
            webhook.post(target, b"{}", {}, 5)
        trusted = ssl.create_default_context(cafile=str(cert))
        assert webhook.post(target, b"{}", {}, 5, trusted) == 204
        assert got == [f"localhost:{port}"]
        # the same certificate for another name: refused
        other = webhook.Target("https", "hooks.partner.example", port, "/", "127.0.0.1")
        with pytest.raises(ssl.SSLCertVerificationError):
            webhook.post(other, b"{}", {}, 5, trusted)
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_dns_answer_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert webhook.resolve_host("127.0.0.1", 80) == ["127.0.0.1"]  # literals: no look-up
    assert webhook.resolve_host("::1", 80) == ["::1"]

    def stuck(*args: Any, **kwargs: Any) -> Any:
        time.sleep(3)
        raise OSError("too late")

    monkeypatch.setattr(webhook, "DNS_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    start = time.monotonic()
    with pytest.raises(webhook.WebhookRefused, match="no DNS answer within 0.2 s"):
        webhook.check_url("http://localhost/h", ["localhost"])
    assert time.monotonic() - start < 1.5
