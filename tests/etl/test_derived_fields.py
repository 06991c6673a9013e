"""Issue 13, item 12: every incident and aid delivery takes the admin 1-3 P-codes of the admin
areas containing it at load (both load paths), they are recomputed when admin areas are
(re)loaded, `filter=admin1_pcode='SY04'` finds them through the API, and a geocoded row says
which gazetteer entry (settlement) it took."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.loaders import postgis
from etl.runner import run

BORDER = Path(__file__).parent / "data" / "ucdp_border_towns.csv"
# Homs (SY04 / SY0401 / SY040100) and Aleppo (SY02 / SY0200 / SY020000), the sample's COD-AB
HOMS = ("SY04", "SY0401", "SY040100")
ALEPPO = ("SY02", "SY0200", "SY020000")
AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"


def _pcodes(engine: Engine, table: str, source: str) -> dict[str, tuple[str | None, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT source_id, admin1_pcode, admin2_pcode, admin3_pcode "
                                 f"FROM {table} WHERE source = :s"), {"s": source}).all()
    return {str(r[0]): tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("row_wise", [False, True], ids=["set-based", "row-wise"])
def test_incidents_and_aid_deliveries_take_their_admin_pcodes(
        engine: Engine, sample_loaded: list, tmp_path: Path, row_wise: bool) -> None:
    source = f"etlt_pcodes_{int(row_wise)}"
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine, source=source,
                  row_wise=row_wise)
    assert summary.loaded == 3, summary
    pcodes = _pcodes(engine, "incidents", source)
    assert pcodes["313408"] == HOMS and pcodes["313407"] == ALEPPO
    assert pcodes["313401"][0] == "SY02"  # Raju, Aleppo governorate

    hxl = tmp_path / "3w.csv"
    hxl.write_text("Org,Sector,Place,Lat,Lon,Date,Reached\n"
                   "#org,#sector,#loc+name,#geo+lat,#geo+lon,#date,#reached\n"
                   "WFP,Food,Homs,34.7324,36.7137,2017-03-01,1200\n")
    summary = run(find_job("aid_deliveries", "hxl", hxl), hxl, engine, source=f"{source}_aid",
                  row_wise=row_wise)
    assert summary.loaded == 1 and summary.method == ("rows" if row_wise else "copy"), summary
    assert list(_pcodes(engine, "aid_deliveries", f"{source}_aid").values()) == [HOMS]


def test_admin1_filter_finds_loaded_incidents(client: TestClient, engine: Engine,
                                              sample_loaded: list) -> None:
    with engine.connect() as conn:
        homs = conn.execute(text("SELECT count(*) FROM incidents WHERE admin1_pcode = 'SY04' "
                                 "AND source = 'ucdp_ged'")).scalar_one()
        unset = conn.execute(text(
            "SELECT count(*) FROM incidents i WHERE i.source = 'ucdp_ged' AND i.admin1_pcode "
            "IS NULL AND EXISTS (SELECT 1 FROM admin_areas a WHERE a.admin_level = 1 "
            "AND ST_Intersects(a.geom, i.geom))")).scalar_one()
    assert homs > 500 and unset == 0  # every sample incident in a governorate has its P-code
    response = client.get("/collections/incidents/items",
                          params={"filter": "admin1_pcode='SY04'", "limit": 1000})
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert len(features) >= 500
    assert {f["properties"].get("admin1_pcode") for f in features} == {"SY04"}
    with engine.connect() as conn:
        aid = conn.execute(text("SELECT count(*) FROM aid_deliveries WHERE admin1_pcode = 'SY04' "
                                "AND source = 'illustrative_aid_deliveries'")).scalar_one()
    response = client.get("/collections/aid_deliveries/items",
                          params={"filter": "admin1_pcode='SY04'", "limit": 1000})
    assert response.status_code == 200, response.text
    delivered = response.json()["features"]
    assert aid > 0 and len(delivered) == aid
    assert {f["properties"]["admin1_pcode"] for f in delivered} == {"SY04"}


def test_admin_pcodes_are_recomputed_when_admin_areas_are_loaded(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("id,date,type,lon,lat\nE-1,2017-03-01,Shelling,38.905,34.905\n"
                      "E-2,2017-03-01,Shelling,38.2,34.2\n")
    summary = run(find_job("incidents", "csv", events), events, engine, source="etlt_recompute")
    assert summary.loaded == 2, summary
    before = _pcodes(engine, "incidents", "etlt_recompute")
    assert before["E-1"][2] is not None and before["E-1"][2].startswith("SY")
    area = tmp_path / "subdistrict.geojson"
    ring = [[38.9, 34.9], [38.91, 34.9], [38.91, 34.91], [38.9, 34.91], [38.9, 34.9]]
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"PCODE": "AAETLT01", "NAME_EN": "Etlt sub-district",
                                           "ADM1_PCODE": "SY04", "ADM2_PCODE": "SY0405"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    try:
        summary = run(find_job("admin_areas", "geojson", area), area, engine,
                      source="etlt_recompute_admin")
        assert (summary.status, summary.loaded) == ("completed", 1), summary
        after = _pcodes(engine, "incidents", "etlt_recompute")
        assert after["E-1"] == (*before["E-1"][:2], "AAETLT01")  # the new area wins the tie
        assert after["E-2"] == before["E-2"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM admin_areas WHERE pcode = 'AAETLT01'"))
            postgis.recompute_admin_pcodes(conn)
    assert _pcodes(engine, "incidents", "etlt_recompute") == before


def _settlement(engine: Engine, geonames_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM settlements WHERE geonames_id = :g"),
                                {"g": geonames_id}).scalar_one())


@pytest.mark.parametrize("row_wise", [False, True], ids=["set-based", "row-wise"])
def test_a_geocoded_row_names_the_settlement_it_took(engine: Engine, sample_loaded: list,
                                                     tmp_path: Path, row_wise: bool) -> None:
    raju = _settlement(engine, 165571)  # GeoNames' Rājū, in the sample gazetteer
    events = tmp_path / "events.csv"
    events.write_text("id,date,type,location_name,lon,lat\n"
                      "R-1,2017-03-01,Shelling,Raju,,\nR-2,2017-03-01,Shelling,,36.7137,34.7324\n")
    source = f"etlt_geocoded_{int(row_wise)}"
    summary = run(find_job("incidents", "csv", events), events, engine, source=source,
                  row_wise=row_wise)
    assert summary.loaded == 2 and summary.method == ("rows" if row_wise else "copy"), summary
    with engine.connect() as conn:
        taken = dict(conn.execute(text("SELECT source_id, settlement_id FROM incidents "
                                       "WHERE source = :s"), {"s": source}).tuples().all())
    assert taken == {"R-1": raju, "R-2": None}

    aid = tmp_path / "aid.csv"
    aid.write_text("source_id,delivered_at,method,cargo_type,location_name\n"
                   "D-1,2017-03-01,convoy,food,Raju\n")
    summary = run(find_job("aid_deliveries", "csv", aid), aid, engine, source=f"{source}_aid")
    assert summary.loaded == 1, summary
    with engine.connect() as conn:
        row = conn.execute(text("SELECT settlement_id, admin1_pcode FROM aid_deliveries "
                                "WHERE source = :s"), {"s": f"{source}_aid"}).one()
    assert tuple(row) == (raju, "SY02")
