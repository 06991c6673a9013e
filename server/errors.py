"""Domain errors and the one map from error to HTTP status. Every error body is JSON."""

from __future__ import annotations

import logging

import psycopg2
import psycopg2.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.security.headers import ERROR_HEADERS

log = logging.getLogger(__name__)


class TruceError(Exception):
    """Base of all domain errors; `detail` is a message a person can act on."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidQueryError(TruceError):
    status_code = 400
    code = "invalid_query"


class NotFoundError(TruceError):
    status_code = 404
    code = "not_found"


class ConflictError(TruceError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(TruceError):
    status_code = 413
    code = "payload_too_large"


class RequestTimeoutError(TruceError):
    status_code = 408
    code = "request_timeout"


class NotAcceptableError(TruceError):
    status_code = 406
    code = "not_acceptable"


class UnauthorizedError(TruceError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(TruceError):
    status_code = 403
    code = "forbidden"


class MethodNotAllowedError(TruceError):
    status_code = 405
    code = "method_not_allowed"


class PreconditionFailedError(TruceError):
    status_code = 412
    code = "precondition_failed"


class UnsupportedMediaTypeError(TruceError):
    status_code = 415
    code = "unsupported_media_type"


class UnprocessableError(TruceError):
    """A well-formed body whose content breaks the schema or a vocabulary."""

    status_code = 422
    code = "invalid_feature"


class PreconditionRequiredError(TruceError):
    status_code = 428
    code = "precondition_required"


class DatabaseUnavailableError(TruceError):
    status_code = 503
    code = "database_unavailable"


class QueryTimeoutError(TruceError):
    status_code = 503
    code = "query_timeout"


class ClientClosedError(TruceError):
    """The client went away mid-request (nginx's 499): nobody reads this answer."""

    status_code = 499
    code = "client_closed_request"


#: a database error a request's statement met -> the answer, by the driver's exception class
#: (the first class the error is an instance of; SQLSTATE 57014, a statement the request's
#: guard did not stop (`server.db.guard.translate`), is PostgreSQL's statement timeout)
DATABASE_ERRORS: tuple[tuple[type[BaseException], type[TruceError], str, int, str], ...] = (
    (psycopg2.errors.QueryCanceled, QueryTimeoutError, "the query took too long; narrow it",
     logging.WARNING, "query timeout"),
    (psycopg2.OperationalError, DatabaseUnavailableError, "the database is not reachable",
     logging.ERROR, "database unavailable"),
    (psycopg2.InterfaceError, DatabaseUnavailableError, "the database is not reachable",
     logging.ERROR, "database unavailable"),
)


def database_error(exc: BaseException | None) -> TruceError:
    """The answer to a database error (logged): a timeout or an unreachable database is a 503,
    anything else the database refused is the query's fault (400)."""
    for kind, error, detail, level, what in DATABASE_ERRORS:
        if isinstance(exc, kind):
            log.log(level, "%s: %s", what, exc)
            return error(detail)
    log.error("database error: %s", exc)
    return InvalidQueryError("the database rejected the query")


def _body(code: str, detail: object, **extra: object) -> dict[str, object]:
    return {"code": code, "description": detail, **extra}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TruceError)
    async def _truce(_: Request, exc: TruceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(_body(exc.code, exc.detail, **exc.extra), exc.status_code, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", "")}
            for err in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return JSONResponse(_body("invalid_parameter", where, errors=errors), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, exc.detail), exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _db(_: Request, exc: DBAPIError) -> JSONResponse:
        error = database_error(exc.orig)
        return JSONResponse(_body(error.code, error.detail), error.status_code)

    @app.exception_handler(psycopg2.Error)
    async def _driver(_: Request, exc: psycopg2.Error) -> JSONResponse:
        """The same answers for the hot reads run by psycopg2 itself (`server.db.async_reads`)."""
        error = database_error(exc)
        return JSONResponse(_body(error.code, error.detail), error.status_code)

    @app.exception_handler(ValueError)
    async def _value(_: Request, exc: ValueError) -> JSONResponse:
        """psycopg2 refuses text holding NUL with a ValueError. NulCharacterMiddleware stops NULs
        at the door; one arriving some other way is still the client's, not a 500. Any other
        ValueError goes on to `_unexpected` (a 500, logged)."""
        if "cannot contain NUL" in str(exc):
            return JSONResponse(_body("invalid_parameter", "a value contains a NUL character "
                                      "(%00, \\u0000); text may not hold one"), 400)
        raise exc

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        rid = request.scope.get("state", {}).get("request_id")  # server.request_id set it
        return JSONResponse(_body("internal_error", "an unexpected error occurred"), 500,
                            {**ERROR_HEADERS, **({"x-request-id": rid} if rid else {})})
