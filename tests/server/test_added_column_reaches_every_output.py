"""A column added to `incidents` in one migration and one table definition reaches the API's
properties, the Part 4 body schema, the exports and the ETL's staging with no other edit: every
list of columns is derived from the table. The test adds `injured` to a copy of the table in a
scratch schema (the migration) and to a copy of the metadata (the table definition), and reads
it back through each output."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, Table, create_engine, text
from sqlalchemy.orm import Session

from etl.jobs import specs, sql_load
from etl.loaders import copy_csv, postgis
from etl.loaders.spec import Col
from server.db.collections import EDITORIAL, Collection, collection
from server.db.tables import metadata
from server.queries import features as q
from server.schemas.incidents import feature_model, properties_model
from server.security.release import Release
from server.services import export
from server.services.features import output_properties

SCRATCH = "scratch_added_column"
EVERYTHING = Release("TRUE")  # an unrestricted release (an analyst's)


@dataclass
class Added:
    conn: Connection
    table: Table  # the table definition, with the new column
    incidents: Collection


def _defined_with_new_column() -> Table:
    """The table definition change: `injured` added to (a copy of) the incidents table."""
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    incidents = copy.tables["incidents"]
    incidents.append_column(Column("injured", Integer))
    return incidents


@pytest.fixture
def added(database_url: str, sample_loaded: list[object]) -> Iterator[Added]:
    """The migration: the incidents table copied into a scratch schema (searched first) and one
    ALTER TABLE; all rolled back at the end. The copy numbers its rows with a sequence of its
    own (a sequence is not rolled back: the real one's next ids stay as they were)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            outer = conn.begin()
            conn.execute(text(f"CREATE SCHEMA {SCRATCH}"))
            conn.execute(text(f"CREATE TABLE {SCRATCH}.incidents "
                              "(LIKE public.incidents INCLUDING ALL)"))
            conn.execute(text(f"CREATE SEQUENCE {SCRATCH}.incidents_id"))
            conn.execute(text(f"ALTER TABLE {SCRATCH}.incidents ALTER COLUMN id "
                              f"SET DEFAULT nextval('{SCRATCH}.incidents_id')"))
            conn.execute(text(f"ALTER TABLE {SCRATCH}.incidents ADD COLUMN injured integer"))
            conn.execute(text(f"SET LOCAL search_path TO {SCRATCH}, public"))
            conn.execute(text("""
                INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                       verification_status, geom, injured)
                VALUES ('test', 'added-1', '2024-01-02T03:04:05Z', 'shelling', 'confirmed',
                        ST_SetSRID(ST_MakePoint(35.5, 31.5), 4326), 7)"""))
            # (what the table's triggers, not copied, would do: pages read up to the layer's
            # highest id)
            conn.execute(text("UPDATE layer_versions SET max_id = (SELECT max(id) FROM incidents)"
                              " WHERE layer = 'incidents'"))
            table = _defined_with_new_column()
            yield Added(conn, table, collection(table, EDITORIAL["incidents"]))
            outer.rollback()
    finally:
        engine.dispose()


def test_the_api_publishes_it(added: Added) -> None:
    c = added.incidents
    assert c.properties["injured"] == "integer"
    assert list(c.properties)[-1] == "injured"  # after the existing ones, whose order stays
    assert output_properties(c, EVERYTHING)["injured"]["type"] == "integer"
    with Session(bind=added.conn) as session:
        returned, body = q.list_page(c, q.ItemQuery(limit=5), EVERYTHING, session=session)
    assert returned == 1 and '"injured" : 7' in body.replace('":', '" :')


def test_a_feature_write_accepts_it(added: Added) -> None:
    c = added.incidents
    assert "injured" in c.written
    model = feature_model(properties_model(added.table, c))
    schema = model.model_json_schema()
    assert schema["$defs"]["IncidentProperties"]["properties"]["injured"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Injured"}
    feature = model.model_validate({
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [35.5, 31.5]},
        "properties": {"occurred_at": "2024-01-02T03:04:05Z", "event_type": "shelling",
                       "injured": 3}})
    assert feature.properties.columns()["injured"] == 3


def test_the_exports_carry_it(added: Added) -> None:
    c = added.incidents
    with Session(bind=added.conn) as session:
        body = export.table(c, q.ItemQuery(limit=5), EVERYTHING, hxl=False, session=session)
    header, row = list(csv.reader(io.StringIO(body.decode())))
    assert row[header.index("injured")] == "7"
    assert 'CAST("injured" AS integer) AS "injured"' in export.typed_select(
        c, q.ItemQuery(), EVERYTHING, "features")


def test_the_etl_loads_it(added: Added) -> None:
    spec = specs.incidents_spec(added.table)
    assert Col("injured", "int") in spec.columns
    assert "injured" in spec.staged_fields
    assert sql_load.staged(spec, sql_load.INCIDENT_SOURCES)["injured"] == "injured"
    row = {"source_id": "added-2", "occurred_at": datetime(2024, 1, 3, tzinfo=UTC),
           "time_precision": "day", "event_type": "shelling", "geo_precision": "exact",
           "verification_status": "reported", "sensitivity": "public", "lon": 35.6, "lat": 31.6,
           "injured": 5}
    assert postgis.upsert(added.conn, spec, [row], source="test", run_id=1) == (1, 0)
    assert added.conn.execute(text(
        "SELECT injured FROM incidents WHERE source_id = 'added-2'")).scalar_one() == 5


def test_the_set_based_load_stages_it_empty_until_its_rules_make_it(added: Added) -> None:
    """The SQL rules of each format make the columns they know; a new one is staged NULL."""
    staged = sql_load.staged(specs.incidents_spec(added.table), sql_load.INCIDENT_SOURCES)
    conn = added.conn
    conn.execute(text(f"CREATE TEMP TABLE {copy_csv.RAW} (line int)"))
    conn.execute(text(f"""CREATE TEMP TABLE {copy_csv.CHECKED} AS
        SELECT 1 AS line, '{{}}'::text[] AS reasons, 'added-3'::text AS source_id,
               7 AS gazetteer_id"""))
    copy_csv.stage_accepted(conn, "incidents", staged)
    row = conn.execute(text("SELECT * FROM stage_incidents")).mappings().one()
    assert list(row) == list(staged)
    assert (row["source_id"], row["settlement_id"], row["injured"]) == ("added-3", 7, None)
