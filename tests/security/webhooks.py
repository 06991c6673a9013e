"""A webhook receiver on a loopback port, alert settings for fast tests, and the steps the
alert tests share: an incident to add, a subscription (the fixtures `receiver` and `area` are
in conftest.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.services import alerts as alert_service
from tests.conftest import LOOPBACK_WEBHOOK_HOSTS

if TYPE_CHECKING:
    from tests.security.conftest import Headers

SOURCE = "tests-alerts"
FAST = alert_service.AlertSettings(backoff_seconds=0, timeout_seconds=5,  # retries due at once
                                   webhook_hosts=LOOPBACK_WEBHOOK_HOSTS)


#: the receivers' random loopback ports, for the `truce` commands the tests run
LOOPBACK_ENV = {"TRUCE_ALERTS_WEBHOOK_HOSTS": json.dumps(LOOPBACK_WEBHOOK_HOSTS)}


class Receiver:
    """A webhook receiver on 127.0.0.1 answering with the given statuses in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[bytes, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append((body, dict(self.headers.items())))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def seq_now(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_log")).scalar_one())


def add_incident(engine: Engine, at: tuple[float, float], status: str = "confirmed",
                 sensitivity: str = "public", event_type: str = "shelling",
                 fatalities: int = 1) -> int:
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:alerts', true)"))
        return int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                   verification_status, sensitivity, geom)
            VALUES (:source, md5(random()::text), '2016-03-05T10:00Z', :event_type, :fatalities,
                    :status, :sensitivity, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
            RETURNING id"""), {"source": SOURCE, "event_type": event_type,
                               "fatalities": fatalities, "status": status,
                               "sensitivity": sensitivity, "x": at[0], "y": at[1]}).scalar_one())


def subscribe(client: TestClient, auth: Headers, who: str, url: str, area_id: int,
              **filters: Any) -> dict[str, Any]:
    response = client.post("/alerts/subscriptions", headers=auth(who), json={
        "area": {"agreement_area_id": area_id, "buffer_m": 1000}, "filter": filters,
        "webhook_url": url})
    assert response.status_code == 201, response.text
    return response.json()
