"""Settings: placeholder secrets are refused outside development; the app factory reads the
environment when called with no arguments."""

from __future__ import annotations

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError

from server.main import create_app
from server.settings import DatabaseSettings, SecuritySettings, Settings

DB = DatabaseSettings(url="postgresql://u:p@127.0.0.1:5432/d")


def test_placeholder_webhook_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="TRUCE_SECURITY_WEBHOOK_SECRET"):
        Settings(environment="production", database=DB)


def test_placeholder_audit_head_key_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="TRUCE_SECURITY_AUDIT_HEAD_KEY"):
        Settings(environment="production", database=DB,
                 security=SecuritySettings(webhook_secret="x" * 40))


def test_a_real_secret_is_accepted_in_production_and_placeholders_in_development() -> None:
    real = SecuritySettings(webhook_secret="x" * 40, audit_head_key="y" * 40)
    assert Settings(environment="production", database=DB, security=real).security is real
    assert Settings(environment="development", database=DB).environment == "development"


def test_database_url_must_be_postgres() -> None:
    with pytest.raises(ValidationError):
        DatabaseSettings(url="mysql://a@b/c")
    assert DatabaseSettings(url="postgres://a@b/c").url.startswith("postgresql+psycopg2://")


def test_the_documented_factory_command_reads_the_environment(
        database_url: str, sample_loaded: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    """`uvicorn server.main:create_app --factory` calls create_app() with no arguments: the
    database (and every other setting) comes from TRUCE_* variables."""
    monkeypatch.setenv("TRUCE_DATABASE_URL", database_url)
    monkeypatch.setenv("TRUCE_API_DEFAULT_LIMIT", "3")
    app = create_app()
    assert app.state.settings.database.url == DatabaseSettings(url=database_url).url
    with TestClient(app) as client:
        assert client.get("/health").json()["database"] == "reachable"
        assert len(client.get("/collections/settlements/items").json()["features"]) == 3
    config = uvicorn.Config("server.main:create_app", factory=True)
    config.load()  # what the documented command does before serving
    assert config.loaded


def test_without_a_database_url_the_factory_says_which_setting_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUCE_DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="url"):
        Settings()
