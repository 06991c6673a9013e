"""Target tables as the loader sees them: the columns and their casts come from the tables
(server/db/tables); written here are only the look-ups, the columns no load sets, the natural
keys and the geometry kinds."""

from __future__ import annotations

from sqlalchemy import Table

from etl.loaders.spec import Col, TableSpec, from_table
from server.db import tables

# the admin areas (levels 1-3) containing the staged point, by their parts (migration 11a)
_ADMIN = ("(SELECT p.pcode FROM admin_area_parts p WHERE p.admin_level = {level} AND "
          "ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326)) "
          "ORDER BY p.pcode LIMIT 1)")
ADMIN_PCODES = tuple(Col(f"admin{n}_pcode", expr=_ADMIN.format(level=n)) for n in (1, 2, 3))


def incidents_spec(table: Table) -> TableSpec:
    """How incidents load into `table` (tables.incidents; a test passes a copy)."""
    return from_table(table, derived=ADMIN_PCODES,
                      skipped=("duplicate_of",))  # the duplicate check's finding (etl/dedupe.py)


INCIDENTS = incidents_spec(tables.incidents)

SETTLEMENTS = from_table(
    tables.settlements, derived=ADMIN_PCODES,
    skipped=("pcode",),  # no source gives it
)

ADMIN_AREAS = from_table(tables.admin_areas, key=("pcode",), geometry="polygon")

AGREEMENT_AREAS = from_table(tables.agreement_areas, geometry="polygon")

AGREEMENT_AREAS_BY_REFERENCE = TableSpec(
    "agreement_areas", AGREEMENT_AREAS.columns, geometry="reference")

AID_DELIVERIES = from_table(
    tables.aid_deliveries,
    derived=(
        Col("settlement_id", expr="coalesce((SELECT st.id FROM settlements st WHERE "
                                  "st.geonames_id = NULLIF(s.geonames_ref, '')::bigint ORDER BY "
                                  "st.id LIMIT 1), NULLIF(s.gazetteer_ref, '')::int)",
            staged_as="geonames_ref"),
        Col("agreement_area_id", expr="(SELECT a.id FROM agreement_areas a WHERE a.source_id = "
                                      "s.agreement_area_ref ORDER BY a.id LIMIT 1)",
            staged_as="agreement_area_ref"),
        *ADMIN_PCODES,
    ),
    extra_staged=("gazetteer_ref",),  # the settlement a geocoded row took
)

# UCDP files without a header row (candidate events): the columns by count.
_GED_41 = ("id,year,active_year,type_of_violence,conflict_new_id,conflict_name,dyad_new_id,"
           "dyad_name,side_a_new_id,side_a,side_b_new_id,gwnob,side_b,number_of_sources,"
           "source_article,source_office,source_date,source_headline,source_original,where_prec,"
           "where_coordinates,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,"
           "country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,"
           "deaths_civilians,deaths_unknown,low,best,high")
_GED_49 = ("id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,"
           "conflict_new_id,conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,"
           "side_a_new_id,side_a,side_b_dset_id,side_b_new_id,side_b,number_of_sources,"
           "source_article,source_office,source_date,source_headline,source_original,where_prec,"
           "where_coordinates,where_description,adm_1,adm_2,latitude,longitude,geom_wkt,"
           "priogrid_gid,country,country_id,region,event_clarity,date_prec,date_start,date_end,"
           "deaths_a,deaths_b,deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob")
UCDP_HEADERS = {41: _GED_41.split(","), 49: _GED_49.split(",")}
