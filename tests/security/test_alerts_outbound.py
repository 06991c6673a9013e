"""Webhook targets follow the one outbound rule (server.outbound) the ETL's URL loads follow:
by default no loopback, private or link-local address on any port (a subscription to the
database's own port was accepted before); an operator admits one with `host:port`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from server.services import alerts_webhook as webhook
from server.settings import AlertSettings
from tests.security.conftest import Headers
from tests.security.webhooks import Receiver


@pytest.fixture
def default_hosts(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app's alert settings with the default allow-list (the test app lists loopback)."""
    settings = client.app.state.settings.alerts  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "webhook_hosts", AlertSettings().webhook_hosts)
    yield settings


def post_subscription(client: TestClient, auth: Headers, url: str) -> Any:
    return client.post("/alerts/subscriptions", headers=auth("analyst"), json={
        "area": {"agreement_area_id": 1}, "webhook_url": url})


def test_the_database_port_is_refused_by_default(client: TestClient, auth: Headers,
                                                 database_url: str, default_hosts: Any) -> None:
    db_port = urlsplit(database_url).port or 5432
    for url in (f"http://127.0.0.1:{db_port}/hook", f"http://localhost:{db_port}/hook",
                f"http://[::1]:{db_port}/hook"):
        response = post_subscription(client, auth, url)
        assert response.status_code == 400, (url, response.text)
        assert "TRUCE_ALERTS_WEBHOOK_HOSTS" in response.json()["description"]
    with pytest.raises(webhook.WebhookRefused):
        webhook.check_url(f"http://127.0.0.1:{db_port}/hook", AlertSettings().webhook_hosts)


def test_a_listed_host_port_admits_that_port_only(
        client: TestClient, auth: Headers, database_url: str, default_hosts: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver()
    try:
        port = receiver.url.split(":")[2].split("/")[0]
        monkeypatch.setattr(default_hosts, "webhook_hosts", [f"127.0.0.1:{port}"])
        assert post_subscription(client, auth, receiver.url).status_code == 201
        db_port = urlsplit(database_url).port or 5432
        refused = post_subscription(client, auth, f"http://127.0.0.1:{db_port}/hook")
        assert refused.status_code == 400
        assert "not in the allow-list" in refused.json()["description"]
    finally:
        receiver.close()


def resolving(addresses: list[str]) -> webhook.Resolver:
    return lambda host, port: addresses


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "a loopback address"), ("169.254.169.254", "the cloud metadata address"),
    ("10.1.2.3", "a private address"), ("100.64.0.1", "a shared (CGNAT) address"),
    ("::ffff:127.0.0.1", "a loopback address"), ("fd00::1", "a private address"),
])
def test_a_listed_name_resolving_inside_needs_its_port_listed(address: str, kind: str) -> None:
    """The wildcard names the host; the internal address it resolves to needs host:port."""
    url = "https://hooks.partner.example/alerts"
    with pytest.raises(webhook.WebhookRefused, match=f"{re.escape(kind)}.*internal address.*list "
                                                     "hooks.partner.example:443 in "
                                                     "TRUCE_ALERTS_WEBHOOK_HOSTS"):
        webhook.check_url(url, ["*.partner.example"], resolving([address]))
    target = webhook.check_url(url, ["*.partner.example", "hooks.partner.example:443"],
                               resolving([address]))
    assert (target.address, target.port) == (address, 443)
    with pytest.raises(webhook.WebhookRefused, match="internal address"):
        webhook.check_url("https://hooks.partner.example:8443/alerts",
                          ["*.partner.example", "hooks.partner.example:443"], resolving([address]))
