"""Violation reports and the verification workflow, end to end with real keys."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.security.conftest import Headers
from tests.security.reports import FEATURE, submit


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_report_as_feature_creates_a_restricted_reported_incident(
        client: TestClient, auth: Headers, engine: Engine) -> None:
    created = submit(client, auth)
    assert created["status"] == "reported"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT source, verification_status, sensitivity, geo_precision,"
                                " ST_X(geom), notes FROM incidents WHERE id = :id"),
                           {"id": created["incident_id"]}).one()
    assert tuple(row) == ("report", "reported", "restricted", "exact", 36.71,
                          "Mortar rounds hit the market area.")
    own = client.get(f"/reports/{created['id']}", headers=auth("reporter")).json()
    assert own["status"] == "reported" and own["attachments"] == ["https://example.org/photo1.jpg"]
    assert "key_id" not in own
    # another reporter, a partner and the public never learn it exists
    assert client.get(f"/reports/{created['id']}", headers=auth("reporter2")).status_code == 404
    assert client.get(f"/reports/{created['id']}", headers=auth("partner_a")).status_code == 404
    assert client.get(f"/reports/{created['id']}").status_code == 401
    full = client.get(f"/reports/{created['id']}", headers=auth("analyst")).json()
    assert full["contact"] == "+963-555-0101 (Abu Karim)" and full["key_id"]


def test_report_by_settlement_name_as_form_fields(client: TestClient, auth: Headers,
                                                  engine: Engine) -> None:
    response = client.post("/reports", headers=auth("partner_a"), data={
        "occurred_at": "2016-03-03", "event_type": "airstrike", "settlement": "emesa",
        "description": "Reported strike on the northern district",
        "attachments": "https://example.org/a.jpg https://example.org/b.mp4"})
    assert response.status_code == 201, response.text
    with engine.connect() as conn:
        name, precision, org = conn.execute(text(
            "SELECT i.location_name, i.geo_precision, r.org FROM reports r "
            "JOIN incidents i ON i.id = r.incident_id WHERE r.id = :id"),
            {"id": response.json()["id"]}).one()
    assert (name, precision, org) == ("Homs", "settlement", "ngo-a")


@pytest.mark.parametrize("body, fragment", [
    ({"event_type": "shelling", "description": "no place", "occurred_at": "2016-03-01"}, "where"),
    ({"event_type": "shelling", "description": "x", "lon": 36, "lat": 34}, "occurred_at"),
    ({"event_type": "shelling", "description": "future", "lon": 36, "lat": 34,
      "occurred_at": "2999-01-01"}, "future"),
    ({"event_type": "shelling", "description": "far", "lon": 360, "lat": 34,
      "occurred_at": "2016-03-01"}, "lon"),
    ({"event_type": "shelling", "description": "nowhere", "settlement": "Atlantis",
      "occurred_at": "2016-03-01"}, "no settlement"),
    ({"event_type": "shelling", "description": "inj", "occurred_at": "2016-03-01",
      "settlement": "Homs'; DROP TABLE incidents; --"}, "no settlement"),
    ({"event_type": "x'); DELETE FROM reports; --", "description": "inj", "lon": 36,
      "lat": 34, "occurred_at": "2016-03-01"}, "event_type"),
    ({"event_type": "shelling", "description": "bad link", "lon": 36, "lat": 34,
      "occurred_at": "2016-03-01", "attachments": ["javascript:alert(1)"]}, "attachments"),
    ({"event_type": "shelling", "description": "extra", "lon": 36, "lat": 34,
      "occurred_at": "2016-03-01", "verification_status": "confirmed"}, "verification_status"),
])
def test_bad_reports_get_a_clear_400_and_change_nothing(
        client: TestClient, auth: Headers, engine: Engine, body: dict[str, Any],
        fragment: str) -> None:
    before = (_count(engine, "reports"), _count(engine, "incidents"))
    response = client.post("/reports", json=body, headers=auth("reporter"))
    assert response.status_code == 400, response.text
    assert fragment in response.json()["description"]
    assert (_count(engine, "reports"), _count(engine, "incidents")) == before


def test_not_json_and_public_submissions_are_refused(client: TestClient, auth: Headers) -> None:
    garbage = client.post("/reports", content=b"{nope", headers={
        **auth("reporter"), "Content-Type": "application/json"})
    assert garbage.status_code == 400 and "not JSON" in garbage.json()["description"]
    assert client.post("/reports", json=FEATURE).status_code == 401


def test_verification_workflow_roles_transitions_and_duplicates(
        client: TestClient, auth: Headers, engine: Engine) -> None:
    first = submit(client, auth)
    second = submit(client, auth, "reporter2", description="Same shelling, seen from the road.")
    url = f"/incidents/{first['incident_id']}/verification"
    step = {"status": "under_review", "reason": "triage"}
    assert client.post(url, json=step, headers=auth("reporter")).status_code == 403
    assert client.post(url, json=step, headers=auth("planner")).status_code == 403
    assert client.post(url, json=step).status_code == 401
    skip = client.post(url, json={"status": "confirmed", "reason": "too fast"},
                       headers=auth("analyst"))
    assert skip.status_code == 409 and skip.json()["allowed"] == ["under_review"]
    assert client.post(url, json=step, headers=auth("analyst")).status_code == 200
    confirmed = client.post(url, json={"status": "confirmed", "reason": "two sources",
                                       "sensitivity": "public"}, headers=auth("analyst"))
    assert confirmed.status_code == 200 and confirmed.json()["sensitivity"] == "public"

    dup_url = f"/incidents/{second['incident_id']}/verification"
    client.post(dup_url, json=step, headers=auth("analyst"))
    no_target = client.post(dup_url, json={"status": "duplicate", "reason": "same"},
                            headers=auth("analyst"))
    assert no_target.status_code == 400 and "duplicate_of" in no_target.json()["description"]
    injected = client.post(dup_url, json={"status": "duplicate", "reason": "same",
                                          "duplicate_of": "1 OR 1=1"}, headers=auth("analyst"))
    assert injected.status_code == 400
    dup = client.post(dup_url, json={"status": "duplicate", "reason": "same event",
                                     "duplicate_of": first["incident_id"]},
                      headers=auth("admin"))
    assert dup.status_code == 200, dup.text
    record = client.get(url, headers=auth("analyst")).json()
    assert record["status"] == "confirmed" and record["sensitivity"] == "public"
    assert record["reports"] == [first["id"], second["id"]]  # both reports, one incident
    assert [(s["from_status"], s["to_status"]) for s in record["steps"]] == [
        ("reported", "under_review"), ("under_review", "confirmed")]
    assert all(s["actor"].startswith("key:") and s["reason"] and s["at"]
               for s in record["steps"])
    # the reporters see their reports' status; the duplicate's reporter sees the merged incident
    assert client.get(f"/reports/{second['id']}", headers=auth("reporter2")).json()[
        "incident_id"] == first["incident_id"]
    with engine.connect() as conn:
        actors = conn.execute(text(
            "SELECT DISTINCT actor FROM audit_log WHERE table_name = 'incidents' "
            "AND row_id = :id AND action = 'update'"), {"id": str(first["incident_id"])}
        ).scalars().all()
    assert actors and all(a.startswith("key:") for a in actors)


@pytest.mark.parametrize("body, kind", [
    # Beirut: inside the page's rough rectangle around Syria, outside the country
    ({"lon": 35.50, "lat": 33.89, "occurred_at": "2016-03-01"}, "outside_area_of_interest"),
    ({"lon": 36.71, "lat": 34.73, "occurred_at": "2999-01-01"}, "future_time"),
])
def test_a_place_abroad_or_a_time_to_come_is_refused_with_its_kind(
        client: TestClient, auth: Headers, engine: Engine, body: dict[str, Any],
        kind: str) -> None:
    before = (_count(engine, "reports"), _count(engine, "incidents"))
    response = client.post("/reports", headers=auth("reporter"), json={
        "event_type": "shelling", "description": "Shelling reported", **body})
    assert response.status_code == 400, response.text
    assert [e["type"] for e in response.json()["errors"]] == [kind]  # the page words it
    assert (_count(engine, "reports"), _count(engine, "incidents")) == before


def test_a_place_just_across_the_border_is_inside(client: TestClient, auth: Headers,
                                                  engine: Engine) -> None:
    with engine.connect() as conn:  # a point in the 3 km ring just outside the country
        lon, lat = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference("
            "ST_Buffer(geom::geography, 3000)::geometry, geom)) p FROM admin_areas"
            " WHERE admin_level = 0 LIMIT 1) s")).one()
        assert not conn.execute(text(
            "SELECT bool_or(ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)))"
            " FROM admin_areas WHERE admin_level = 0"), {"x": lon, "y": lat}).scalar_one()
    response = client.post("/reports", headers=auth("reporter"), json={
        "event_type": "shelling", "description": "Seen from the border", "lon": lon,
        "lat": lat, "occurred_at": "2016-03-01"})
    assert response.status_code == 201, response.text
