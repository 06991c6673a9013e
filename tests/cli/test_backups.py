"""Backup and point-in-time restore, end to end, in a throwaway cluster of this test's own (the
suite's shared cluster is never restarted): migrate, write, back up, write, note the time, write
again; a restore to that time holds exactly the rows written before it, and its audit chain
verifies."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli import pgcluster
from cli.main import app
from server.db.migrate import upgrade
from server.services import keys as key_service


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def _truce(args: list[str], root: Path, port: int) -> Done:
    """The command line, run in this process (no interpreter start-up per command)."""
    env = {"TRUCE_DATA_DIR": str(root), "TRUCE_DB_PORT": str(port), "TRUCE_DATABASE_URL": None}
    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def _remove(cluster: pgcluster.Cluster) -> None:
    if pgcluster.is_running(cluster):  # throwaway: no shutdown checkpoint needed
        pg_ctl = str(pgcluster.ensure_packages() / "pg_ctl")
        subprocess.run(pgcluster.as_server_user([pg_ctl, "-D", str(cluster.pgdata), "-m",
                                                 "immediate", "-w", "stop"]),
                       capture_output=True, check=False)
    folder = cluster.pgdata.parent  # /var/lib/truce/<hash> when the server runs as postgres
    if folder.is_relative_to("/var/lib/truce"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def own_cluster(tmp_path: Path) -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.Cluster(root=tmp_path / "data", port=_free_port())
    clusters = [cluster]
    try:
        pgcluster.up(cluster)
        yield cluster
    finally:
        registry = cluster.root / "clusters.json"
        if registry.exists():
            clusters += [pgcluster.Cluster(root=Path(r), port=int(p))
                         for p, r in json.loads(registry.read_text()).items()]
        for item in clusters:
            _remove(item)


def _add_keys(url: str, *labels: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        for label in labels:
            key_service.create("analyst", label=label, actor="tests:backup", session=session)
    engine.dispose()


def _labels(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        labels = {row[0] for row in conn.execute(text("SELECT label FROM api_keys"))}
    engine.dispose()
    return labels


def test_restore_to_a_time_holds_exactly_the_rows_before_it(own_cluster: pgcluster.Cluster
                                                            ) -> None:
    root, port = own_cluster.root, own_cluster.port
    url = pgcluster.database_url(own_cluster)
    upgrade(url)
    _add_keys(url, "before-backup")

    done = _truce(["db", "backup", "--json"], root, port)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["restarted"] is True and made["size_bytes"] > 0

    _add_keys(url, "after-backup")
    engine = create_engine(url)
    with engine.connect() as conn:
        moment = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    time.sleep(0.05)
    _add_keys(url, "after-the-moment")
    with engine.connect() as conn:  # close the segment and wait until it is archived
        segment = conn.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar_one()
        conn.commit()
        deadline = time.monotonic() + 30
        while conn.execute(text("SELECT last_archived_wal FROM pg_stat_archiver")
                           ).scalar_one() != segment:
            conn.commit()  # a transaction sees one snapshot of the statistics
            assert time.monotonic() < deadline, "the WAL segment was not archived"
            time.sleep(0.2)
    engine.dispose()

    listed = _truce(["db", "backups", "--json"], root, port)
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["restorable_from"] <= moment.isoformat() <= entry["restorable_until"]

    too_early = (moment - timedelta(days=1)).isoformat()
    refused = _truce(["db", "restore", "--from", made["path"], "--time", too_early,
                      "--to-port", str(_free_port())], root, port)
    assert refused.returncode == 2
    assert "outside" in refused.stderr and entry["restorable_from"][:19] in refused.stderr

    new_port = _free_port()
    restored = _truce(["db", "restore", "--from", str(root / "backups"), "--time",
                       moment.isoformat(), "--to-port", str(new_port), "--json"], root, port)
    assert restored.returncode == 0, restored.stderr
    info = json.loads(restored.stdout)
    assert info["port"] == new_port and Path(info["data_dir"]).is_dir()

    restored_url = pgcluster.database_url(pgcluster.Cluster(root=Path(info["root"]),
                                                            port=new_port))
    assert _labels(restored_url) == {"before-backup", "after-backup"}
    assert _labels(url) == {"before-backup", "after-backup", "after-the-moment"}

    verified = _truce(["audit", "verify", "--json"], Path(info["root"]), new_port)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True

    stopped = _truce(["db", "down", "--port", str(new_port)], root, port)
    assert stopped.returncode == 0 and "database stopped" in stopped.stdout
    assert pgcluster.is_running(own_cluster)  # the source cluster runs on

    last_port = _free_port()  # without --time: everything archived
    latest = _truce(["db", "restore", "--from", made["path"], "--to-port", str(last_port),
                     "--json"], root, port)
    assert latest.returncode == 0, latest.stderr
    latest_url = pgcluster.database_url(pgcluster.Cluster(root=Path(json.loads(latest.stdout)[
        "root"]), port=last_port))
    assert _labels(latest_url) == {"before-backup", "after-backup", "after-the-moment"}
