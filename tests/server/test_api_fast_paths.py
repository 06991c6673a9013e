"""The lean /items path: one worker-thread hop, the key look-up and the layer version in one
prepared statement on the autocommit read pool, an unfiltered page prepared per connection.
Authentication, validators (ETag/304) and fresh data hold on it exactly as before."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS
from server.db.engine import make_read_engine
from server.queries import features as q
from server.queries import versions
from server.security.release import Release
from server.services import keys as key_service
from server.settings import DatabaseSettings

INCIDENTS = COLLECTIONS["incidents"]


def test_version_and_key_in_one_statement(database_url: str, engine: Engine) -> None:
    with Session(engine) as session:
        key_id, _ = key_service.create("analyst", label="fast-path", actor="tests",
                                       session=session)
        expected = versions.get("incidents", session=session)
    reads = make_read_engine(DatabaseSettings(url=database_url))
    try:
        with Session(reads) as session:
            for _ in range(2):  # PREPARE, then EXECUTE
                ver, row = q.version_and_key("incidents", key_id, session=session)
                assert ver == expected
                assert row is not None and row["id"] == key_id and row["role"] == "analyst"
            assert q.version_and_key("incidents", "0" * 12, session=session) == (expected, None)
            assert q.version_and_key("incidents", None, session=session) == (expected, None)
            assert q.version_and_key("no_such_layer", None, session=session) == (None, None)
            assert session.connection().info["truce_prepared"]
    finally:
        reads.dispose()


def test_unfiltered_pages_are_prepared_filtered_ones_planned_each_time(
        database_url: str, sample_loaded: list[object]) -> None:
    everything = Release("TRUE")
    reads = make_read_engine(DatabaseSettings(url=database_url))
    try:
        with Session(reads) as session:
            first = q.page(INCIDENTS, q.ItemQuery(limit=5), everything, session=session)
            assert first.returned == 5 and first.more
            names = set(session.connection().info["truce_prepared"])
            assert names
            again = q.page(INCIDENTS, q.ItemQuery(limit=5), everything, session=session)
            assert again == first and set(session.connection().info["truce_prepared"]) == names
            after = q.page(INCIDENTS, q.ItemQuery(limit=5, after=tuple(first.last or [])),
                           everything, session=session)
            assert after.first != first.first
            filtered = q.ItemQuery(limit=5, bbox=(30.0, 30.0, 45.0, 40.0))
            q.page(INCIDENTS, filtered, everything, session=session)
            assert len(session.connection().info["truce_prepared"]) == len(names) + 1  # keyset
    finally:
        reads.dispose()


def test_items_keys_are_checked_on_the_lean_path(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session:
        revoked_id, revoked = key_service.create("analyst", label="fast-revoked", actor="tests",
                                                 session=session)
        key_service.revoke(revoked_id, actor="tests", session=session)
    plain = TestClient(client.app)
    url = "/collections/incidents/items"
    assert client.get(url, params={"limit": 2}).status_code == 200
    for headers in ({"X-API-Key": revoked}, {"Authorization": f"Bearer {revoked}"},
                    {"X-API-Key": "truce_nope"}, {"X-API-Key": "truce_000000000000_" + "x" * 30}):
        response = plain.get(url, params={"limit": 2}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["description"]
    assert plain.get("/collections/nope/items").status_code == 404
    assert plain.get(url, params={"limit": "many"}).status_code == 400


def test_items_validators_follow_the_data_on_the_lean_path(client: TestClient,
                                                           engine: Engine) -> None:
    url = "/collections/incidents/items"
    first = client.get(url, params={"limit": 3})
    tag = first.headers["etag"]
    feature = first.json()["features"][0]
    again = client.get(url, params={"limit": 3}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag
    fatalities = feature["properties"]["fatalities"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET fatalities = :n WHERE id = :id"),
                     {"n": (fatalities or 0) + 1000, "id": feature["id"]})
    try:
        changed = client.get(url, params={"limit": 3}, headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        assert changed.json()["features"][0]["properties"]["fatalities"] == (fatalities or 0) + 1000
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET fatalities = :n WHERE id = :id"),
                         {"n": fatalities, "id": feature["id"]})
    restored = client.get(url, params={"limit": 3})
    assert restored.json()["features"][0]["properties"]["fatalities"] == fatalities
    assert restored.headers["etag"] not in (tag, changed.headers["etag"])


def test_lean_routes_read_both_key_schemes_and_declare_them(client: TestClient,
                                                             analyst_key: str,
                                                             engine: Engine) -> None:
    plain = TestClient(client.app)
    with engine.connect() as conn:
        hidden = conn.execute(text("SELECT min(id) FROM incidents "
                                   "WHERE verification_status <> 'confirmed'")).scalar_one()
    by_id = f"/collections/incidents/items/{hidden}"
    assert plain.get(by_id).status_code == 404  # anonymous: not released
    for headers in ({"X-API-Key": analyst_key}, {"Authorization": f"Bearer {analyst_key}"},
                    {"Authorization": f"bearer   {analyst_key} "}):
        assert plain.get(by_id, headers=headers).status_code == 200, headers
        page = plain.get("/collections/incidents/items", params={"limit": 1}, headers=headers)
        assert page.status_code == 200 and "private" in page.headers["cache-control"]
    basic = plain.get(by_id, headers={"Authorization": f"Basic {analyst_key}"})
    assert basic.status_code == 404  # not a bearer key: anonymous, as before
    spec = plain.get("/api").json()["paths"]
    for path in ("/collections/{collection_id}/items",
                 "/collections/{collection_id}/items/{feature_id}"):
        security = spec[path]["get"]["security"]
        assert {"bearer": []} in security and {"apiKey": []} in security
