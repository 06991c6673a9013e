"""The SQLAlchemy tables (server/db/tables) are the one description of every table: Alembic's
autogenerate comparison of them with the database the migrations built finds no difference."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Text

from server.db.migrate import include_object
from server.db.tables import metadata


def _differences(engine: Engine, target: MetaData) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": include_object, "compare_type": True,
            "compare_server_default": True})
        return list(compare_metadata(context, target))


def test_tables_describe_the_migrated_database(engine: Engine) -> None:
    assert _differences(engine, metadata) == []


def test_the_comparison_sees_a_column_missing_from_the_database(engine: Engine) -> None:
    """(The comparison is not vacuous: a column the migrations never made is a difference.)"""
    scratch = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(scratch)
    scratch.tables["incidents"].append_column(Column("injured", Text))
    diffs = _differences(engine, scratch)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "incidents", "injured")]
