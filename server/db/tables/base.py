"""Shared metadata and the columns every data row carries (source, run, created/updated)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, MetaData, Text, func

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def provenance_columns() -> list[Column]:  # type: ignore[type-arg]
    """`source`, `etl_run_id`, `created_at`, `updated_at`: on every data table."""
    return [
        Column("source", Text, nullable=False),
        Column("etl_run_id", BigInteger, ForeignKey("etl_runs.id", ondelete="SET NULL"),
               nullable=True, index=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def vocabulary(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK constraint limiting `column` to fixed values (constants only)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
