"""Settings: placeholder secrets are refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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
