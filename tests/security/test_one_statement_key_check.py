"""The hot read paths (an unfiltered /items page, a feature by id) read the key's row, the layer
version and the answer in ONE statement, run as the principal the key acted as last time: the
key is still checked on that row before anything is output, and a key that now acts as someone
else gets what that principal may see, never what it saw before."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.services import keys as key_service

ITEMS = "/collections/incidents/items"


def _key(engine: Engine, role: str, org: str | None = None) -> tuple[str, str]:
    with Session(engine) as session:
        return key_service.create(role, org=org, label=f"one-statement-{role}", actor="tests",
                                  session=session)


def _unreleased_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT min(id) FROM incidents WHERE NOT (verification_status = 'confirmed' "
            "AND sensitivity = 'public')")).scalar_one())


def _ids(client: TestClient, key: str, **params: Any) -> list[int]:
    r = client.get(ITEMS, params={"limit": 100, **params}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["features"]]


def test_a_key_revoked_after_use_gets_401_on_every_hot_path(client: TestClient,
                                                            engine: Engine) -> None:
    key_id, key = _key(engine, "analyst")
    hidden = _unreleased_id(engine)
    headers = {"X-API-Key": key}
    first = client.get(ITEMS, params={"limit": 5}, headers=headers)
    assert first.status_code == 200
    cursor = first.json()["links"]
    next_href = next(link["href"] for link in cursor if link["rel"] == "next")
    assert client.get(f"{ITEMS}/{hidden}", headers=headers).status_code == 200
    with Session(engine) as session:
        key_service.revoke(key_id, actor="tests", session=session)
    for url in (f"{ITEMS}?limit=5", next_href, f"{ITEMS}/{hidden}", f"{ITEMS}/nope",
                f"{ITEMS}?sortby=nope"):
        r = client.get(url, headers=headers)
        assert r.status_code == 401, (url, r.status_code)
        assert r.headers["content-type"].startswith("application/") and "revoked" in r.text


def test_a_wrong_secret_for_a_key_id_seen_before_is_401(client: TestClient,
                                                        engine: Engine) -> None:
    key_id, key = _key(engine, "analyst")
    hidden = _unreleased_id(engine)
    assert client.get(f"{ITEMS}/{hidden}", headers={"X-API-Key": key}).status_code == 200
    forged = f"truce_{key_id}_{'x' * 43}"
    for url in (f"{ITEMS}?limit=5", f"{ITEMS}/{hidden}"):
        r = client.get(url, headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and "unknown API key" in r.text
        assert str(hidden) not in r.text


def test_a_key_that_now_acts_as_another_role_sees_what_that_role_sees(client: TestClient,
                                                                      engine: Engine) -> None:
    key_id, key = _key(engine, "analyst")
    hidden = _unreleased_id(engine)
    assert hidden in _ids(client, key, limit=10000)
    assert client.get(f"{ITEMS}/{hidden}", headers={"X-API-Key": key}).status_code == 200
    with engine.begin() as conn:  # the same key, now a partner's (as if re-issued in place)
        conn.execute(text("UPDATE api_keys SET role = 'partner', org = 'ngo-z' WHERE id = :id"),
                     {"id": key_id})
    _, partner = _key(engine, "partner", "ngo-z")  # never seen: checked on its own first
    assert _ids(client, key) == _ids(client, partner)
    assert hidden not in _ids(client, key, limit=10000)
    r = client.get(f"{ITEMS}/{hidden}", headers={"X-API-Key": key})
    assert r.status_code == 404
    page = client.get(ITEMS, params={"limit": 3}, headers={"X-API-Key": key})
    assert "private" in page.headers["cache-control"]
    fresh = client.get(ITEMS, params={"limit": 3}, headers={"X-API-Key": partner})
    assert page.headers["etag"] == fresh.headers["etag"]  # the partner's answer, not the analyst's
