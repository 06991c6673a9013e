"""The lean single-feature path: one prepared statement per pooled connection (typed parameters,
plain SQL when it cannot be prepared), and by-id answers the same as before through it,
anonymous, with a key, and in every CRS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server.queries import prepared


def _autocommit(engine: Engine) -> Session:
    session = Session(engine)
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


def test_statements_are_prepared_once_per_connection(engine: Engine) -> None:
    sql = "SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(36, 35), 4326), :srid), 0)"
    with _autocommit(engine) as session:
        first = prepared.one(session, sql, {"srid": 3857})  # an integer, not a PROJ string
        assert first[0] == "POINT(4007502 4163881)"
        names = set(session.connection().info["truce_prepared"])
        assert prepared.one(session, sql, {"srid": 32637})[0].startswith("POINT(2")
        assert set(session.connection().info["truce_prepared"]) == names  # same statement
        listed = session.execute(text("SELECT name FROM pg_prepared_statements")).scalars()
        assert names <= set(listed)


def test_unpreparable_statements_run_as_plain_sql(engine: Engine) -> None:
    with _autocommit(engine) as session:
        # $1 declared text cannot be added to an integer; the plain literal '1' can
        assert prepared.one(session, "SELECT :a + 1", {"a": "1"})[0] == 2
        assert prepared.one(session, "SELECT :a + 1", {"a": "1"})[0] == 2
        assert prepared.one(session, "SELECT CAST(:v AS int)", {"v": None})[0] is None
    with Session(engine) as session:  # in a transaction: plain SQL, nothing prepared
        assert prepared.one(session, "SELECT :n + 1", {"n": 1})[0] == 2


@pytest.mark.parametrize("crs", [None, "EPSG:4326", "EPSG:3857", "EPSG:32637"])
def test_by_id_through_the_lean_path(client: TestClient, crs: str | None) -> None:
    params = {"crs": crs} if crs else {}
    for _ in range(3):  # the first uses PREPARE, the next ones EXECUTE
        response = client.get("/collections/incidents/items/1", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == 1 and response.headers["etag"]
    huge = client.get("/collections/incidents/items/999999999999")  # past 32 bits: bigint
    assert huge.status_code == 404 and huge.json()["description"]


def test_by_id_with_a_bad_key_is_401_and_anonymous_sees_released_only(
        client: TestClient, engine: Engine) -> None:
    from fastapi.testclient import TestClient as Plain

    with engine.connect() as conn:
        hidden = conn.execute(text("SELECT min(id) FROM incidents "
                                   "WHERE verification_status <> 'confirmed'")).scalar_one()
    anonymous = Plain(client.app)
    assert anonymous.get(f"/collections/incidents/items/{hidden}").status_code == 404
    assert client.get(f"/collections/incidents/items/{hidden}").status_code == 200
    bad = anonymous.get("/collections/incidents/items/1", headers={"X-API-Key": "truce_nope"})
    assert bad.status_code == 401


def test_read_pool_is_autocommit_and_replaces_dead_idle_connections(database_url: str,
                                                                    engine: Engine) -> None:
    from server.db.engine import make_read_engine
    from server.settings import DatabaseSettings

    reads = make_read_engine(DatabaseSettings(url=database_url), idle_ping_seconds=0)
    try:
        with reads.connect() as conn:
            assert conn.connection.dbapi_connection.autocommit  # type: ignore[union-attr]
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.begin() as admin:  # the database drops the idle pooled connection
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with reads.connect() as conn:  # the checkout ping sees it and takes a new one
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        reads.dispose()
