"""A database error is answered by its class, in one place (`server.errors.DATABASE_ERRORS`),
never by its message: a cancelled statement is a 503 query_timeout, an unreachable database a
503, anything else the database refuses a 400."""

from __future__ import annotations

import psycopg2
import psycopg2.errors
import pytest

from server.errors import database_error


@pytest.mark.parametrize(("exc", "status", "code"), [
    (psycopg2.errors.QueryCanceled("canceling statement due to statement timeout"), 503,
     "query_timeout"),
    (psycopg2.errors.QueryCanceled("canceling statement due to user request"), 503,
     "query_timeout"),
    (psycopg2.OperationalError("server closed the connection unexpectedly"), 503,
     "database_unavailable"),
    (psycopg2.InterfaceError("connection already closed"), 503, "database_unavailable"),
    (psycopg2.errors.DivisionByZero("division by zero"), 400, "invalid_query"),
    (psycopg2.errors.InvalidTextRepresentation("statement timeout"), 400, "invalid_query"),
    (None, 400, "invalid_query"),
])
def test_a_database_error_is_answered_by_its_class(exc: BaseException | None, status: int,
                                                    code: str) -> None:
    error = database_error(exc)
    assert (error.status_code, error.code) == (status, code)
