"""Collection metadata tells no more than the items do: the extents of /collections and
/collections/{id} and the TileJSON bounds are those of what the caller's key may see.

A confirmed but restricted incident is planted beyond the sample's extent in space and time; the
public (and a partner of another organisation) must not see the extents move, an analyst must."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.security.conftest import Headers

SOURCE_ID = "release-metadata-outlier"


@pytest.fixture(scope="module")
def outlier(engine: Engine) -> Iterator[dict[str, Any]]:
    """The planted restricted incident: 0.5 degree beyond the data's north-east corner, two
    days after its last incident; removed after the module."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:release-metadata', true)"))
        maxx, maxy, last = conn.execute(text(
            "SELECT ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom)), max(occurred_at) "
            "FROM incidents")).one()
        lon, lat, when = float(maxx) + 0.5, float(maxy) + 0.5, last + timedelta(days=2)
        fid = int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                   location_name, notes, verification_status, sensitivity, geom)
            VALUES ('report', :sid, :when, 'state_based_violence', 1, 'Metadata test place',
                    'planted by the release metadata tests', 'confirmed', 'restricted',
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"sid": SOURCE_ID, "when": when, "lon": lon, "lat": lat})
            .scalar_one())
    yield {"id": fid, "lon": lon, "lat": lat, "when": when}
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:cleanup', true)"))
        conn.execute(text("DELETE FROM incidents WHERE id = :id"), {"id": fid})


def _keyed(analyst_key: str) -> dict[str, str]:
    return {"X-API-Key": analyst_key}


def _sees(bbox: list[float], point: dict[str, Any]) -> bool:
    minx, miny, maxx, maxy = bbox
    return minx <= point["lon"] <= maxx and miny <= point["lat"] <= maxy


def _end(meta: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meta["extent"]["temporal"]["interval"][0][1])


def _vary(response: Any) -> None:
    vary = response.headers.get("vary", "")
    assert "Authorization" in vary and "X-API-Key" in vary, vary


def test_collection_extent_is_the_callers(client: TestClient, analyst_key: str,
                                          outlier: dict[str, Any]) -> None:
    public = client.get("/collections/incidents")
    assert public.status_code == 200
    _vary(public)
    assert not _sees(public.json()["extent"]["spatial"]["bbox"][0], outlier)
    assert _end(public.json()) < outlier["when"]

    analyst = client.get("/collections/incidents", headers=_keyed(analyst_key))
    assert analyst.status_code == 200
    _vary(analyst)
    assert _sees(analyst.json()["extent"]["spatial"]["bbox"][0], outlier)
    assert _end(analyst.json()) == outlier["when"]
    # asked again (now cached per layer version and key): the public answer is unchanged
    again = client.get("/collections/incidents").json()
    assert again["extent"] == public.json()["extent"]


def test_collections_list_extents_are_the_callers(client: TestClient, analyst_key: str,
                                                  auth: Headers,
                                                  outlier: dict[str, Any]) -> None:
    def incidents(headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = client.get("/collections", headers=headers or {})
        assert response.status_code == 200
        _vary(response)
        found = [c for c in response.json()["collections"] if c["id"] == "incidents"]
        return found[0]

    public = incidents()
    assert not _sees(public["extent"]["spatial"]["bbox"][0], outlier)
    assert _end(public) < outlier["when"]
    partner = incidents(auth("partner_b"))  # another organisation's restricted row
    assert not _sees(partner["extent"]["spatial"]["bbox"][0], outlier)
    assert _end(partner) < outlier["when"]
    analyst = incidents(_keyed(analyst_key))
    assert _sees(analyst["extent"]["spatial"]["bbox"][0], outlier)
    assert _end(analyst) == outlier["when"]
    # layers without release rules: the same extents for everyone
    others = {c["id"]: c["extent"] for c in client.get("/collections").json()["collections"]}
    keyed = {c["id"]: c["extent"] for c in client.get(
        "/collections", headers=_keyed(analyst_key)).json()["collections"]}
    assert {k: v for k, v in others.items() if k != "incidents"} == \
        {k: v for k, v in keyed.items() if k != "incidents"}


@pytest.mark.parametrize("path", ["/collections/incidents/tiles.json",
                                  "/tiles.json?collections=incidents"])
def test_tilejson_bounds_are_the_callers(client: TestClient, analyst_key: str, auth: Headers,
                                         outlier: dict[str, Any], path: str) -> None:
    public = client.get(path)
    assert public.status_code == 200
    _vary(public)
    assert not _sees(public.json()["bounds"], outlier)
    assert public.json()["bounds"] != [-180.0, -85.0511, 180.0, 85.0511]  # released rows exist
    assert not _sees(client.get(path, headers=auth("partner_b")).json()["bounds"], outlier)
    analyst = client.get(path, headers=_keyed(analyst_key))
    assert analyst.status_code == 200
    _vary(analyst)
    assert _sees(analyst.json()["bounds"], outlier)
