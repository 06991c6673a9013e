"""Run the Alembic migrations programmatically (used by `truce migrate` and the test suite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revisions() -> set[str]:
    """The revisions `upgrade` would bring a database to (read from the migration scripts)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())


#: tables the migrations do not own: PostGIS's own catalogue (CREATE EXTENSION postgis makes it)
NOT_OURS = frozenset({"spatial_ref_sys"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """What Alembic compares (autogenerate and the test comparing the tables with the migrated
    database): everything but the tables PostGIS owns. Indexes on expressions (which SQLAlchemy
    reflects without their expressions) Alembic skips by itself, and triggers and functions it
    does not see; every other table, column, type, default, key and index must match."""
    return not (type_ == "table" and name in NOT_OURS)
