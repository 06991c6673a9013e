"""Schemathesis over every operation of the OpenAPI document, in-process (ASGI), twice: anonymous
and with an analyst key. No 5xx; no status, media type or body the document does not declare;
every 4xx the JSON error body (server/errors.py); a request the document calls invalid (a wrong
type, a broken pattern, a value out of its bounds) refused. Its coverage phase sends each
parameter's boundary and invalid values, then `MAX_EXAMPLES` generated requests per operation
and run; derandomized, so every run sends the same requests."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from server.main import create_app
from tests.conftest import make_settings

#: examples per operation and run: ~50 operations x 2 runs stay well inside the 5 minute bound
#: (TRUCE_FUZZ_EXAMPLES=200 digs deeper, by hand)
MAX_EXAMPLES = int(os.environ.get("TRUCE_FUZZ_EXAMPLES", "12"))
#: each run is one pytest test: the suite's timeout bounds it, unless a deeper run is asked for
BOUND = pytest.mark.timeout(300 if "TRUCE_FUZZ_EXAMPLES" not in os.environ else 0)
FUZZ = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)

#: operations that create or change data: fuzzed anonymously only, where they must be refused
#: (the analyst run would write fuzz into the database every other test of the session reads)
WRITES = r"^(POST /alerts/subscriptions|DELETE /alerts/subscriptions/.*|POST /collections/.*/items"\
    r"|PUT .*|PATCH .*|DELETE /collections/.*|POST /reports|POST /incidents/.*)$"
#: requests sent, and seconds spent, by run and operation
SENT: Counter[tuple[str, str]] = Counter()
SPENT: Counter[tuple[str, str]] = Counter()


def _call(run: str, case: Case, checks: list[Any], headers: dict[str, str] | None = None) -> None:
    started = time.perf_counter()
    try:
        case.call_and_validate(headers=headers, checks=checks)
    finally:
        SENT[run, case.operation.label] += 1
        SPENT[run, case.operation.label] += time.perf_counter() - started


def error_body(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx is the project's JSON error body: {"code", "description", ...}."""
    if not 400 <= response.status_code < 500:
        return None
    media = response.headers.get("content-type", [""])[0]
    assert media.startswith("application/json"), f"a {response.status_code} answer as {media!r}"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("code"), str) \
        and isinstance(body.get("description"), str), f"not the error body: {body!r}"
    return True


def refused_write(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Without a valid key, a write is refused (a 4xx), whatever it carries."""
    if not re.match(WRITES, f"{case.method.upper()} {case.operation.path}"):
        return None
    assert 400 <= response.status_code < 500, f"a write without a key answered {response.status_code}"
    return True


CHECKS: list[Any] = [not_a_server_error, status_code_conformance, content_type_conformance,
                     response_schema_conformance, negative_data_rejection, error_body]


@pytest.fixture(scope="module")
def fuzz_app(database_url: str, sample_loaded: list[object]) -> Iterator[Any]:
    yield create_app(make_settings(database_url))


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/api", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@BOUND
@schema.parametrize()
@FUZZ
def test_anonymous(case: Case) -> None:
    _call("anonymous", case, [*CHECKS, refused_write])


@BOUND
@schema.exclude(name_regex=WRITES).parametrize()
@FUZZ
def test_analyst(case: Case, analyst_key: str) -> None:
    _call("analyst", case, CHECKS, {"X-API-Key": analyst_key})


def test_every_operation_was_fuzzed(api_schema: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Both runs reached what they should (runs after them: pytest keeps the file's order)."""
    if not SENT:
        pytest.skip("the fuzz runs did not run in this session")
    labels = {op.ok().label for op in api_schema.get_all_operations()}
    writes = {label for label in labels if re.match(WRITES, label)}
    assert {op for run, op in SENT if run == "anonymous"} == labels
    assert {op for run, op in SENT if run == "analyst"} == labels - writes
    with capsys.disabled():
        print(f"\nfuzz: {len(labels)} operations, {sum(SENT.values())} requests in "
              f"{sum(SPENT.values()):.0f} s ({MAX_EXAMPLES} examples per operation and run); "
              "slowest: " + ", ".join(f"{run} {op} {s:.1f} s" for (run, op), s
                                      in SPENT.most_common(5))
              + "; most requests: " + ", ".join(f"{run} {op} {n}" for (run, op), n
                                                 in SENT.most_common(3)))
