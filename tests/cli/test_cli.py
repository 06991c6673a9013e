"""The command line: clear one-line errors for the bad set-ups the README promises to handle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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
