"""Read replicas: a real hot standby of the test cluster, made by `truce db replica up`, takes the
API's reads; a writer reads its own writes (from the primary); a stopped or lagging replica is
taken out with no 5xx and put back when healthy; a URL that is not a standby is refused.

One replica for the module (pg_basebackup copies the whole test cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cli import pgcluster, replicas
from server.db.replicas import ReplicaRefused
from server.main import create_app
from server.services import keys as key_service
from server.settings import DatabaseSettings
from tests.conftest import _free_port, make_settings

pytestmark = pytest.mark.skipif(bool(os.environ.get("TRUCE_TEST_DATABASE_URL")),
                                reason="a replica of the project-local cluster only")

ITEMS = "/collections/incidents/items"
GEOJSON = "application/geo+json"


def _truce(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _until(check: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def _role(response: object) -> str:
    timing = response.headers["server-timing"]  # type: ignore[attr-defined]
    entries = dict(part.strip().split(";", 1) for part in timing.split(","))
    return entries["db"].removeprefix("desc=")


@pytest.fixture(scope="module")
def replica_port(database_url: str, analyst_key: str) -> Iterator[int]:
    """A hot standby of the test cluster, made by the command (after the sample data and the
    analyst key are in: it starts with them)."""
    port = _free_port()
    info = json.loads(_truce("db", "replica", "up", "--port", str(port), "--json").stdout)
    assert info["port"] == port and info["created"]
    yield port
    _truce("db", "replica", "remove", "--port", str(port))  # its slot on the primary too
    assert not Path(info["data_dir"]).exists()


@pytest.fixture(scope="module")
def replica_url(database_url: str, replica_port: int) -> str:
    return make_url(database_url).set(port=replica_port).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def routed(database_url: str, replica_url: str, analyst_key: str) -> Iterator[TestClient]:
    settings = make_settings(database_url)
    settings.database = DatabaseSettings(url=database_url, read_urls=[replica_url],
                                         max_replica_lag_seconds=1.0, replica_check_seconds=0.2)
    with TestClient(create_app(settings), headers={"X-API-Key": analyst_key}) as client:
        _until(lambda: client.app.state.replicas.available(), what="the replica is healthy")  # type: ignore[attr-defined]
        yield client


def test_status_shows_the_replica_and_its_lag(replica_port: int) -> None:
    status = json.loads(_truce("db", "status", "--json").stdout)
    mine = [r for r in status["replicas"] if r["port"] == replica_port]
    assert mine and mine[0]["running"]
    _until(lambda: replicas.describe() and any(
        r["port"] == replica_port and r["state"] == "streaming" for r in replicas.describe()),
        what="the primary sees the replica streaming")
    row = next(r for r in replicas.describe() if r["port"] == replica_port)
    assert row["lag_seconds"] is not None and row["lag_bytes"] is not None


def test_reads_go_to_the_replica_with_the_same_etags(routed: TestClient,
                                                     client: TestClient) -> None:
    page = routed.get(ITEMS, params={"limit": 5})
    assert page.status_code == 200 and _role(page) == "replica"
    first = page.json()["features"][0]["id"]
    one = routed.get(f"{ITEMS}/{first}")  # the hot path: one prepared statement, no thread
    assert one.status_code == 200 and _role(one) == "replica"
    tile = routed.get("/collections/incidents/tiles/WebMercatorQuad/6/25/38")
    assert tile.status_code in (200, 204) and _role(tile) == "replica"
    # the same data on both nodes: the same validators (the primary-only app answers these)
    on_primary = client.get(f"{ITEMS}/{first}")
    assert _role(on_primary) == "primary"
    assert one.headers["etag"] == on_primary.headers["etag"]
    assert page.headers["etag"] == client.get(ITEMS, params={"limit": 5}).headers["etag"]


def test_metrics_give_each_replica_its_health_and_lag(routed: TestClient,
                                                      replica_port: int) -> None:
    from server.services.ops import metrics_text
    from tests.server.metrics import parse

    samples = parse(metrics_text(routed.app.state))  # type: ignore[attr-defined]
    healthy = {dict(labels)["replica"]: value for (name, labels), value in samples.items()
               if name == "truce_db_replica_healthy"}
    lag = {dict(labels)["replica"]: value for (name, labels), value in samples.items()
           if name == "truce_db_replica_lag_seconds"}
    (replica, up), = healthy.items()
    assert f":{replica_port}/" in replica and up == 1 and 0 <= lag[replica] < 1


def test_a_question_posted_is_answered_by_the_replica(routed: TestClient) -> None:
    question = {"type": "Point", "coordinates": [36.72, 34.73]}
    answer = routed.post("/analysis/deconfliction", json={"geometry": question},
                         headers={"X-API-Key": ""})
    assert answer.status_code == 200 and _role(answer) == "replica", answer.text
    # asking is not writing: the next read is still the replica's
    assert _role(routed.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": ""})) == "replica"


def test_a_writer_reads_its_own_writes(routed: TestClient, analyst_key: str) -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.51, 34.51]},
               "properties": {"occurred_at": "2016-03-02T00:00:00Z", "event_type": "shelling"}}
    created = routed.post(ITEMS, json=feature, headers={"Content-Type": GEOJSON})
    assert created.status_code == 201 and _role(created) == "primary"
    location = "/" + created.headers["Location"].split("://", 1)[1].split("/", 1)[1]
    read = routed.get(location)  # at once, by the same key: from the primary
    assert read.status_code == 200 and _role(read) == "primary"
    patched = routed.patch(location, json={"properties": {"fatalities": 7}},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    again = routed.get(location)
    assert again.json()["properties"]["fatalities"] == 7 and _role(again) == "primary"
    # another caller (no key) is not a recent writer: its reads stay on the replica
    other = routed.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": ""})
    assert other.status_code == 200 and _role(other) == "replica"
    assert routed.delete(location).status_code == 204
    assert routed.get(location).status_code == 404


def test_a_lagging_replica_is_taken_out_and_put_back(routed: TestClient, database_url: str,
                                                     replica_url: str) -> None:
    state = routed.app.state.replicas  # type: ignore[attr-defined]
    standby = psycopg2.connect(replica_url.replace("+psycopg2", ""))
    standby.autocommit = True
    primary = psycopg2.connect(database_url.replace("+psycopg2", ""))
    primary.autocommit = True
    try:
        with standby.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_pause()")
        with primary.cursor() as cur:  # WAL the paused standby does not replay
            cur.execute("CREATE TABLE replica_lag_probe (x int)")
            cur.execute("DROP TABLE replica_lag_probe")
        _until(lambda: not state.available(), timeout=10, what="the lagging replica is out")
        read = routed.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": ""})
        assert read.status_code == 200 and _role(read) == "primary"
        with standby.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
        _until(state.available, timeout=10, what="the replica is back once it caught up")
        read = routed.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": ""})
        assert read.status_code == 200 and _role(read) == "replica"
    finally:
        standby.close()
        primary.close()


def test_a_key_not_replayed_yet_is_checked_on_the_primary(
        database_url: str, replica_url: str, analyst_key: str, engine: Engine) -> None:
    """A key created a moment ago is not on the replica yet: its 401 there is not the answer,
    the primary's is (the replica stays in: its lag is under this app's limit)."""
    settings = make_settings(database_url)
    settings.database = DatabaseSettings(url=database_url, read_urls=[replica_url],
                                         max_replica_lag_seconds=300, replica_check_seconds=0.2)
    standby = psycopg2.connect(replica_url.replace("+psycopg2", ""))
    standby.autocommit = True
    try:
        with TestClient(create_app(settings)) as client:
            _until(client.app.state.replicas.available, what="the replica is healthy")  # type: ignore[attr-defined]
            with standby.cursor() as cur:
                cur.execute("SELECT pg_wal_replay_pause()")
            with Session(engine) as session:
                _, fresh = key_service.create("analyst", label="tests:replica-fresh",
                                              actor="tests", session=session)
            answer = client.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": fresh})
            assert answer.status_code == 200 and _role(answer) == "primary"
            one = client.get(f"{ITEMS}/{answer.json()['features'][0]['id']}",
                             headers={"X-API-Key": fresh})
            assert one.status_code == 200 and _role(one) == "primary"
            known = client.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": analyst_key})
            assert known.status_code == 200 and _role(known) == "replica"
            wrong = client.get(ITEMS, headers={"X-API-Key": fresh[:-4] + "xxxx"})
            assert wrong.status_code == 401  # still refused: by the primary too
    finally:
        with standby.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
        standby.close()


def test_a_stopped_replica_gives_no_5xx(routed: TestClient, replica_port: int) -> None:
    _truce("db", "replica", "down", "--port", str(replica_port))
    try:
        # at once, before any check saw it: every read is answered, by the primary
        for path in (ITEMS, f"{ITEMS}?limit=3", "/collections/incidents/tiles/WebMercatorQuad/6/25/38",
                     "/collections", "/tiles.json"):
            answer = routed.get(path, headers={"X-API-Key": ""})
            assert answer.status_code < 500 and _role(answer) == "primary", (path, answer.text)
        first = routed.get(ITEMS, params={"limit": 1}).json()["features"][0]["id"]
        one = routed.get(f"{ITEMS}/{first}", headers={"X-API-Key": ""})
        assert one.status_code == 200 and _role(one) == "primary"
        assert not routed.app.state.replicas.available()  # type: ignore[attr-defined]
    finally:
        _truce("db", "replica", "up", "--port", str(replica_port))
    _until(routed.app.state.replicas.available, what="the restarted replica is put back")  # type: ignore[attr-defined]
    back = routed.get(ITEMS, params={"limit": 1}, headers={"X-API-Key": ""})
    assert back.status_code == 200 and _role(back) == "replica"


def test_a_url_that_is_not_a_standby_is_refused(database_url: str) -> None:
    settings = make_settings(database_url)
    settings.database = DatabaseSettings(url=database_url, read_urls=[database_url])
    with pytest.raises(ReplicaRefused, match=r"is not a standby \(pg_is_in_recovery\(\) is false"):
        with TestClient(create_app(settings)):
            pass


def test_an_unreachable_replica_starts_the_api(database_url: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    nowhere = make_url(database_url).set(port=_free_port()).render_as_string(hide_password=False)
    settings = make_settings(database_url)
    settings.database = DatabaseSettings(url=database_url, read_urls=[nowhere])
    with caplog.at_level("WARNING", logger="truce.replicas"):
        with TestClient(create_app(settings)) as client:
            answer = client.get(ITEMS, params={"limit": 1})
            assert answer.status_code == 200 and _role(answer) == "primary"
    assert any("unreachable" in r.getMessage() for r in caplog.records)


def test_the_replica_is_beside_the_primary(replica_port: int) -> None:
    home = pgcluster.default_cluster()
    replica = replicas.replica_cluster(replica_port)
    assert replicas.is_replica(replica) and replica.root.is_relative_to(home.root)


def test_a_primary_down_at_start_does_not_stop_the_api(replica_url: str) -> None:
    """The replicas are checked once the primary answers; meanwhile the API starts (its
    liveness does not need the database) and takes no read from an unverified replica."""
    unreachable = "postgresql://nobody:x@127.0.0.1:1/none"
    settings = make_settings(unreachable)
    settings.database = DatabaseSettings(url=unreachable, read_urls=[replica_url])
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/live").status_code == 200
        assert not client.app.state.replicas.available()  # type: ignore[attr-defined]
