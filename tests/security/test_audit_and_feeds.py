"""The hash-chained audit log (ETL, API and direct SQL writes), history/asof, change feeds and
the Atom feed, with release rules: public never sees restricted rows or reporter identity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app as cli_app
from tests.security.conftest import Headers
from tests.security.reports import submit

SECRET = "+963-555-0199 (Umm Ali)"


def _verify_cli(database_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--json"],
                                env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    return result.exit_code, result.stdout


@pytest.fixture()
def tamper(engine: Engine) -> Iterator[Any]:
    """Direct SQL on audit_log, as a superuser bypassing the append-only guard, undone after."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def test_etl_writes_are_audited_and_the_chain_verifies(database_url: str, engine: Engine,
                                                       sample_loaded: list[object]) -> None:
    with engine.connect() as conn:
        actors = conn.execute(text("SELECT count(*) FROM audit_log WHERE table_name = "
                                   "'incidents' AND actor LIKE 'etl:run/%'")).scalar_one()
    assert actors >= 6155
    code, out = _verify_cli(database_url)
    assert code == 0 and json.loads(out)["ok"] is True


def test_audit_log_is_append_only(engine: Engine, sample_loaded: list[object]) -> None:
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'me' WHERE seq = 1"))


def test_direct_sql_edit_of_an_audit_entry_is_detected(database_url: str, tamper: Engine) -> None:
    with tamper.begin() as conn:
        seq, original = conn.execute(text("SELECT seq, after::text FROM audit_log ORDER BY seq "
                                          "OFFSET 10 LIMIT 1")).one()
        conn.execute(text("UPDATE audit_log SET after = jsonb_set(after, '{fatalities}', '0') "
                          "WHERE seq = :seq"), {"seq": seq})
    try:
        code, out = _verify_cli(database_url)
        assert code == 1
        bad = json.loads(out)["first_bad"]
        assert bad["seq"] == seq and bad["broken"] == "content"
        text_out = CliRunner().invoke(cli_app, ["audit", "verify"], env={
            **os.environ, "TRUCE_DATABASE_URL": database_url}).stdout
        assert f"BROKEN at entry #{seq}" in text_out
    finally:  # put it back: the chain verifies again
        with tamper.begin() as conn:
            conn.execute(text("UPDATE audit_log SET after = CAST(:a AS jsonb) WHERE seq = :seq"),
                         {"a": original, "seq": seq})
    assert _verify_cli(database_url)[0] == 0


def test_direct_sql_delete_of_an_audit_entry_is_detected(database_url: str,
                                                         tamper: Engine) -> None:
    with tamper.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_log ORDER BY seq OFFSET 20 LIMIT 1")
                           ).mappings().one()
        conn.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": row["seq"]})
    try:
        code, out = _verify_cli(database_url)
        assert code == 1
        bad = json.loads(out)["first_bad"]
        assert bad["broken"] == "link" and bad["previous_seq"] == row["seq"] - 1
    finally:
        with tamper.begin() as conn:
            conn.execute(text("""INSERT INTO audit_log (seq, at, actor, action, table_name,
                                   row_id, before, after, prev_hash, hash)
                                 VALUES (:seq, :at, :actor, :action, :table_name, :row_id,
                                   CAST(:before AS jsonb), CAST(:after AS jsonb), :prev_hash,
                                   :hash)"""),
                         {**row, **{k: None if row[k] is None else json.dumps(row[k])
                                     for k in ("before", "after")}})
    assert _verify_cli(database_url)[0] == 0


def test_direct_sql_writes_to_layers_are_audited(engine: Engine,
                                                 sample_loaded: list[object]) -> None:
    with engine.begin() as conn:
        original = conn.execute(text("SELECT notes FROM aid_deliveries WHERE id = 1")).scalar()
        conn.execute(text("UPDATE aid_deliveries SET notes = 'fixed by hand' WHERE id = 1"))
        actor, before, after = conn.execute(text(
            "SELECT actor, before->>'notes', after->>'notes' FROM audit_log "
            "WHERE table_name = 'aid_deliveries' AND row_id = '1' ORDER BY seq DESC LIMIT 1")
        ).one()
        conn.execute(text("UPDATE aid_deliveries SET notes = :n WHERE id = 1"), {"n": original})
    assert actor.startswith("sql:") and after == "fixed by hand" and before != after


def test_history_and_asof(client: TestClient, auth: Headers) -> None:
    created = submit(client, auth)
    url = f"/incidents/{created['incident_id']}/verification"
    client.post(url, json={"status": "under_review", "reason": "triage"}, headers=auth("analyst"))
    history_url = f"/collections/incidents/items/{created['incident_id']}/history"
    body = client.get(history_url, headers=auth("analyst")).json()
    assert [c["action"] for c in body["changes"]] == ["insert", "update"]
    assert body["changes"][1]["before"]["verification_status"] == "reported"
    assert body["changes"][1]["after"]["verification_status"] == "under_review"
    assert body["changes"][1]["actor"].startswith("key:")
    assert body["state"]["geom"]["type"] == "Point"
    first_at = body["changes"][0]["at"]
    then = client.get(history_url, params={"asof": first_at}, headers=auth("analyst")).json()
    assert then["state"]["verification_status"] == "reported"
    before = client.get(history_url, params={"asof": "2016-03-01T00:00Z"},
                        headers=auth("analyst")).json()
    assert before["state"] is None and before["changes"] == []
    assert client.get(history_url, params={"asof": "yesterday'--"},
                      headers=auth("analyst")).status_code == 400


def _all_changes(client: TestClient, headers: dict[str, str], limit: int = 2000
                 ) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    since = "0"
    while True:
        page = client.get("/collections/incidents/changes",
                          params={"since": since, "limit": limit}, headers=headers).json()
        assert "changes" in page, page
        changes += page["changes"]
        since = page["next"]
        if not page["more"]:
            return changes, since


def test_change_feed_public_sees_only_released_obfuscated_rows(
        client: TestClient, auth: Headers, engine: Engine) -> None:
    restricted = submit(client, auth, contact=SECRET, reporting_party="Secret witness")
    public, cursor = _all_changes(client, {})
    ids = {c["id"] for c in public}
    assert str(restricted["incident_id"]) not in ids
    with engine.connect() as conn:
        released = {str(i) for i in conn.execute(text(
            "SELECT id FROM incidents WHERE verification_status = 'confirmed' "
            "AND sensitivity = 'public'")).scalars()}
    mirror: dict[str, dict[str, Any]] = {}
    for change in public:
        if change["change"] == "deleted":
            mirror.pop(change["id"], None)
        else:
            mirror[change["id"]] = change["feature"]
    assert set(mirror) == released  # the mirror is exact
    sample = next(iter(mirror.values()))
    assert sample["properties"]["location_obfuscated"] == "snapped to a 0.1 degree grid"
    assert sample["properties"]["occurred_at"].endswith("T00:00:00+00:00")
    for feature in mirror.values():
        lon, lat = feature["geometry"]["coordinates"]
        assert round(lon * 10, 6) == round(lon * 10) and round(lat * 10, 6) == round(lat * 10)
    raw = json.dumps(public)
    assert SECRET not in raw and "Secret witness" not in raw
    # nothing new: the cursor stays; paging in small pages gives the same sequence
    again = client.get("/collections/incidents/changes", params={"since": cursor}).json()
    assert again["changes"] == [] and again["next"] == cursor
    small, _ = _all_changes(client, {}, limit=500)
    assert [c["seq"] for c in small] == [c["seq"] for c in public]


def test_release_then_unrelease_gives_created_then_tombstone(client: TestClient,
                                                            auth: Headers) -> None:
    _, cursor = _all_changes(client, {})
    created = submit(client, auth)
    url = f"/incidents/{created['incident_id']}/verification"
    iid = str(created["incident_id"])
    for step in ({"status": "under_review", "reason": "triage"},
                 {"status": "confirmed", "reason": "verified", "sensitivity": "public"}):
        assert client.post(url, json=step, headers=auth("analyst")).status_code == 200
    page = client.get("/collections/incidents/changes", params={"since": cursor}).json()
    assert [(c["id"], c["change"]) for c in page["changes"]] == [(iid, "created")]
    atom = ET.fromstring(client.get("/feeds/incidents.atom").content)
    ns = {"a": "http://www.w3.org/2005/Atom", "g": "http://www.georss.org/georss"}
    first = atom.find("a:entry", ns)
    assert first is not None and f"urn:truce:incidents:{iid}:" in first.findtext("a:id", "", ns)
    assert first.findtext("g:point", "", ns) == "34.7 36.7"  # snapped for the public
    assert SECRET not in client.get("/feeds/incidents.atom").text
    client.post(url, json={"status": "under_review", "reason": "new doubts"},
                headers=auth("analyst"))
    later = client.get("/collections/incidents/changes", params={"since": page["next"]}).json()
    assert [(c["id"], c["change"], c["feature"]) for c in later["changes"]] == [
        (iid, "deleted", None)]
    # analysts saw every step, with exact coordinates
    full = client.get("/collections/incidents/changes", params={"since": cursor},
                      headers=auth("analyst")).json()
    mine = [c for c in full["changes"] if c["id"] == iid]
    assert [c["change"] for c in mine] == ["created", "updated", "updated", "updated"]
    assert mine[0]["feature"]["geometry"]["coordinates"] == [36.71, 34.73]


def test_a_retracted_incident_leaves_atom_and_is_only_a_tombstone(client: TestClient,
                                                                  auth: Headers) -> None:
    """Confirmed + public, then back to under_review + restricted: anonymous callers no longer
    see it anywhere (item 404, not in Atom, one tombstone and no old content in the change
    feed, read from any cursor); keys that may still see it still see it."""
    place = "Hay al-Retracted 4417"
    _, cursor = _all_changes(client, {})
    created = submit(client, auth, "partner_a", location_name=place)
    iid = str(created["incident_id"])
    url = f"/incidents/{iid}/verification"
    for step in ({"status": "under_review", "reason": "triage"},
                 {"status": "confirmed", "reason": "verified", "sensitivity": "public"}):
        assert client.post(url, json=step, headers=auth("analyst")).status_code == 200
    urn = f"urn:truce:incidents:{iid}:"
    atom = client.get("/feeds/incidents.atom").text
    assert (urn in atom, place in atom) == (True, True)  # (tuples: no slow diff of the feed)
    seen = client.get("/collections/incidents/changes", params={"since": cursor}).json()
    assert [(c["id"], c["change"]) for c in seen["changes"]] == [(iid, "created")]
    assert seen["changes"][0]["feature"]["properties"]["location_name"] == place

    assert client.post(url, json={"status": "under_review", "reason": "retracted",
                                  "sensitivity": "restricted"},
                       headers=auth("analyst")).status_code == 200
    assert client.get(f"/collections/incidents/items/{iid}").status_code == 404
    atom = client.get("/feeds/incidents.atom", params={"limit": 500}).text
    assert (urn in atom, place in atom) == (False, False)
    for since in (cursor, seen["next"]):  # a new mirror, and one that had it
        page = client.get("/collections/incidents/changes", params={"since": since}).json()
        assert [(c["id"], c["change"], c["feature"]) for c in page["changes"]] == [
            (iid, "deleted", None)]
        assert (place in json.dumps(page)) is False
    # the partner that reported it and analysts still see it, with its content
    for who, steps in (("partner_a", ["created", "updated", "updated", "updated"]),
                       ("analyst", ["created", "updated", "updated", "updated"])):
        page = client.get("/collections/incidents/changes", params={"since": cursor},
                          headers=auth(who)).json()
        mine = [c for c in page["changes"] if c["id"] == iid]
        assert [c["change"] for c in mine] == steps, who
        assert mine[-1]["feature"]["properties"]["location_name"] == place
    assert (urn in client.get("/feeds/incidents.atom", headers=auth("partner_a")).text) is True


def test_partner_sees_its_own_restricted_reports_but_not_another_orgs(
        client: TestClient, auth: Headers) -> None:
    _, cursor = _all_changes(client, {})
    mine = submit(client, auth, "partner_a")
    a = client.get("/collections/incidents/changes", params={"since": cursor},
                   headers=auth("partner_a")).json()
    b = client.get("/collections/incidents/changes", params={"since": cursor},
                   headers=auth("partner_b")).json()
    assert str(mine["incident_id"]) in {c["id"] for c in a["changes"]}
    assert str(mine["incident_id"]) not in {c["id"] for c in b["changes"]}
    assert client.get(f"/reports/{mine['id']}", headers=auth("partner_b")).status_code == 404


@pytest.mark.parametrize("query", ["since=abc", "since=1;DROP TABLE incidents", "since=-1",
                                   "limit=0", "limit=1 OR 1=1", "since=1'--"])
def test_injection_in_feed_parameters_gets_400(client: TestClient, engine: Engine,
                                               query: str) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    response = client.get(f"/collections/incidents/changes?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == before


def test_feeds_only_for_audited_collections(client: TestClient) -> None:
    assert client.get("/collections/settlements/changes").status_code == 404
    assert client.get("/collections/nope';--/changes").status_code == 404
    areas = client.get("/collections/agreement_areas/changes?limit=5").json()
    assert areas["numberReturned"] == 5 and areas["more"] is True


def test_audit_blocks_are_append_only_and_an_edited_block_is_detected(
        database_url: str, engine: Engine, sample_loaded: list[object]) -> None:
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_blocks WHERE id = 1"))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_blocks DISABLE TRIGGER audit_blocks_append_only"))
        block_id, original = conn.execute(text(
            "SELECT id, hash FROM audit_blocks ORDER BY id OFFSET 1 LIMIT 1")).one()
        conn.execute(text("UPDATE audit_blocks SET hash = sha256(hash) WHERE id = :id"),
                     {"id": block_id})
    try:
        code, out = _verify_cli(database_url)
        assert code == 1 and json.loads(out)["first_bad"]["broken"] == "link"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_blocks SET hash = :h WHERE id = :id"),
                         {"h": original, "id": block_id})
            conn.execute(text("ALTER TABLE audit_blocks ENABLE TRIGGER audit_blocks_append_only"))
    assert _verify_cli(database_url)[0] == 0
