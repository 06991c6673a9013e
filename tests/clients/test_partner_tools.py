"""A partner's own tools against a server with the production rate limits, run exactly as the
README's partner section writes them: GDAL's OGC API driver (ogrinfo, ogr2ogr at its default
paging and at PAGE_SIZE=1000 with -where and -spat) and OWSLib. Every request the server sees is
recorded, to count what a tool asked and to check that nothing was refused."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.main import create_app
from server.serving import uvicorn_options
from server.settings import SecuritySettings
from tests.conftest import ROOT, _free_port, make_settings

pytestmark = pytest.mark.clients
needs_gdal = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL is not installed")
ORG = "tests-partner-org"
HOST = "http://HOST:8000"


@dataclass
class Recorder:
    """Every request the server answered: (method, path?query, status)."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        with self.lock:
            return list(self.seen[mark:])

    def mark(self) -> int:
        with self.lock:
            return len(self.seen)


class Recording:
    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                query = scope.get("query_string", b"").decode()
                with self.recorder.lock:
                    self.recorder.seen.append(
                        (scope["method"], scope["path"] + (f"?{query}" if query else ""),
                         message["status"]))
            await send(message)

        await self.app(scope, receive, noted)


@dataclass
class Partner:
    url: str
    recorder: Recorder


@pytest.fixture(scope="module")
def partner_server(database_url: str, sample_loaded: list[object]) -> Iterator[Partner]:
    """The app with the production rate limits (20 tokens a second, bursts of 200 per key)."""
    settings = make_settings(database_url)
    settings.security = SecuritySettings()
    recorder = Recorder()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(Recording(create_app(settings), recorder),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           **uvicorn_options(settings.api)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Partner(f"http://127.0.0.1:{port}", recorder)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def partner_key(engine: Engine, sample_loaded: list[object]) -> str:
    """A fresh partner key (a bucket of its own) of an organisation that reported nothing."""
    from server.services import keys as key_service

    with Session(engine) as session:
        _, key = key_service.create("partner", org=ORG, expires_at=None, label="tests:partner",
                                    actor="tests", session=session)
    return key


@pytest.fixture(scope="module")
def released(engine: Engine, sample_loaded: list[object]) -> int:
    """How many incidents a partner of ORG may see: the released ones (confirmed and public)."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM incidents WHERE verification_status = 'confirmed' "
            "AND sensitivity = 'public'")).scalar_one())


def _partner_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## For partners")
    end = readme.find("\n## ", start + 1)
    return readme[start:end] if end > 0 else readme[start:]


def readme_commands() -> list[str]:
    """The GDAL command lines of the README's partner section, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", _partner_section(), re.S)
    joined = "\n".join(b for b in blocks if "OAPIF:" in b).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if "OAPIF:" in line]


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", _partner_section(), re.S)
    return next(b for b in blocks if "owslib" in b)


def _run(command: str, partner: Partner, key: str, cwd: Path,
         debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEY": key, **({"CPL_DEBUG": "ON"} if debug else {})}
    return subprocess.run(["bash", "-c", command.replace(HOST, partner.url)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def _info(path: Path, layer: str) -> str:
    return subprocess.run(["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True,
                          text=True, timeout=60, check=True).stdout


def _hits(partner: Partner, key: str, **params: Any) -> int:
    r = httpx.get(f"{partner.url}/collections/incidents/items",
                  params={"resultType": "hits", **params}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


def test_the_readme_runs_exactly_these_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 3
    assert commands[0].startswith('ogr2ogr -f GPKG incidents.gpkg "OAPIF:http://HOST:8000" '
                                  "incidents") and "PAGE_SIZE" not in commands[0]
    assert commands[1].startswith("ogrinfo -so")
    assert "-oo PAGE_SIZE=1000" in commands[2] and "-where" in commands[2] \
        and "-spat" in commands[2]


@needs_gdal
def test_readme_ogr2ogr_at_gdal_defaults_copies_everything_a_partner_sees(
        partner_server: Partner, partner_key: str, released: int, tmp_path: Path) -> None:
    mark = partner_server.recorder.mark()
    done = _run(readme_commands()[0], partner_server, partner_key, tmp_path)
    assert done.returncode == 0, done.stderr
    seen = partner_server.recorder.since(mark)
    pages = [path for _, path, _ in seen if path.startswith("/collections/incidents/items")]
    assert len(pages) > released // 10  # GDAL's default: 10 a page, never refused
    assert all(status == 200 for _, _, status in seen), [s for s in seen if s[2] != 200]
    out = tmp_path / "incidents.gpkg"
    info = _info(out, "incidents")
    assert f"Feature Count: {released}" in info
    assert "occurred_until: DateTime" in info and "fatalities: Integer" in info
    with sqlite3.connect(out) as gpkg:  # no feature came twice
        distinct = gpkg.execute("SELECT count(DISTINCT source || ':' || source_id) "
                                "FROM incidents").fetchone()[0]
    assert distinct == released


@needs_gdal
def test_readme_ogrinfo_takes_three_requests_and_types_every_field(
        partner_server: Partner, partner_key: str, released: int, tmp_path: Path) -> None:
    mark = partner_server.recorder.mark()
    done = _run(readme_commands()[1], partner_server, partner_key, tmp_path)
    assert done.returncode == 0, done.stderr
    seen = partner_server.recorder.since(mark)
    assert len(seen) <= 3, seen
    assert f"Feature Count: {released}" in done.stdout
    for typed in ("occurred_at: DateTime", "occurred_until: DateTime", "updated_at: DateTime",
                  "fatalities: Integer", "etl_run_id: Integer", "event_type: String"):
        assert typed in done.stdout
    areas = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{partner_server.url}/collections/agreement_areas",
         "agreement_areas", "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {partner_key}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert areas.returncode == 0, areas.stderr
    assert "effective_to: DateTime" in areas.stdout and "signed_at: DateTime" in areas.stdout


@needs_gdal
def test_readme_ogr2ogr_with_where_and_spat_filters_on_the_server(
        partner_server: Partner, partner_key: str, tmp_path: Path) -> None:
    done = _run(readme_commands()[2], partner_server, partner_key, tmp_path, debug=True)
    assert done.returncode == 0, done.stderr
    assert "client side" not in done.stderr  # the whole -where went to the server
    assert "filter-lang=cql-text" in done.stderr and "bbox=36" in done.stderr
    expected = _hits(partner_server, partner_key, bbox="36,34,37.5,35.5", **{
        "filter": "event_type = 'state_based_violence' AND occurred_at >= '2016-03-01'"})
    assert expected > 0
    info = _info(tmp_path / "recent.gpkg", "incidents")
    assert f"Feature Count: {expected}" in info and "occurred_until: DateTime" in info


WHERE = [  # what a partner writes, and the same selection in CQL2 for the server's own count
    ("fatalities > 5", "fatalities > 5"),
    ("event_type <> 'state_based_violence'", "event_type <> 'state_based_violence'"),
    ("location_name LIKE 'Hom%'", "location_name LIKE 'Hom%'"),
    ("location_name ILIKE 'hom%'", "CASEI(location_name) LIKE CASEI('hom%')"),
    ("fatalities >= 10 AND event_type = 'state_based_violence'",
     "fatalities >= 10 AND event_type = 'state_based_violence'"),
    ("event_type = 'one_sided_violence' OR fatalities >= 100",
     "event_type = 'one_sided_violence' OR fatalities >= 100"),
    ("occurred_at >= '2016-03-01' AND occurred_at < '2016-04-01'",
     "occurred_at >= TIMESTAMP('2016-03-01T00:00:00Z') AND "
     "occurred_at < TIMESTAMP('2016-04-01T00:00:00Z')"),
    ("occurred_at > '2016-06-01 12:00:00'", "T_AFTER(occurred_at, "
                                            "TIMESTAMP('2016-06-01T12:00:00Z'))"),
    ("occurred_until IS NULL", "occurred_until IS NULL"),
    ("NOT (fatalities > 0)", "NOT (fatalities > 0)"),
]


@needs_gdal
@pytest.mark.parametrize(("where", "cql"), WHERE, ids=[w for w, _ in WHERE])
def test_gdal_sends_where_to_the_server(partner_server: Partner, partner_key: str,
                                        where: str, cql: str, tmp_path: Path) -> None:
    mark = partner_server.recorder.mark()
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{partner_server.url}/collections/incidents",
         "incidents", "-where", where, "--config", "GDAL_HTTP_HEADERS",
         f"X-API-Key: {partner_key}", "--config", "CPL_DEBUG", "ON"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "CQL text detected" in done.stderr
    assert "client side" not in done.stderr, done.stderr
    seen = partner_server.recorder.since(mark)
    assert any("resultType=hits" in path and "filter=" in path for _, path, _ in seen)
    assert len(seen) <= 6, seen  # the count is one request, not a walk through the pages
    assert f"Feature Count: {_hits(partner_server, partner_key, filter=cql)}" in done.stdout


@needs_gdal
def test_gdal_36_evaluates_in_itself_after_reading_every_page(
        partner_server: Partner, partner_key: str) -> None:
    """Documented: GDAL 3.6 has no IN in its CQL text; the OR form is sent."""
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{partner_server.url}/collections/incidents",
         "incidents", "-oo", "PAGE_SIZE=1000", "-where",
         "event_type IN ('one_sided_violence', 'non_state_violence')",
         "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {partner_key}",
         "--config", "CPL_DEBUG", "ON"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Full filter will be evaluated on client side" in done.stderr
    assert "filter=" not in done.stderr  # nothing of it went to the server
    expected = _hits(partner_server, partner_key, filter="event_type IN ('one_sided_violence', "
                                                         "'non_state_violence')")
    assert f"Feature Count: {expected}" in done.stdout  # right, only slower


def test_readme_owslib_lines(partner_server: Partner, partner_key: str) -> None:
    scope: dict[str, Any] = {"KEY": partner_key}
    exec(readme_python().replace(HOST, partner_server.url), scope)  # noqa: S102 - our README
    fields = scope["fields"]
    assert fields["occurred_until"] == {"title": "occurred until", "type": "string",
                                        "format": "date-time"}
    assert fields["verification_status"]["enum"][0] == "reported"
    page, same = scope["page"], scope["same"]
    assert page["numberReturned"] > 0 and page["numberMatched"] >= page["numberReturned"]
    for feature in page["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert 36.0 <= lon <= 37.5 and 34.0 <= lat <= 35.5
        assert feature["properties"]["occurred_at"] > "2016-06-01T00:00:00"
    assert same["numberReturned"] > 0
    assert {f["properties"]["event_type"] for f in same["features"]} == {"one_sided_violence"}
    assert same["numberMatched"] == _hits(partner_server, partner_key,
                                          event_type="one_sided_violence")
    nxt = next(link["href"] for link in same["links"] if link["rel"] == "next")
    following = httpx.get(nxt, headers={"X-API-Key": partner_key}).json()  # a GET link
    assert {f["properties"]["event_type"] for f in following["features"]} == \
        {"one_sided_violence"}


def test_owslib_collections_queryables_and_schema(partner_server: Partner,
                                                  partner_key: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(partner_server.url, headers={"X-API-Key": partner_key})
    assert "incidents" in {c["id"] for c in api.collections()["collections"]}
    queryables = api.collection_queryables("incidents")["properties"]
    assert queryables["geo_precision"]["enum"][0] == "exact"
    schema = api.collection_schema("agreement_areas")
    assert schema["properties"]["effective_to"]["format"] == "date-time"
    assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    links = api.collection("incidents")["links"]
    assert any(link["rel"] == "describedby" and link["href"].endswith("/schema")
               for link in links)


def test_schema_of_an_unknown_collection_is_a_json_404(partner_server: Partner) -> None:
    r = httpx.get(f"{partner_server.url}/collections/nowhere/schema")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert "incidents" in r.json()["collections"]


def test_an_unknown_property_in_a_filter_names_the_queryables(partner_server: Partner,
                                                              partner_key: str) -> None:
    # what GDAL would send for a -where on a field the layer does not have
    r = httpx.get(f"{partner_server.url}/collections/incidents/items",
                  params={"filter": "casualties > 3", "filter-lang": "cql-text"},
                  headers={"X-API-Key": partner_key})
    assert r.status_code == 400
    body = r.json()
    assert "casualties" in body["description"] and "fatalities" in body["description"]
    assert "fatalities" in body["allowed"] and "/collections/incidents/queryables" in \
        body["description"]


def test_every_answer_carries_the_ratelimit_headers(partner_server: Partner,
                                                    partner_key: str) -> None:
    headers = {"X-API-Key": partner_key}
    for path in ("/", "/collections/incidents/items?limit=3", "/collections/nowhere",
                 "/collections/incidents/schema"):
        r = httpx.get(f"{partner_server.url}{path}", headers=headers)
        assert r.headers["RateLimit-Limit"] in ("200", "400"), path  # key, or address (1st)
        assert int(r.headers["RateLimit-Remaining"]) >= 0
        assert int(r.headers["RateLimit-Reset"]) >= 0
    r = httpx.get(f"{partner_server.url}/collections/incidents/items", params={"limit": 1000},
                  headers=headers)
    assert r.headers["RateLimit-Limit"] == "200"  # the key's own bucket, once verified
    assert r.headers["RateLimit-Policy"] == "200;w=10"  # (rows are charged: test_rate_limits)


def test_heavy_analysis_is_still_refused(partner_server: Partner, partner_key: str) -> None:
    """100 analysis requests at once cost 500 tokens against a burst of 200: some are refused
    whatever the machine's speed (one after another, a slow machine refills the bucket between
    them). The others are answered, or refused by the admission lanes while busy."""
    headers = {"X-API-Key": partner_key}

    def ask(_: int) -> httpx.Response:
        return httpx.get(f"{partner_server.url}/analysis/nearest",
                         params={"lon": 36.7, "lat": 34.7}, headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(ask, range(100)))
    assert all(r.status_code in (200, 429, 503) for r in answers), \
        sorted({(r.status_code, r.text[:200]) for r in answers})
    refused = next((r for r in answers if r.status_code == 429), None)
    assert refused is not None, "100 analysis requests at once were never refused"
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Limit"] == "200"
    assert int(refused.headers["RateLimit-Remaining"]) < 5
    assert int(refused.headers["RateLimit-Reset"]) >= 1


@needs_gdal
@pytest.mark.parametrize("fmt", ["gpkg", "fgb"])
def test_downloads_are_typed_from_the_schema_whatever_the_filter(
        partner_server: Partner, partner_key: str, fmt: str, tmp_path: Path) -> None:
    gpd = pytest.importorskip("geopandas")
    headers = {"X-API-Key": partner_key}
    infos = []
    for name, cql in (("all", None), ("none_until", "occurred_until IS NULL")):
        params = {"f": fmt, **({"filter": cql} if cql else {})}
        r = httpx.get(f"{partner_server.url}/collections/incidents/items", params=params,
                      headers=headers, timeout=120)
        assert r.status_code == 200, r.text
        out = tmp_path / f"{name}.{fmt}"
        out.write_bytes(r.content)
        info = _info(out, "incidents")
        assert "occurred_until: DateTime" in info and "fatalities: Integer" in info
        assert "event_type: String (0.0)" in info  # no width: nothing is cut
        infos.append([line for line in info.splitlines() if re.match(r"^\w+: \w+ \(", line)])
        frame = gpd.read_file(out)
        assert len(frame) > 0 and "occurred_until" in frame.columns
    assert infos[0] == infos[1]  # the same columns, the same types
