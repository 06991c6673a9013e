"""The API tests here are about the data, so their client reads as an analyst (every incident,
exact points and times); what anonymous callers see is tested in tests/security."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture(scope="package")
def client(app: FastAPI, analyst_key: str) -> Iterator[TestClient]:
    with TestClient(app, headers={"X-API-Key": analyst_key}) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def public(app: FastAPI) -> Iterator[TestClient]:
    """A client without a key: what anonymous callers see (the release rules apply)."""
    with TestClient(app) as anonymous:
        yield anonymous
