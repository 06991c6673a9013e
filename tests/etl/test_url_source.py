"""`truce etl load URL`: files fetched over HTTP from a local server thread (no internet here),
format told by extension, Content-Type or first bytes; 404s, timeouts and oversized bodies end
with a clear error (and a JSON error object with --json), nothing loaded. The local server is on
loopback, which is refused unless listed: every test here lists its host:port
(TRUCE_ETL_URL_ALLOW, the `allow` of fetch); test_url_safety.py tests the refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.sample import HERE
from etl.sources.remote import fetch
from etl.sources.tabular import SourceError

TRUCE = [sys.executable, "-m", "cli.main"]
AID = ("source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude\n"
       "U-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n"
       "U-2,2016-05-02,convoy,food,5,tonnes,WFP,,\n")
AREAS = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"source_id": "UA-1", "name": "Url area", "status": "signed"},
     "geometry": {"type": "Polygon", "coordinates": [[[36.7, 34.7], [36.75, 34.7], [36.75, 34.75],
                                                      [36.7, 34.75], [36.7, 34.7]]]}}]})


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass

    def _send(self, body: bytes, content_type: str, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
            self._send(AID.encode(), "text/csv")
        elif self.path == "/api/areas?f=json":
            self._send(AREAS.encode(), "application/geo+json; charset=utf-8")
        elif self.path == "/export":
            self._send(AID.encode(), "application/octet-stream")
        elif self.path == "/short.csv":
            self._send(AID.encode(), "text/csv", length=len(AID) + 500)
        else:
            super().do_GET()


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("served")
    (root / "aid.csv").write_text(AID)
    (root / "big.csv").write_text(AID * 200)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    thread.join(timeout=5)


def allow(base: str) -> list[str]:
    """The allow-list entry of the local server: its host:port."""
    return [base.removeprefix("http://")]


def _truce(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`truce ARGS`; the local server's host:port is in TRUCE_ETL_URL_ALLOW."""
    base = next((a.split("/", 3)[2] for a in args if a.startswith("http://")), None)
    listed = {"TRUCE_ETL_URL_ALLOW": json.dumps([base])} if base else {}
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": url, **listed, **env})


def test_fetch_names_the_file_for_format_detection(http_root: tuple[str, Path],
                                                   tmp_path: Path) -> None:
    base, _ = http_root
    got = fetch(f"{base}/aid.csv", tmp_path, max_bytes=10_000, timeout=5, allow=allow(base))
    assert got.name == "aid.csv" and got.read_text() == AID
    typed = fetch(f"{base}/api/areas?f=json", tmp_path, max_bytes=10_000, timeout=5,
                  allow=allow(base))
    assert typed.name == "areas.geojson" and json.loads(typed.read_text())["features"]
    sniffed = fetch(f"{base}/export", tmp_path, max_bytes=10_000, timeout=5, allow=allow(base))
    assert sniffed.name == "export.csv"
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(("path", "limit", "timeout", "message"), [
    ("/missing.csv", 10_000, 5.0, "HTTP 404"),
    ("/big.csv", 1_000, 5.0, "1,000-byte limit"),
    ("/slow", 10_000, 0.5, "no answer within 0.5 s"),
    ("/short.csv", 10_000, 5.0, "ended after"),
])
def test_fetch_errors_are_clear_and_leave_no_file(http_root: tuple[str, Path], tmp_path: Path,
                                                  path: str, limit: int, timeout: float,
                                                  message: str) -> None:
    base, _ = http_root
    with pytest.raises(SourceError, match=message):
        fetch(f"{base}{path}", tmp_path, max_bytes=limit, timeout=timeout, allow=allow(base))
    assert list(tmp_path.iterdir()) == []


def test_fetch_refuses_other_schemes_and_dead_hosts(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not an http"):
        fetch(f"file://{HERE}/illustrative/aid_deliveries.csv", tmp_path, max_bytes=10, timeout=1)
    with pytest.raises(SourceError, match="cannot be fetched"):
        fetch("http://127.0.0.1:9/x.csv", tmp_path, max_bytes=10, timeout=1,
              allow=["127.0.0.1:9"])


def test_cli_loads_a_url_and_records_it(database_url: str, engine: Engine, sample_loaded: list,
                                        http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    url = f"{base}/aid.csv"
    done = _truce(database_url, "etl", "load", url, "--layer", "aid_deliveries", "--source",
                  "etlt_url_aid", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["status"], out["read"], out["loaded"], out["quarantined"]) == ("completed", 2, 1, 1)
    assert out["path"] == url
    with engine.connect() as conn:
        run_path, options = conn.execute(text("SELECT source_path, options FROM etl_runs "
                                              "WHERE id = :r"), {"r": out["run_id"]}).one()
        quarantined_path = conn.execute(text("SELECT source_path FROM quarantine "
                                             "WHERE etl_run_id = :r"), {"r": out["run_id"]}).scalar()
    assert run_path == url and options["url"] == url and quarantined_path == url
    areas = _truce(database_url, "etl", "load", f"{base}/api/areas?f=json", "--layer",
                   "agreement_areas", "--source", "etlt_url_areas", "--json")
    assert areas.returncode == 0, areas.stderr
    assert json.loads(areas.stdout)["loaded"] == 1
    again = json.loads(_truce(database_url, "etl", "load", url, "--layer", "aid_deliveries",
                              "--source", "etlt_url_aid", "--json").stdout)
    assert (again["loaded"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_cli_url_errors_exit_2_with_a_json_error(database_url: str, sample_loaded: list,
                                                 http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    missing = _truce(database_url, "etl", "load", f"{base}/missing.csv", "--layer",
                     "aid_deliveries", "--json")
    assert missing.returncode == 2
    out = json.loads(missing.stdout)
    assert out["status"] == "failed" and out["run_id"] is None and "HTTP 404" in out["error"]
    assert "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr
    big = _truce(database_url, "etl", "load", f"{base}/big.csv", "--layer", "aid_deliveries",
                 TRUCE_ETL_URL_MAX_BYTES="1000")
    assert big.returncode == 2 and big.stdout == ""
    assert "1,000-byte limit" in " ".join(big.stderr.split())  # rich wraps long lines
    slow = _truce(database_url, "etl", "load", f"{base}/slow", "--layer", "aid_deliveries",
                  "--json", TRUCE_ETL_URL_TIMEOUT_SECONDS="0.5")
    assert slow.returncode == 2 and "no answer within 0.5 s" in json.loads(slow.stdout)["error"]
