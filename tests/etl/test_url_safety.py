"""`truce etl load URL` reaches only what it may: http(s) only, after every redirect too; no
loopback, private, link-local (cloud metadata) ... address unless TRUCE_ETL_URL_ALLOW lists it,
checked after DNS and connected to as checked; and the URL's secrets (user:password, tokens)
never reach etl_runs, quarantine, messages or --json. Two local servers (A and B) on loopback
stand in for the internet and for an internal service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl.sources import remote
from etl.sources.remote import fetch
from etl.sources.tabular import SourceError
from server.outbound import redact_url
from server.settings import EtlSettings

TRUCE = [sys.executable, "-m", "cli.main"]
AID = ("source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,longitude\n"
       "S-1,2016-05-01,convoy,food,5,tonnes,WFP,34.73,36.71\n")


class Server:
    """An HTTP server on 127.0.0.1: /aid.csv, /go?to=URL (a 302 there), /loop (302 to itself);
    it records each request's path and headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.seen.append((self.path, dict(self.headers.items())))
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/go?to="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path.split("?")[0] in ("/aid.csv", "/data/aid.csv"):
                    body = AID.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.hostport = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.hostport}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def a() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture
def b() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def get(url: str, tmp_path: Path, allow: list[str] | None = None) -> Path:
    return fetch(url, tmp_path, max_bytes=100_000, timeout=3, allow=allow or [])


def test_loopback_is_refused_unless_listed(a: Server, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as refused:
        get(f"{a.base}/aid.csv", tmp_path)
    assert str(refused.value) == (f"{a.base}/aid.csv: 127.0.0.1 is a loopback address; list it "
                                  "in TRUCE_ETL_URL_ALLOW to load from it")
    assert a.seen == []  # refused before connecting
    with pytest.raises(SourceError, match="loopback"):  # another port of the same host
        get(f"{a.base}/aid.csv", tmp_path, [f"127.0.0.1:{a.port + 1}"])
    # listed as host:port, as the host (any port) or as a CIDR: loaded
    for n, entry in enumerate((a.hostport, "127.0.0.1", "127.0.0.0/8")):
        (tmp_path / str(n)).mkdir()
        assert get(f"{a.base}/aid.csv", tmp_path / str(n), [entry]).read_text() == AID


def test_a_name_resolving_inside_is_refused(a: Server, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback "
                                          "address; list it in TRUCE_ETL_URL_ALLOW"):
        get(f"http://localhost:{a.port}/aid.csv", tmp_path)
    with pytest.raises(SourceError, match="loopback"):  # the address listed, not the name
        get(f"http://localhost:{a.port}/aid.csv", tmp_path, [a.hostport])
    assert get(f"http://localhost:{a.port}/aid.csv", tmp_path,
               [f"localhost:{a.port}"]).read_text() == AID


@pytest.mark.parametrize(("url", "kind"), [
    ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
    ("http://[fe80::1]/x.csv", "a link-local address"),
    ("http://10.0.0.7/x.csv", "a private address"),
    ("http://192.168.1.20:8080/x.csv", "a private address"),
    ("http://[fd00::5]/x.csv", "a private address"),
    ("http://100.64.0.1/x.csv", "a shared (CGNAT) address"),
    ("http://0.0.0.0/x.csv", "an unspecified address"),
    ("http://224.0.0.1/x.csv", "a multicast address"),
    ("http://240.0.0.1/x.csv", "a reserved address"),
    ("http://[::ffff:169.254.169.254]/x.csv", "the cloud metadata address"),
    ("http://[::ffff:127.0.0.1]:5432/x.csv", "a loopback address"),
])
def test_internal_addresses_are_refused(url: str, kind: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"is {kind.replace('(', '.').replace(')', '.')}; list "
                                          "it in TRUCE_ETL_URL_ALLOW"):
        get(url, tmp_path)


def test_a_redirect_is_checked_like_the_first_url(a: Server, b: Server, tmp_path: Path) -> None:
    allowed = [a.hostport]
    # to ftp://
    with pytest.raises(SourceError, match=r"redirected to ftp://127\.0\.0\.1/x\.csv\): ftp:// "
                                          "URLs are not fetched"):
        get(f"{a.base}/go?to=ftp://127.0.0.1/x.csv", tmp_path, allowed)
    # to another loopback port (B serves the file: the old code loaded it)
    with pytest.raises(SourceError, match=rf"redirected to {b.base}/aid.csv\): 127\.0\.0\.1 is a "
                                          "loopback address; list it"):
        get(f"{a.base}/go?to={b.base}/aid.csv", tmp_path, allowed)
    assert b.seen == []
    # to the metadata address
    with pytest.raises(SourceError, match="the cloud metadata address"):
        get(f"{a.base}/go?to=http://169.254.169.254/latest/meta-data/", tmp_path, allowed)
    # a loop ends after 5 redirects
    with pytest.raises(SourceError, match="more than 5 redirects"):
        get(f"{a.base}/loop", tmp_path, allowed)
    assert len([p for p, _ in a.seen if p == "/loop"]) == 6
    # within what is allowed, a redirect is followed; the file is named by where it came from
    got = get(f"{a.base}/go?to=/data/aid.csv", tmp_path, allowed)
    assert (got.name, got.read_text()) == ("aid.csv", AID)


def test_the_checked_address_is_the_one_connected_to(a: Server, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is resolved once and the connection goes to that address, with the URL's host in
    the Host header (data.example resolves nowhere for real; a second look-up, which DNS
    rebinding could answer differently, never happens)."""
    answers = iter([["127.0.0.1"], ["10.0.0.7"]])
    monkeypatch.setattr(remote, "resolve", lambda host, port, timeout: next(answers))
    url = f"http://data.example:{a.port}/aid.csv"
    assert get(url, tmp_path, [f"data.example:{a.port}"]).read_text() == AID
    assert a.seen[-1][1]["Host"] == f"data.example:{a.port}"
    assert next(answers) == ["10.0.0.7"]  # the second answer was never asked for


def test_credentials_go_to_their_own_origin_only(a: Server, b: Server, tmp_path: Path) -> None:
    url = f"http://feed:s3cret@{a.hostport}/go?to={b.base}/aid.csv"
    assert get(url, tmp_path, [a.hostport, b.hostport]).read_text() == AID
    assert a.seen[0][1]["Authorization"] == "Basic ZmVlZDpzM2NyZXQ="  # feed:s3cret
    assert "Authorization" not in b.seen[0][1]


def test_an_unencoded_url_is_encoded_and_its_token_never_shown(a: Server, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="HTTP 404") as failed:
        get(f"{a.base}/é x.csv?token=tok123", tmp_path, [a.hostport])
    assert "tok123" not in str(failed.value) and "token=REDACTED" in str(failed.value)
    assert a.seen[0][0] == "/%C3%A9%20x.csv?token=tok123"


def test_redact_url() -> None:
    url = ("https://user:pa%40ss@host.example:8443/a/b.csv?f=csv&token=t1&Access_Token=t2&key=k"
           "&api_key=k2&APIKEY=k3&password=p&pass=p2&secret=s&sig=s2&signature=s3"
           "&X-Amz-Signature=s4&X-Amz-Credential=c&auth=a&session=s5&code=c2&page=2#id_token=t3")
    assert redact_url(url) == (
        "https://host.example:8443/a/b.csv?f=csv&token=REDACTED&Access_Token=REDACTED"
        "&key=REDACTED&api_key=REDACTED&APIKEY=REDACTED&password=REDACTED&pass=REDACTED"
        "&secret=REDACTED&sig=REDACTED&signature=REDACTED&X-Amz-Signature=REDACTED"
        "&X-Amz-Credential=REDACTED&auth=REDACTED&session=REDACTED&code=REDACTED&page=2"
        "#id_token=REDACTED")
    assert redact_url("http://h/x.csv?f=json") == "http://h/x.csv?f=json"


def test_bad_allow_entries_are_refused_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ('["*.example.org"]', '["10.0.0.0/33"]', '["host:99999"]', '["a b"]'):
        monkeypatch.setenv("TRUCE_ETL_URL_ALLOW", bad)
        with pytest.raises(ValueError, match="TRUCE_ETL_URL_ALLOW|CIDR|port|host"):
            EtlSettings()
    monkeypatch.setenv("TRUCE_ETL_URL_ALLOW", '["127.0.0.1:8080", "db.internal", "[::1]:81", '
                                              '"10.20.0.0/16"]')
    assert len(EtlSettings().url_allow) == 4


# -- through the command line -------------------------------------------------------------------

def truce(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TRUCE_DATABASE_URL": database_url, **env})


def test_cli_refusal_exits_2_with_one_json_object(database_url: str, sample_loaded: list,
                                                 a: Server) -> None:
    url = f"{a.base}/aid.csv"
    done = truce(database_url, "etl", "load", url, "--layer", "aid_deliveries", "--json")
    assert done.returncode == 2, done.stderr
    out = json.loads(done.stdout)
    assert (out["status"], out["run_id"]) == ("failed", None)
    assert out["error"] == (f"{url}: 127.0.0.1 is a loopback address; list it in "
                            "TRUCE_ETL_URL_ALLOW to load from it")
    assert "Traceback" not in done.stderr and a.seen == []


def test_cli_keeps_secrets_out_of_runs_and_messages(database_url: str, engine: Engine,
                                                    sample_loaded: list, a: Server) -> None:
    secrets = ("s3cret", "tok123", "sigXYZ")
    url = f"http://feed:s3cret@{a.hostport}/aid.csv?token=tok123&X-Amz-Signature=sigXYZ&f=csv"
    shown = f"{a.base}/aid.csv?token=REDACTED&X-Amz-Signature=REDACTED&f=csv"
    allow = {"TRUCE_ETL_URL_ALLOW": json.dumps([a.hostport])}
    done = truce(database_url, "etl", "load", url, "--layer", "aid_deliveries", "--source",
                 "etlt_url_secret", "--json", **allow)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["path"] == shown and not any(s in done.stdout + done.stderr for s in secrets)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT source_path, options::text FROM etl_runs "
                                   "WHERE id = :r"), {"r": out["run_id"]}).one()
    assert stored[0] == shown and shown in stored[1]
    assert not any(s in " ".join(stored) for s in secrets)
    # a failure shows the URL redacted too, with and without --json
    missing = url.replace("/aid.csv", "/missing.csv")
    for args in (["--json"], []):
        failed = truce(database_url, "etl", "load", missing, "--layer", "aid_deliveries", *args,
                       **allow)
        assert failed.returncode == 2 and "HTTP 404" in failed.stdout + failed.stderr
        assert not any(s in failed.stdout + failed.stderr for s in secrets)
        assert "token=REDACTED" in " ".join((failed.stdout + failed.stderr).split())
    refused = truce(database_url, "etl", "load", url, "--layer", "aid_deliveries", "--json")
    assert refused.returncode == 2 and "loopback" in refused.stdout
    assert not any(s in refused.stdout + refused.stderr for s in secrets)
