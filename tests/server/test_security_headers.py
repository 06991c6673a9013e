"""Browser security headers on every answer, the pages' hash-based policies, and CORS."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli import config
from server.main import create_app
from tests.conftest import make_settings

ORIGIN = "https://maps.example.org"


class _Inline(HTMLParser):
    """The text of every inline <script> and <style>, and the src of every other script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.sources: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src")
        if tag == "script" and src:
            self.sources.append(src)
        elif tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data


def _inline(html: str) -> _Inline:
    parser = _Inline()
    parser.feed(html)
    return parser


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def _assert_common(headers: dict[str, str] | object) -> dict[str, list[str]]:
    get = headers.get  # type: ignore[attr-defined]
    assert get("x-content-type-options") == "nosniff"
    assert get("referrer-policy") == "no-referrer"
    policy = _directives(get("content-security-policy"))
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    return policy


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/?f=json", {}),
    ("GET", "/collections", {}),
    ("GET", "/static/app.js", {}),
    ("GET", "/static/vendor/maplibre-gl/4.7.1/maplibre-gl.js", {}),
    ("GET", "/api.html", {}),
    ("GET", "/api", {}),
    ("GET", "/collections/nope", {}),
    ("DELETE", "/collections", {}),
    ("POST", "/analysis/deconfliction", {"Content-Length": str(64 * 1024 * 1024)}),
])
def test_every_answer_has_the_security_headers(client: TestClient, method: str, path: str,
                                               headers: dict[str, str]) -> None:
    response = client.request(method, path, headers=headers)
    policy = _assert_common(response.headers)
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert "blob:" in policy["worker-src"] and {"data:", "blob:"} <= set(policy["img-src"])
    assert response.headers["x-frame-options"] == "DENY"


def test_viewer_policy_names_its_inline_script_by_hash(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.text.startswith("<!doctype html>")
    policy = _assert_common(response.headers)
    page = _inline(response.text)
    assert page.scripts, "the viewer's early fetches are an inline script"
    assert sorted(policy["script-src"]) == sorted(["'self'", *map(_hash, page.scripts)])
    assert policy["style-src"] == ["'self'"] and not page.styles
    assert all(src.startswith("/static/") for src in page.sources)
    assert "blob:" in policy["worker-src"] and "data:" in policy["img-src"]


def test_sitrep_map_policy_names_every_inline_script_and_style(client: TestClient) -> None:
    response = client.get("/reports/areas/4/map.html")
    assert response.status_code == 200
    policy = _assert_common(response.headers)
    page = _inline(response.text)
    assert len(page.scripts) >= 2 and page.styles and not page.sources
    assert sorted(policy["script-src"]) == sorted(set(map(_hash, page.scripts)))
    assert sorted(policy["style-src"]) == sorted(set(map(_hash, page.styles)))
    assert policy["default-src"] == ["'none'"]
    assert not re.search(r"<[a-z]+[^>]*\sstyle=", response.text), "style attributes need " \
        "'unsafe-inline'"


def test_api_reference_is_served_locally_with_no_inline_code(client: TestClient) -> None:
    response = client.get("/api.html")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    page = _inline(response.text)
    assert not page.scripts and not page.styles
    assert page.sources and all(src.startswith("/static/") for src in page.sources)
    assert not re.search(r"(src|href)=\"(https?:)?//", response.text)
    for src in page.sources + re.findall(r'href="(/static/[^"]+)"', response.text):
        assert client.get(src).status_code == 200, src
    assert Path(config.web_dir(), "apidocs", "apidocs.js").is_file()


# --- CORS --------------------------------------------------------------------------------------

def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/collections", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/collections", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400 and "code" in preflight.json()


def test_a_preflight_with_cors_off_is_403_naming_the_setting(client: TestClient) -> None:
    """Not the router's 405 (the review's finding): the policy is stated."""
    for path in ("/collections", "/", "/analysis/timeseries"):
        preflight = client.options(path, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 403, (path, preflight.text)
        body = preflight.json()
        assert body["code"] == "cors_forbidden" and "TRUCE_API_CORS_ORIGINS" in body["description"]
        assert "access-control-allow-origin" not in preflight.headers
        assert preflight.headers["x-content-type-options"] == "nosniff"


@pytest.fixture(scope="module")
def cors_client(database_url: str, sample_loaded: list[object]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url, cors_origins=[ORIGIN]))) as c:
        yield c


def test_preflight_from_an_allowed_origin_is_answered(cors_client: TestClient) -> None:
    response = cors_client.options("/collections/incidents/items", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, X-API-Key"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "x-api-key" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]
    _assert_common(response.headers)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
    {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
     "Access-Control-Request-Headers": "X-Custom-Thing"},
    {"Origin": ORIGIN, "Access-Control-Request-Method": "TRACE"},
])
def test_preflight_from_another_origin_or_asking_too_much_is_403_json(
        cors_client: TestClient, headers: dict[str, str]) -> None:
    response = cors_client.options("/collections", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "cors_forbidden"
    assert not [h for h in response.headers if h.startswith("access-control-")]


def test_requests_from_an_allowed_origin_get_cors_headers_and_others_do_not(
        cors_client: TestClient) -> None:
    allowed = cors_client.get("/collections", headers={"Origin": ORIGIN,
                                                       "Accept-Encoding": "gzip"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "etag" in allowed.headers["access-control-expose-headers"].lower()
    vary = [v.strip() for v in allowed.headers["vary"].split(",")]
    assert "Origin" in vary
    other = cors_client.get("/collections", headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200
    assert not [h for h in other.headers if h.startswith("access-control-")]
    assert "Origin" in other.headers["vary"]
    plain = cors_client.get("/collections")
    assert "access-control-allow-origin" not in plain.headers


def test_cors_origins_setting_takes_a_list_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from server.settings import ApiSettings

    monkeypatch.setenv("TRUCE_API_CORS_ORIGINS", f"{ORIGIN}, http://localhost:5173")
    assert ApiSettings().cors_origins == [ORIGIN, "http://localhost:5173"]
    monkeypatch.setenv("TRUCE_API_CORS_ORIGINS", '["*"]')
    assert ApiSettings().cors_origins == ["*"]
    monkeypatch.delenv("TRUCE_API_CORS_ORIGINS")
    assert ApiSettings().cors_origins == []
    with pytest.raises(ValidationError):
        ApiSettings(cors_origins=["maps.example.org/path"])


def test_an_unexpected_error_has_the_headers_too(database_url: str) -> None:
    app = create_app(make_settings(database_url))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    _assert_common(response.headers)
