"""Issue 13, item 2: the area of interest is the loaded country (admin level 0), buffered by 5 km,
or what TRUCE_ETL_AREA_OF_INTEREST names; it applies to incidents, aid deliveries, settlements and
agreement areas on both load paths. tests/etl/data/ucdp_border_towns.csv holds UCDP GED rows (a
real 2016 row's fields) placed at Raju (36.667, 36.667: lon == lat, in Syria), in Antakya and
Kirikhan (Turkey), the Zaatari camp (Jordan), Al Qa'im (Iraq), Baalbek (Lebanon), at Aleppo with
latitude and longitude swapped, in Homs, and 2 km into Turkey at Atmeh, whose swap lies well
inside Syria (ambiguous)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from server.settings import EtlSettings

DATA = Path(__file__).parent / "data"
BORDER = DATA / "ucdp_border_towns.csv"
OUTSIDE = {"313402", "313403", "313404", "313405", "313406"}  # Antakya ... Baalbek
AID_HEADER = "source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude"


def _quarantined(engine: Engine, run_id: int | None) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, reasons FROM quarantine "
                                 "WHERE last_seen_run_id = :r"), {"r": run_id}).all()
    return {str(sid): list(reasons) for sid, reasons in rows}


def _points(engine: Engine, source: str, table: str = "incidents") -> dict[str, tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT source_id, ST_X(geom), ST_Y(geom) FROM {table} "
                                 "WHERE source = :s"), {"s": source}).all()
    return {str(sid): (round(x, 4), round(y, 4)) for sid, x, y in rows}


@pytest.mark.parametrize("row_wise", [False, True], ids=["set-based", "row-wise"])
def test_border_towns_outside_the_country_are_quarantined(engine: Engine, sample_loaded: list,
                                                          row_wise: bool) -> None:
    source = f"etlt_aoi_border_{int(row_wise)}"
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine, source=source,
                  row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 9, 3, 6), summary
    assert summary.reasons == {"outside_area_of_interest": 5, "ambiguous_coordinates": 1}
    assert summary.repaired == 1  # Aleppo's swap, given in Turkey and swapped into Syria
    quarantined = _quarantined(engine, summary.run_id)
    assert {k for k, v in quarantined.items() if v == ["outside_area_of_interest"]} == OUTSIDE
    assert quarantined["313409"] == ["ambiguous_coordinates"]
    assert _points(engine, source) == {"313401": (36.667, 36.667),  # Raju: lon == lat loads
                                       "313407": (37.1612, 36.2021),  # Aleppo, repaired
                                       "313408": (36.7137, 34.7324)}


def test_allow_outside_loads_and_flags(engine: Engine, sample_loaded: list) -> None:
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_aoi_allowed", options={"allow_outside": True})
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 8, 1), summary
    assert summary.reasons == {"ambiguous_coordinates": 1} and summary.repaired == 1
    assert summary.warnings == ["5 rows outside the area of interest were loaded "
                                "(--allow-outside): lines 3, 4, 5, 6, 7"]
    assert set(_points(engine, "etlt_aoi_allowed")) >= OUTSIDE


def test_aid_deliveries_settlements_and_agreement_areas_are_checked(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    aid = tmp_path / "aid.csv"
    aid.write_text(f"{AID_HEADER}\nA-1,2017-03-01,convoy,food,5,tonnes,WFP,34.7324,36.7137\n"
                   "A-2,2017-03-01,convoy,food,5,tonnes,UNHCR,32.2950,36.3230\n")  # Zaatari
    summary = run(find_job("aid_deliveries", "csv", aid), aid, engine, source="etlt_aoi_aid")
    assert (summary.loaded, summary.reasons) == (1, {"outside_area_of_interest": 1}), summary

    places = tmp_path / "places.csv"
    places.write_text("geonameid,name,latitude,longitude,countrycode,admin1code,population,"
                      "timezone,alternatenames\n"
                      "276781,Baalbek,34.00583,36.21806,LB,11,82608,Asia/Beirut,Baalbak\n"
                      "298033,Kirikhan,36.49944,36.36111,TR,31,52000,Europe/Istanbul,\n"
                      "9900001,Tall Etlt,34.9,38.9,SY,04,0,Asia/Damascus,\n")
    summary = run(find_job("settlements", "csv", places), places, engine, source="etlt_aoi_places")
    assert (summary.loaded, summary.reasons) == (1, {"outside_area_of_interest": 2}), summary

    areas = tmp_path / "areas.geojson"
    square = [[35.87, 33.82], [35.93, 33.82], [35.93, 33.88], [35.87, 33.88], [35.87, 33.82]]
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"source_id": "L-1", "name": "Zahle"},
         "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    summary = run(find_job("agreement_areas", "geojson", areas), areas, engine,
                  source="etlt_aoi_areas")
    assert (summary.loaded, summary.reasons) == (0, {"outside_area_of_interest": 1}), summary


def test_configured_area_of_interest(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    homs = EtlSettings(area_of_interest="SY04")  # Homs governorate only
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_aoi_homs", settings=homs)
    assert set(_points(engine, "etlt_aoi_homs")) == {"313408"}, summary

    polygon = tmp_path / "aoi.geojson"
    polygon.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[35.5, 32.0], [42.5, 32.0], [42.5, 37.5],
                                            [35.5, 37.5], [35.5, 32.0]]]}}))
    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine, source="etlt_aoi_box",
                  settings=EtlSettings(area_of_interest=str(polygon)))
    # the old box's error, by configuration: Antakya ... Baalbek are inside it
    assert OUTSIDE <= set(_points(engine, "etlt_aoi_box")), summary

    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_aoi_everywhere",
                  settings=EtlSettings(area_of_interest="everywhere"))
    assert (summary.loaded, summary.quarantined) == (9, 0), summary
    assert _points(engine, "etlt_aoi_everywhere")["313402"] == (36.1612, 36.2021)  # Antakya

    summary = run(find_job("incidents", "ucdp", BORDER), BORDER, engine,
                  source="etlt_aoi_unknown", settings=EtlSettings(area_of_interest="SY99,XX"))
    assert summary.status == "failed" and "SY99, XX" in str(summary.error), summary


def test_no_country_loaded_checks_nothing_and_says_so(engine: Engine, sample_loaded: list
                                                      ) -> None:
    from etl import aoi

    with engine.connect() as conn, conn.begin() as transaction:
        conn.execute(text("DELETE FROM admin_areas WHERE admin_level = 0"))
        area, warning = aoi.resolve(conn, "", 5)
        transaction.rollback()
    assert area is None and warning is not None and "TRUCE_ETL_AREA_OF_INTEREST" in warning
