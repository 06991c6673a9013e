"""The command line: clear one-line errors for the bad set-ups the README promises to handle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from cli import pgcluster

TRUCE = [sys.executable, "-m", "cli.main"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUCE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_help_explains_each_command() -> None:
    done = _run(["--help"])
    assert done.returncode == 0
    for command in ("db", "migrate", "etl", "serve"):
        assert command in done.stdout


def test_wrong_database_url_is_one_clear_line() -> None:
    done = _run(["migrate"], TRUCE_DATABASE_URL="postgresql://nobody:x@127.0.0.1:1/none")
    assert done.returncode == 2
    assert "cannot connect to postgresql" in done.stderr
    assert "TRUCE_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr and "x@" not in done.stderr


def test_not_a_postgres_url_is_refused() -> None:
    done = _run(["migrate"], TRUCE_DATABASE_URL="mysql://a@b/c")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = _run(["db", "up"], TRUCE_DATA_DIR=str(tmp_path / "data"), TRUCE_DB_PORT=str(port))
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and "TRUCE_DB_PORT" in done.stderr


def test_status_of_the_running_cluster(database_url: str) -> None:
    status = pgcluster.status(pgcluster.default_cluster())
    if "TRUCE_TEST_DATABASE_URL" not in os.environ:
        assert status["running"] is True and status["initialised"] is True


def test_serve_applies_the_timeouts_and_cors_settings(database_url: str) -> None:
    """`truce serve` with TRUCE_API_* settings: slow headers cut off, CORS for the listed origin."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [*TRUCE, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "TRUCE_DATABASE_URL": database_url,
             "TRUCE_API_HEADER_TIMEOUT_SECONDS": "1",
             "TRUCE_API_CORS_ORIGINS": "https://maps.example.org"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "truce serve did not start"
                time.sleep(0.2)
        with sock:
            sock.sendall(b"GET /conformance HTTP/1.1\r\n")  # and nothing more
            start = time.monotonic()
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert time.monotonic() - start < 5
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"OPTIONS /collections HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                         b"Origin: https://maps.example.org\r\n"
                         b"Access-Control-Request-Method: GET\r\n\r\n")
            answer = sock.recv(4096).lower()
        assert answer.startswith(b"http/1.1 204")
        assert b"access-control-allow-origin: https://maps.example.org" in answer
        assert b"content-security-policy:" in answer
    finally:
        server.terminate()
        server.wait(timeout=20)
