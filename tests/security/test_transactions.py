"""OGC API - Features Part 4 (create, replace, update, delete) on incidents, end to end against
the API with real keys: the audit chain, change feed, history and asof follow every write."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app as cli_app
from server.main import create_app
from server.settings import SecuritySettings
from tests.conftest import UNLIMITED, make_settings
from tests.security.conftest import Headers
from tests.security.webhooks import Receiver, subscribe

ITEMS = "/collections/incidents/items"
GEOJSON = {"Content-Type": "application/geo+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
INJECTION = "x'); DROP TABLE incidents; --"
FEATURE: dict[str, Any] = {
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [36.7237, 34.7311]},
    "properties": {"occurred_at": "2016-03-04T10:00:00Z", "event_type": "shelling",
                   "actor1": "Unknown", "fatalities": 2, "geo_precision": "exact",
                   "location_name": "Al-Waer", "notes": "Seen by the monitoring team."}}


def _feature(**props: Any) -> dict[str, Any]:
    return {**FEATURE, "properties": {**FEATURE["properties"], **props}}


def _send(client: TestClient, method: str, url: str, who: str, auth: Headers,
          body: Any = None, headers: dict[str, str] | None = None) -> Any:
    content = json.dumps(body).encode() if body is not None else None
    return client.request(method, url, content=content,
                          headers={**auth(who), **(headers or GEOJSON)})


def _create(client: TestClient, auth: Headers, body: dict[str, Any] | None = None) -> Any:
    response = _send(client, "POST", ITEMS, "analyst", auth, body or FEATURE)
    assert response.status_code == 201, response.text
    return response


def _verify(database_url: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--json"],
                                env={**os.environ, "TRUCE_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.stdout
    return dict(json.loads(result.stdout))


def _changes(client: TestClient, auth: Headers, since: int, who: str = "analyst"
             ) -> list[dict[str, Any]]:
    body = client.get("/collections/incidents/changes", params={"since": since},
                      headers=auth(who)).json()
    return list(body["changes"])


def _head(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_log")).scalar_one())


@pytest.fixture(autouse=True, scope="module")
def _remove_api_incidents(engine: Engine) -> Iterator[None]:
    """Incidents written here are removed afterwards: other tests count the sample data."""
    yield
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:cleanup', true)"))
        conn.execute(text("DELETE FROM incidents WHERE source = 'api'"))


def test_create_read_replace_patch_delete_with_feed_history_and_audit(
        client: TestClient, auth: Headers, engine: Engine, database_url: str) -> None:
    since = _head(engine)
    version_before = client.get(ITEMS, headers=auth("analyst")).headers["ETag"]
    created = _create(client, auth)
    feature = created.json()
    fid = feature["id"]
    assert created.headers["Location"].endswith(f"{ITEMS}/{fid}")
    assert feature["properties"]["verification_status"] == "reported"
    assert feature["properties"]["source"] == "api"
    assert feature["properties"]["source_id"] == f"api-{fid}"
    assert feature["geometry"]["coordinates"] == [36.7237, 34.7311]
    # read back: the same feature and the same ETag; the layer's version moved on
    read = client.get(f"{ITEMS}/{fid}", headers=auth("analyst"))
    assert read.status_code == 200 and read.json()["properties"] == feature["properties"]
    assert read.headers["ETag"] == created.headers["ETag"]
    assert client.get(ITEMS, headers=auth("analyst")).headers["ETag"] != version_before
    with engine.connect() as conn:
        row = conn.execute(text("SELECT sensitivity, admin1_pcode FROM incidents WHERE id = :id"),
                           {"id": fid}).one()
    assert row[0] == "restricted"
    # replace: every property from the body (actor1 absent -> null), the point moved
    replaced = _send(client, "PUT", f"{ITEMS}/{fid}", "analyst", auth,
                     {**_feature(fatalities=3, actor1=None, notes="Corrected count."),
                      "geometry": {"type": "Point", "coordinates": [36.70, 34.72]}},
                     {**GEOJSON, "If-Match": read.headers["ETag"]})
    assert replaced.status_code == 200, replaced.text
    props = replaced.json()["properties"]
    assert props["fatalities"] == 3 and props["actor1"] is None
    assert replaced.json()["geometry"]["coordinates"] == [36.7, 34.72]
    assert replaced.headers["ETag"] != read.headers["ETag"]
    # patch: a merge patch sets one property and clears another
    patched = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                    {"properties": {"fatalities_high": 5, "notes": None}},
                    {**MERGE, "If-Match": replaced.headers["ETag"]})
    assert patched.status_code == 200, patched.text
    props = patched.json()["properties"]
    assert (props["fatalities"], props["fatalities_high"], props["notes"]) == (3, 5, None)
    assert props["location_name"] == "Al-Waer"
    middle = datetime.now(UTC)
    # delete: 204, then 404, and the feed ends with a tombstone
    deleted = _send(client, "DELETE", f"{ITEMS}/{fid}", "analyst", auth,
                    headers={"If-Match": patched.headers["ETag"]})
    assert deleted.status_code == 204, deleted.text
    assert client.get(f"{ITEMS}/{fid}", headers=auth("analyst")).status_code == 404
    mine = [c for c in _changes(client, auth, since) if c["id"] == str(fid)]
    assert [c["change"] for c in mine] == ["created", "updated", "updated", "deleted"]
    assert mine[-1]["feature"] is None
    assert mine[2]["feature"]["properties"]["fatalities_high"] == 5
    # history: who and what, and the state as of a time between the patch and the delete
    history = client.get(f"{ITEMS}/{fid}/history", headers=auth("analyst")).json()
    assert [c["action"] for c in history["changes"]] == ["insert", "update", "update", "delete"]
    key_id = auth("analyst")["Authorization"].split("_")[1]
    assert {c["actor"] for c in history["changes"]} == {f"key:{key_id}"}
    assert history["state"] is None
    asof = client.get(f"{ITEMS}/{fid}/history", params={"asof": middle.isoformat()},
                      headers=auth("analyst")).json()
    assert asof["state"]["fatalities_high"] == 5 and asof["state"]["notes"] is None
    verified = _verify(database_url)
    assert verified["ok"] is True and verified["entries"] >= 4


def test_other_roles_are_refused_and_unknown_features_are_404(
        client: TestClient, auth: Headers) -> None:
    fid = _create(client, auth).json()["id"]
    for method, url in (("POST", ITEMS), ("PUT", f"{ITEMS}/{fid}"),
                        ("PATCH", f"{ITEMS}/{fid}"), ("DELETE", f"{ITEMS}/{fid}")):
        headers = MERGE if method == "PATCH" else GEOJSON
        body = {"properties": {"fatalities": 9}} if method == "PATCH" else FEATURE
        anonymous = client.request(method, url, content=json.dumps(body), headers=headers)
        assert anonymous.status_code == 401, (method, anonymous.text)
        assert anonymous.json()["code"] == "unauthorized"
        for who in ("planner", "partner_a", "reporter"):
            refused = _send(client, method, url, who, auth, body, headers)
            assert refused.status_code == 403, (method, who, refused.text)
        assert _send(client, method, url, "revoked", auth, body, headers).status_code == 401
    assert client.get(f"{ITEMS}/{fid}", headers=auth("analyst")).json()["properties"][
        "fatalities"] == 2
    # an admin writes too
    admin = _send(client, "PATCH", f"{ITEMS}/{fid}", "admin", auth,
                  {"properties": {"fatalities": 4}}, MERGE)
    assert admin.status_code == 200 and admin.json()["properties"]["fatalities"] == 4
    for method in ("PUT", "PATCH", "DELETE"):
        missing = _send(client, method, f"{ITEMS}/999999999", "analyst", auth,
                        None if method == "DELETE" else (
                            FEATURE if method == "PUT" else {"properties": {}}),
                        MERGE if method == "PATCH" else GEOJSON)
        assert missing.status_code == 404, (method, missing.text)
        assert missing.json()["code"] == "not_found"
    read_only = _send(client, "POST", "/collections/settlements/items", "analyst", auth, FEATURE)
    assert read_only.status_code == 405 and read_only.json()["code"] == "method_not_allowed"
    assert _send(client, "POST", "/collections/nope/items", "analyst", auth,
                 FEATURE).status_code == 404


@pytest.mark.parametrize(("body", "status", "where"), [
    (b"{not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"type": "FeatureCollection", "features": []}).encode(), 400, "GeoJSON Feature"),
    (json.dumps({**FEATURE, "id": 5}).encode(), 400, "assigns"),
    (json.dumps({**FEATURE, "geometry": {"type": "LineString",
                                         "coordinates": [[36, 34], [37, 35]]}}).encode(),
     422, "geometry"),
    (json.dumps({**FEATURE, "geometry": {"type": "Point", "coordinates": [236, 34]}}).encode(),
     422, "-180..180"),
    (json.dumps({**FEATURE, "geometry": None}).encode(), 422, "geometry"),
    (json.dumps(_feature(event_type="x'; --")).encode(), 422, "properties.event_type"),
    (json.dumps(_feature(geo_precision="street")).encode(), 422, "properties.geo_precision"),
    (json.dumps(_feature(fatalities=-1)).encode(), 422, "properties.fatalities"),
    (json.dumps(_feature(occurred_at="yesterday")).encode(), 422, "properties.occurred_at"),
    (json.dumps(_feature(occurred_at="2999-01-01T00:00:00Z")).encode(), 422, "future"),
    (json.dumps(_feature(colour="red")).encode(), 422, "properties.colour"),
    (json.dumps(_feature(fatalities_low=5, fatalities_high=2)).encode(), 422, "fatalities_low"),
    (json.dumps(_feature(admin1_pcode="SY'14")).encode(), 422, "admin1_pcode"),
    (json.dumps(_feature(admin1_pcode="SY99", admin2_pcode="SY04")).encode(), 422,
     "'SY99' is not a level 1 admin area; properties.admin2_pcode: 'SY04' is not a level 2"),
    (json.dumps({**FEATURE, "properties": {"event_type": "shelling"}}).encode(), 422,
     "occurred_at"),
])
def test_bad_bodies_get_a_precise_json_error(client: TestClient, auth: Headers, engine: Engine,
                                             body: bytes, status: int, where: str) -> None:
    before = _head(engine)
    response = client.post(ITEMS, content=body, headers={**auth("analyst"), **GEOJSON})
    assert response.status_code == status, response.text
    payload = response.json()
    assert where in payload["description"], payload
    if status == 422:
        assert payload["code"] == "invalid_feature" and payload["errors"]
    assert _head(engine) == before  # nothing written


def test_media_types_workflow_properties_and_size_caps(client: TestClient, auth: Headers,
                                                      engine: Engine) -> None:
    text_body = client.post(ITEMS, content=json.dumps(FEATURE),
                            headers={**auth("analyst"), "Content-Type": "text/plain"})
    assert text_body.status_code == 415 and text_body.json()["code"] == "unsupported_media_type"
    other_crs = _send(client, "POST", ITEMS, "analyst", auth, FEATURE, {
        **GEOJSON, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3857>"})
    assert other_crs.status_code == 400 and "CRS84" in other_crs.json()["description"]
    crs84 = _send(client, "POST", ITEMS, "analyst", auth, FEATURE, {
        **GEOJSON, "Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"})
    assert crs84.status_code == 201
    # plain application/json is accepted for create and patch
    fid = _send(client, "POST", ITEMS, "analyst", auth, FEATURE,
                {"Content-Type": "application/json"}).json()["id"]
    plain = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                  {"properties": {"fatalities": 1}}, {"Content-Type": "application/json"})
    assert plain.status_code == 200
    geo_patch = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                      {"properties": {"fatalities": 1}}, {"Content-Type": "text/csv"})
    assert geo_patch.status_code == 415
    # verification status and sensitivity move only through the workflow
    for props in ({"verification_status": "confirmed"}, {"sensitivity": "public"}):
        refused = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                        {"properties": props}, MERGE)
        assert refused.status_code == 409, refused.text
        assert "/verification" in refused.json()["description"]
    assert _send(client, "POST", ITEMS, "analyst", auth,
                 _feature(verification_status="confirmed")).status_code == 409
    # repeating the current values (a GET body sent back as is) is fine
    with_pcodes = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                        {"properties": {"admin1_pcode": "SY04", "admin2_pcode": "SY0401"}},
                        MERGE)
    assert with_pcodes.status_code == 200, with_pcodes.text
    with engine.connect() as conn:
        damascus = conn.execute(text(
            "SELECT pcode, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM admin_areas WHERE admin_level = 1 AND pcode <> 'SY04' ORDER BY pcode LIMIT 1"
        )).one()
    moved = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth, {"geometry": {
        "type": "Point", "coordinates": [damascus[1], damascus[2]]}}, MERGE)
    assert moved.json()["properties"]["admin1_pcode"] == damascus[0]  # re-derived
    _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
          {"geometry": FEATURE["geometry"]}, MERGE)
    as_read = client.get(f"{ITEMS}/{fid}", headers=auth("analyst")).json()
    round_trip = _send(client, "PUT", f"{ITEMS}/{fid}", "analyst", auth, as_read)
    assert round_trip.status_code == 200, round_trip.text
    assert round_trip.json()["properties"] == as_read["properties"] | {
        "updated_at": round_trip.json()["properties"]["updated_at"]}
    wrong_id = _send(client, "PUT", f"{ITEMS}/{fid}", "analyst", auth, {**as_read, "id": fid + 1})
    assert wrong_id.status_code == 400
    # a duplicate source_id is a conflict, not a 500
    _create(client, auth, _feature(source_id="field-7"))
    again = _send(client, "POST", ITEMS, "analyst", auth, _feature(source_id="field-7"))
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    huge = _feature(notes="x" * (3 * 1024 * 1024))
    assert _send(client, "POST", ITEMS, "analyst", auth, huge).status_code == 413
    long_notes = _send(client, "POST", ITEMS, "analyst", auth, _feature(notes="x" * 20_000))
    assert long_notes.status_code == 422


def test_if_match_mismatch_is_412_and_writes_nothing(client: TestClient, auth: Headers,
                                                     engine: Engine) -> None:
    created = _create(client, auth)
    fid, tag = created.json()["id"], created.headers["ETag"]
    first = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                  {"properties": {"fatalities": 7}}, {**MERGE, "If-Match": tag})
    assert first.status_code == 200
    before = _head(engine)
    for method, body, headers in (("PATCH", {"properties": {"fatalities": 8}}, MERGE),
                                  ("PUT", _feature(fatalities=8), GEOJSON),
                                  ("DELETE", None, GEOJSON)):
        stale = _send(client, method, f"{ITEMS}/{fid}", "analyst", auth, body,
                      {**headers, "If-Match": tag})
        assert stale.status_code == 412, (method, stale.text)
        assert stale.json()["code"] == "precondition_failed"
        assert stale.json()["etag"] == first.headers["ETag"]
    assert _head(engine) == before
    assert client.get(f"{ITEMS}/{fid}", headers=auth("analyst")).json()["properties"][
        "fatalities"] == 7
    anything = _send(client, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                     {"properties": {"fatalities": 9}}, {**MERGE, "If-Match": "*"})
    assert anything.status_code == 200
    # the GET's ETag of an analyst is the one to send; If-None-Match with it gives 304
    read = client.get(f"{ITEMS}/{fid}", headers=auth("analyst"))
    assert read.headers["ETag"] == anything.headers["ETag"]
    assert client.get(f"{ITEMS}/{fid}", headers={**auth("analyst"),
                                                 "If-None-Match": read.headers["ETag"]}
                      ).status_code == 304


@pytest.fixture(scope="module")
def strict_app(database_url: str, sample_loaded: list[object]) -> FastAPI:
    settings = make_settings(database_url)
    settings.security = SecuritySettings(**UNLIMITED, require_if_match=True)
    return create_app(settings)


def test_if_match_can_be_required(strict_app: FastAPI, auth: Headers) -> None:
    with TestClient(strict_app) as strict:
        created = _create(strict, auth)
        fid = created.json()["id"]
        missing = _send(strict, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                        {"properties": {"fatalities": 1}}, MERGE)
        assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
        ok = _send(strict, "PATCH", f"{ITEMS}/{fid}", "analyst", auth,
                   {"properties": {"fatalities": 1}},
                   {**MERGE, "If-Match": created.headers["ETag"]})
        assert ok.status_code == 200


def test_sql_looking_values_are_stored_verbatim(client: TestClient, auth: Headers,
                                                engine: Engine, database_url: str) -> None:
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    values = {"notes": INJECTION, "location_name": "Robert'); DROP TABLE reports;--",
              "actor1": "1 OR 1=1", "sub_event_type": "$$; SELECT pg_sleep(5); $$",
              "source_id": "'; DELETE FROM audit_log; --"}
    created = _create(client, auth, _feature(**values)).json()
    assert {k: created["properties"][k] for k in values} == values
    patched = _send(client, "PATCH", f"{ITEMS}/{created['id']}", "analyst", auth,
                    {"properties": {"notes": "'||(SELECT version())||'"}}, MERGE).json()
    assert patched["properties"]["notes"] == "'||(SELECT version())||'"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == count + 1
        assert conn.execute(text("SELECT count(*) FROM reports")).scalar_one() >= 0
        stored = conn.execute(text("SELECT location_name, source_id FROM incidents "
                                   "WHERE id = :id"), {"id": created["id"]}).one()
    assert tuple(stored) == (values["location_name"], values["source_id"])
    found = client.get(ITEMS, params={"location_name": values["location_name"]},
                       headers=auth("analyst")).json()
    assert [f["id"] for f in found["features"]] == [created["id"]]
    assert _verify(database_url)["ok"] is True


def test_writes_stay_hidden_from_public_and_partners_until_released(
        client: TestClient, auth: Headers, engine: Engine) -> None:
    since = _head(engine)
    fid = _create(client, auth, _feature(notes="unreleased")).json()["id"]
    for who in ("partner_a", "planner"):
        headers = auth(who)
        status = client.get(f"{ITEMS}/{fid}", headers=headers).status_code
        assert status == (200 if who == "planner" else 404)
    assert client.get(f"{ITEMS}/{fid}").status_code == 404
    assert not [c for c in _changes(client, auth, since, "partner_a") if c["id"] == str(fid)]
    public = client.get("/collections/incidents/changes", params={"since": since}).json()
    assert not [c for c in public["changes"] if c["id"] == str(fid)]
    # released through the workflow, then deleted: the public feed shows only the tombstone
    # (content of a row the caller can no longer see is never replayed)
    for status, sensitivity in (("under_review", None), ("confirmed", "public")):
        step = {"status": status, "reason": "checked by two monitors"}
        if sensitivity:
            step["sensitivity"] = sensitivity
        assert client.post(f"/incidents/{fid}/verification", json=step,
                           headers=auth("analyst")).status_code == 200
    public_item = client.get(f"{ITEMS}/{fid}").json()
    assert public_item["geometry"]["coordinates"] != FEATURE["geometry"]["coordinates"]
    assert "location_obfuscated" in public_item["properties"]
    assert _send(client, "DELETE", f"{ITEMS}/{fid}", "analyst", auth).status_code == 204
    public = client.get("/collections/incidents/changes", params={"since": since}).json()
    assert [(c["change"], c["feature"]) for c in public["changes"] if c["id"] == str(fid)] == [
        ("deleted", None)]


def test_openapi_shows_the_operations_and_their_security(client: TestClient) -> None:
    api = client.get("/api").json()
    items = api["paths"]["/collections/{collection_id}/items"]
    item = api["paths"]["/collections/{collection_id}/items/{feature_id}"]
    for operation in (items["post"], item["put"], item["patch"], item["delete"]):
        assert {"bearer": []} in operation["security"] and {"apiKey": []} in operation["security"]
    assert "application/geo+json" in items["post"]["requestBody"]["content"]
    assert "application/merge-patch+json" in item["patch"]["requestBody"]["content"]
    assert {"412", "428"} <= set(item["put"]["responses"])
    schema = items["post"]["requestBody"]["content"]["application/geo+json"]["schema"]
    assert "$defs" not in json.dumps(schema)
    assert "event_type" in json.dumps(schema)


def test_a_created_feature_triggers_alert_matching(client: TestClient, auth: Headers,
                                                   engine: Engine) -> None:
    with engine.connect() as conn:
        area_id, lon, lat = conn.execute(text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM agreement_areas ORDER BY id LIMIT 1")).one()
    receiver = Receiver()
    try:
        subscription = subscribe(client, auth, "analyst", receiver.url, area_id)
        created = _create(client, auth, {**FEATURE, "geometry": {
            "type": "Point", "coordinates": [lon, lat]}}).json()
        alerts = client.get("/alerts", headers=auth("analyst")).json()["alerts"]
        assert [a["incident_id"] for a in alerts
                if a["subscription_id"] == subscription["id"]] == [created["id"]]
        assert [json.loads(body)["incident_id"] for body, _ in receiver.received] == [
            created["id"]]
    finally:
        receiver.close()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alert_subscriptions"))
