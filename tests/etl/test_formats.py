"""Every incident, aid and area format loads through `etl.runner.run`, with geocoding from the
gazetteer, polygons repaired and reprojected, and gazetteers merged without duplicates."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from sqlalchemy import Engine, text

from etl.gazetteer import Gazetteer, Place, name_key
from etl.jobs import detect_format, find_job
from etl.runner import run
from etl.sample import HERE
from tests.etl.acled_rows import ACLED_HEADER, acled_row


def test_name_keys_tolerate_transliteration() -> None:
    assert name_key("Lattakia") == name_key("Latakia")
    assert name_key("Al-Lādhiqīyah") == name_key("al ladhiqiyah") == name_key("Al Ladhiqiyah")
    assert name_key("Tartouss") == name_key("Tartus")
    gaz = Gazetteer.build([
        (Place(1, "Latakia", 35.79, 35.53), ["Al Ladhiqiyah", "اللاذقية"]),
        (Place(2, "Tall Rif`at", 37.10, 36.47), []),
        (Place(3, "Tal Rifaat", 36.30, 33.10), []),  # same key, 350 km away: ambiguous
    ])
    assert [p.id for p in gaz.candidates("Al-Lādhiqīyah")] == [1]
    assert [p.id for p in gaz.candidates("اللاذقية")] == [1]
    assert len(gaz.candidates("Tall Rifaat")) == 2
    assert gaz.candidates("Nowhere") == []


def test_acled_export_loads_and_geocodes(engine: Engine, sample_loaded: list, tmp_path: Path
                                         ) -> None:
    path = tmp_path / "acled.csv"
    path.write_text("\n".join([
        ACLED_HEADER,
        acled_row("SYR1", "2016-03-01", "Jablah", "35.3621", "35.9276"),
        acled_row("SYR2", "02 March 2016", "Lattakia", "", "", geo="2"),
        acled_row("SYR3", "2016-03-03", "Al-Ladhiqiyah", "", ""),
        acled_row("SYR4", "2016-03-04", "Nowhereville", "", ""),
        acled_row("SYR5", "2016-03-05", "Jablah", "35.3621", "35.9276", fatalities="-1"),
    ]) + "\n")
    assert detect_format(path, "incidents") == "acled"
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_acled")
    assert summary.status == "completed", summary.error
    assert (summary.read, summary.loaded, summary.quarantined) == (5, 3, 2)
    assert summary.reasons == {"unknown_place_name": 1, "negative_count": 1}
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT source_id, geo_precision || ' ' || round(ST_X(geom)::numeric, 2) FROM incidents"
            " WHERE source = 'etlt_acled'")).all())
        detail = conn.execute(text("SELECT detail FROM quarantine WHERE etl_run_id = :r AND "
                                   "'unknown_place_name' = ANY(reasons)"),
                              {"r": summary.run_id}).scalar_one()
        event_type = conn.execute(text("SELECT DISTINCT event_type FROM incidents "
                                       "WHERE source = 'etlt_acled'")).scalar_one()
    assert rows == {"SYR1": "exact 35.93", "SYR2": "settlement 35.79", "SYR3": "settlement 35.79"}
    assert detail["place"] == "Nowhereville" and detail["candidates"] == []
    assert event_type == "explosions_remote_violence"
    again = run(find_job("incidents", "acled", path), path, engine, source="etlt_acled")
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, 3)


def test_hxl_incidents_and_3w_aid(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    incidents = tmp_path / "incidents_hxl.csv"
    incidents.write_text(
        "Event ID,Type,Date,Lat,Lon,Place,Governorate,Killed\n"
        "#event+id,#event+type,#date+occurred,#geo+lat,#geo+lon,#loc+name,#adm1+name,"
        "#affected+killed\n"
        "H-1,Shelling,2016-04-01,35.36,35.93,Jablah,Lattakia,3\n"
        "H-2,Airstrike,2016-04-02,,,Latakia,Lattakia,0\n")
    summary = run(find_job("incidents", "auto", incidents), incidents, engine, source="etlt_hxl")
    assert summary.status == "completed", summary.error
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 2, 0)
    aid = tmp_path / "3w.csv"
    aid.write_text(
        "Organisation,Sector,Location,Latitude,Longitude,Date,People reached\n"
        "#org,#sector,#loc+name,#geo+lat,#geo+lon,#date,#reached\n"
        "WFP,Food,Jablah,35.36,35.93,2016-05-01,1200\n"
        "WHO,Health,Lattakia,,,2016-05-02,300\n"
        "UNICEF,WASH,Jablah,35.36,35.93,2016-05-03,-4\n")
    assert detect_format(aid, "aid_deliveries") == "hxl"
    summary = run(find_job("aid_deliveries", "auto", aid), aid, engine, source="etlt_3w")
    assert summary.status == "completed", summary.error
    assert (summary.read, summary.loaded, summary.quarantined) == (3, 2, 1)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT cargo_type, quantity, unit FROM aid_deliveries "
                                 "WHERE source = 'etlt_3w' ORDER BY delivered_at")).all()
    assert [(r[0], int(r[1]), r[2]) for r in rows] == [("food", 1200, "people"),
                                                       ("medical", 300, "people")]


def test_generic_csv_and_geojson_with_mapping(engine: Engine, sample_loaded: list,
                                              tmp_path: Path) -> None:
    path = tmp_path / "field.csv"
    path.write_text("Ref;When;What;Y;X;Dead\nF1;2016-06-01;Shelling;34.73;36.71;1\n"
                    "F2;2016-06-02;Clash;34.74;36.72;0\n")
    mapping = {"source_id": "Ref", "occurred_at": "When", "event_type": "What", "lat": "Y",
               "lon": "X", "fatalities": "Dead"}
    summary = run(find_job("incidents", "csv", path), path, engine, source="etlt_generic",
                  mapping=mapping)
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 2, 0), summary
    geo = tmp_path / "field.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
         "properties": {"uid": "G1", "day": "2016-06-03", "kind": "Shelling"}}]}))
    summary = run(find_job("incidents", "auto", geo), geo, engine, source="etlt_generic_geo",
                  mapping={"source_id": "uid", "occurred_at": "day", "event_type": "kind"})
    assert (summary.status, summary.loaded) == ("completed", 1), summary


def _polygon_file(path: Path, driver: str, crs: str = "EPSG:4326", *, bowtie: bool = False
                  ) -> None:
    geoms = [shapely.box(36.70, 34.70, 36.75, 34.75)]
    if bowtie:
        geoms.append(shapely.Polygon([(36.8, 34.8), (36.9, 34.9), (36.9, 34.8), (36.8, 34.9)]))
    if crs != "EPSG:4326":
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        geoms = [shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
                 for g in geoms]
    n = len(geoms)
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(g) for g in geoms], dtype=object),
                      [np.array([f"A{i}" for i in range(n)], dtype=object),
                       np.array([f"Area {i}" for i in range(n)], dtype=object),
                       np.array(["signed"] * n, dtype=object)],
                      ["source_id", "name", "status"], driver=driver, geometry_type="Polygon",
                      crs=crs)


def test_agreement_area_polygons_from_every_vector_format(engine: Engine, sample_loaded: list,
                                                          tmp_path: Path) -> None:
    cases = {
        "gpkg": (tmp_path / "areas.gpkg", "GPKG", "EPSG:4326"),
        "kml": (tmp_path / "areas.kml", "KML", "EPSG:4326"),
        "shp": (tmp_path / "areas.shp", "ESRI Shapefile", "EPSG:3857"),
        "geojson": (tmp_path / "areas.geojson", "GeoJSON", "EPSG:4326"),
    }
    for fmt, (path, driver, crs) in cases.items():
        _polygon_file(path, driver, crs, bowtie=True)
        summary = run(find_job("agreement_areas", "auto", path), path, engine,
                      source=f"etlt_areas_{fmt}")
        assert summary.status == "completed", (fmt, summary.error)
        assert (summary.read, summary.loaded, summary.repaired) == (2, 2, 1), (fmt, summary)
    # a zipped shapefile, and one in a CRS with no EPSG code (reprojected with pyproj)
    custom = "+proj=lcc +lat_1=33 +lat_2=37 +lat_0=35 +lon_0=38 +datum=WGS84 +units=m +no_defs"
    _polygon_file(tmp_path / "lcc.shp", "ESRI Shapefile", custom)
    archive = tmp_path / "lcc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("lcc.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    summary = run(find_job("agreement_areas", "auto", archive), archive, engine,
                  source="etlt_areas_zip")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    with engine.connect() as conn:
        extents = conn.execute(text(
            "SELECT source, round(ST_XMin(geom)::numeric, 3), round(ST_YMin(geom)::numeric, 3),"
            " ST_IsValid(geom) FROM agreement_areas WHERE source LIKE 'etlt_areas_%' "
            "AND source_id = 'A0'")).all()
        repaired = conn.execute(text("SELECT rows_repaired FROM etl_runs WHERE source = "
                                     "'etlt_areas_gpkg'")).scalar_one()
    assert len(extents) == 5 and repaired == 1
    for source, xmin, ymin, valid in extents:
        assert (float(xmin), float(ymin), valid) == (36.7, 34.7, True), source


def test_agreement_areas_from_a_list_of_settlements_and_pcodes(engine: Engine,
                                                               sample_loaded: list,
                                                               tmp_path: Path) -> None:
    with engine.connect() as conn:
        pcode = conn.execute(text("SELECT pcode FROM admin_areas WHERE admin_level = 3 "
                                  "ORDER BY pcode LIMIT 1")).scalar_one()
    path = tmp_path / "signed.csv"
    path.write_text("name,pcode,status,signed_at,parties\n"
                    f"Sub-district,{pcode},signed,2016-03-01,A|B\n"
                    "Lattakia,,signed,2016-03-02,A|C\n"
                    "Nowhereville,,signed,2016-03-02,A\n"
                    "Ghost,SY999999,signed,2016-03-02,A\n")
    summary = run(find_job("agreement_areas", "csv", path), path, engine, source="etlt_list",
                  options={"buffer_m": 1500})
    assert summary.status == "completed", summary.error
    assert (summary.loaded, summary.quarantined) == (2, 2)
    assert summary.reasons == {"unknown_place_name": 1, "unknown_pcode": 1}
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT name, round(ST_Area(geom::geography)) FROM agreement_areas "
            "WHERE source = 'etlt_list'")).all())
        admin_area = conn.execute(text("SELECT round(ST_Area(geom::geography)) FROM admin_areas "
                                       "WHERE pcode = :p"), {"p": pcode}).scalar_one()
    assert rows["Sub-district"] == admin_area
    assert abs(float(rows["Lattakia"]) - 3.14159 * 1500**2) / (3.14159 * 1500**2) < 0.02


def test_second_gazetteer_merges_without_duplicates(engine: Engine, sample_loaded: list) -> None:
    path = HERE / "geonames" / "sy_rg_cities1000.csv"
    summary = run(find_job("settlements", "csv", path), path, engine, source="etlt_rg_cities")
    assert summary.status == "completed", summary.error
    # one real data problem: line 276 of the file (35.08638,36.20605 in Tartus) has no name
    assert summary.reasons == {"missing_required_field": 1}
    assert summary.unchanged > 200  # merged into the cities500 gazetteer
    with engine.connect() as conn:
        latakia = conn.execute(text("SELECT count(*) FROM settlements WHERE name IN "
                                    "('Latakia', 'Lattakia')")).scalar_one()
    assert latakia == 1
    again = run(find_job("settlements", "csv", path), path, engine, source="etlt_rg_cities")
    assert (again.loaded, again.updated) == (0, 0)
