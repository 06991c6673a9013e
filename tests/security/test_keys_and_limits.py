"""Keys and roles, request limits: 401/403/413/429 as JSON; keys stored hashed; the CLI."""

from __future__ import annotations

import hashlib
import json
import os

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app as cli_app
from server.main import create_app
from server.settings import SecuritySettings
from tests.conftest import make_settings
from tests.security.conftest import Headers


def test_keys_are_stored_hashed_never_in_plain(engine: Engine, api_keys: dict[str, str]) -> None:
    key = api_keys["analyst"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT to_jsonb(k)::text FROM api_keys k")).scalars().all()
        audit = conn.execute(text("SELECT coalesce(string_agg(after::text, ''), '') FROM audit_log "
                                  "WHERE table_name = 'api_keys'")).scalar_one()
        stored = conn.execute(text("SELECT key_hash FROM api_keys WHERE id = :id"),
                              {"id": api_keys["analyst_id"]}).scalar_one()
    assert not any(key in row for row in rows)
    assert key not in audit and stored not in audit  # not even the hash reaches the audit log
    assert stored == hashlib.sha256(key.encode()).hexdigest()


def test_revoked_expired_and_unknown_keys_get_401_json(client: TestClient,
                                                       api_keys: dict[str, str]) -> None:
    bogus = api_keys["analyst"][:-4] + "AAAA"
    for key in (api_keys["revoked"], api_keys["expired"], bogus, "not-a-key"):
        for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            response = client.get("/collections/incidents/changes?limit=1", headers=headers)
            assert response.status_code == 401, (key, response.text)
            assert response.json()["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
    assert "revoked" in client.get("/reports/1", headers={"X-API-Key": api_keys["revoked"]}
                                   ).json()["description"]


def test_roles_decide_401_and_403(client: TestClient, auth: Headers) -> None:
    assert client.get("/incidents/1/verification").status_code == 401
    assert client.get("/incidents/1/verification", headers=auth("planner")).status_code == 403
    assert client.get("/incidents/1/verification", headers=auth("analyst")).status_code == 200
    history = "/collections/incidents/items/1/history"
    assert client.get(history, headers=auth("partner_a")).status_code == 403
    assert client.get(history, headers=auth("admin")).status_code == 200


def test_openapi_declares_both_key_schemes(client: TestClient) -> None:
    spec = client.get("/api").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                 "description": "X-API-Key: <API key>"}
    post = spec["paths"]["/reports"]["post"]
    assert {"bearer": []} in post["security"] and {"apiKey": []} in post["security"]


def test_oversized_body_gets_413_json_and_stores_nothing(client: TestClient, auth: Headers,
                                                         engine: Engine) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
    big = {"occurred_at": "2016-03-01T10:00Z", "event_type": "shelling", "lon": 36.7, "lat": 34.7,
           "description": "x" * (3 * 1024 * 1024)}
    response = client.post("/reports", json=big, headers=auth("reporter"))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    def chunks():  # no Content-Length: counted while reading
        for _ in range(40):
            yield b"x" * 100_000

    streamed = client.post("/reports", content=chunks(), headers={
        **auth("reporter"), "Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["code"] == "payload_too_large"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reports")).scalar_one() == before


def test_rate_limit_per_key_429_with_retry_after(database_url: str, api_keys: dict[str, str]
                                                 ) -> None:
    settings = make_settings(database_url)
    settings.security = SecuritySettings(rate_per_second=0.5, rate_burst=3)
    with TestClient(create_app(settings)) as limited:
        headers = {"X-API-Key": api_keys["planner"]}
        # the key's first request is limited by address: its secret is verified by then
        codes = [limited.get("/health", headers=headers).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        refused = limited.get("/health", headers=headers)
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # another key has its own bucket; anonymous requests have the (generous) default
        assert limited.get("/health", headers={"X-API-Key": api_keys["analyst"]}
                           ).status_code == 200
        assert all(limited.get("/health").status_code == 200 for _ in range(5))


def test_cli_keys_create_list_revoke(database_url: str, client: TestClient) -> None:
    runner = CliRunner()
    env = {**os.environ, "TRUCE_DATABASE_URL": database_url}
    made = runner.invoke(cli_app, ["keys", "create", "--role", "partner", "--org", "envoy",
                                   "--expires", "2099-01-01T00:00Z", "--json"], env=env)
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert set(created) == {"id", "key"} and created["key"].startswith(f"truce_{created['id']}_")
    assert client.get("/reports/1", headers={"X-API-Key": created["key"]}).status_code == 404
    listed = runner.invoke(cli_app, ["keys", "list", "--json"], env=env)
    row = next(r for r in json.loads(listed.stdout) if r["id"] == created["id"])
    assert row["role"] == "partner" and row["org"] == "envoy" and row["state"] == "active"
    assert created["key"] not in listed.stdout and "key_hash" not in row
    revoked = runner.invoke(cli_app, ["keys", "revoke", created["id"]], env=env)
    assert revoked.exit_code == 0
    assert client.get("/reports/1", headers={"X-API-Key": created["key"]}).status_code == 401
    bad = runner.invoke(cli_app, ["keys", "create", "--role", "partner"], env=env)
    assert bad.exit_code == 2 and "--org" in bad.output
    missing = runner.invoke(cli_app, ["keys", "revoke", "nope"], env=env)
    assert missing.exit_code == 2
