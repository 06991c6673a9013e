"""Backups and point-in-time restore of the project-local cluster, with PostgreSQL's own tools.

`backup` turns on continuous WAL archiving (`archive_command` copies every finished WAL segment
to `wal_archive/` next to the cluster's folder; the first time needs one restart of the cluster)
and takes a base backup with `pg_basebackup` (tar format, WAL included) into a folder of its own.
`restore` unpacks a base backup into a NEW cluster, replays the archived WAL up to the time asked
for (`recovery_target_time`), promotes it and leaves it running on its own port: the running
cluster is never touched. The restorable range of a backup runs from the end of the base backup
to the last transaction in the archive (read with `pg_waldump`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy.engine import make_url

from cli import pgcluster
from cli.pgcluster import Cluster, ProvisionError

META = "truce-backup.json"
REGISTRY = "clusters.json"  # port -> folder of the clusters `restore` started
_SEGMENT = re.compile(r"^[0-9A-F]{24}$")
_COMMIT = re.compile(r"desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC")


class RestoreRangeError(ProvisionError):
    """The time asked for is outside what a backup and the WAL archive can restore."""


@dataclass(frozen=True)
class Backup:
    path: Path
    meta: dict[str, Any]

    @property
    def ended_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["ended_at"])

    @property
    def archive(self) -> Path:
        return Path(self.meta["wal_archive"])


def archive_dir(cluster: Cluster) -> Path:
    """Where the WAL archive of a cluster lives: next to its folder, so the server user (which
    runs `archive_command`) can always write it."""
    return cluster.pgdata.parent / "wal_archive"


def _credentials(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    return parsed.username or pgcluster.DB_USER, unquote(parsed.password or "")


def _connect(url: str) -> Any:
    import psycopg2

    return psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"),
                            connect_timeout=5)


def _query(url: str, sql: str) -> tuple[Any, ...]:
    conn = _connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return tuple(cur.fetchone())
    finally:
        conn.close()


def _archive_command(archive: Path) -> str:
    if "'" in str(archive) or "%" in str(archive):
        raise ProvisionError(f"{archive}: a WAL archive path may not contain ' or %")
    # a copy under a temporary name, then a rename: a segment in the archive is always whole
    return f"test ! -f '{archive}/%f' && cp '%p' '{archive}/%f.tmp' && mv '{archive}/%f.tmp' '{archive}/%f'"


def ensure_archiving(cluster: Cluster, url: str) -> bool:
    """Turn WAL archiving on; return whether the cluster had to be restarted for it."""
    archive = archive_dir(cluster)
    archive.mkdir(mode=0o700, exist_ok=True)
    user = pgcluster.server_user()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(archive, entry.pw_uid, entry.pw_gid)
    command = _archive_command(archive)
    mode, current = _query(url, "SELECT current_setting('archive_mode'), "
                                "current_setting('archive_command')")
    if mode == "on" and current == command:
        return False
    # someone else's archiving: leave it be
    if current not in ("", "(disabled)") and "wal_archive/%f" not in current:
        raise ProvisionError(f"archive_command is already set ({current!r}) by someone else; "
                             "back up with the tools that archive uses, or clear it with "
                             "ALTER SYSTEM RESET archive_command")
    conn = _connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("ALTER SYSTEM SET archive_command = %s", (command,))
            # a segment is archived at least every 5 minutes while anything is written
            cur.execute("ALTER SYSTEM SET archive_timeout = '300s'")
            cur.execute("ALTER SYSTEM SET archive_mode = 'on'")
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    if mode == "on":
        return False
    pgcluster.restart(cluster)
    return True


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def backup(to: Path | None) -> tuple[Backup, bool]:
    """Take a base backup of the running local cluster into a new folder under `to` (default
    .data/backups); return it and whether archiving had to be turned on with a restart."""
    cluster = pgcluster.default_cluster()
    if not pgcluster.is_running(cluster):
        raise ProvisionError(f"the local cluster ({cluster.pgdata}) is not running: "
                             "start it with 'truce db up' (a remote database: see "
                             "docs/operations.md)")
    url = pgcluster.database_url(cluster)
    restarted = ensure_archiving(cluster, url)
    started_at, = _query(url, "SELECT now()")
    folder = (to or cluster.root / "backups").resolve()
    dest = folder / started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if dest.exists():
        raise ProvisionError(f"{dest} exists already; wait a second and try again")
    folder.mkdir(parents=True, exist_ok=True)
    user, password = _credentials(url)
    bindir = pgcluster.ensure_packages()
    done = subprocess.run(
        [str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", user,
         "-D", str(dest), "-F", "t", "-X", "stream", "-c", "fast", "-w", "-l", f"truce {dest.name}"],
        capture_output=True, text=True, env={**os.environ, "PGPASSWORD": password})
    if done.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise ProvisionError(f"pg_basebackup failed: {done.stderr.strip()[-400:]}")
    dest.chmod(0o700)  # the backup holds every row and the keys' hashes
    ended_at, system_id, timeline, version = _query(
        url, "SELECT now(), (SELECT system_identifier::text FROM pg_control_system()), "
             "(SELECT timeline_id FROM pg_control_checkpoint()), current_setting('server_version')")
    meta = {"format": 1, "started_at": started_at.astimezone(UTC).isoformat(),
            "ended_at": ended_at.astimezone(UTC).isoformat(), "system_identifier": system_id,
            "timeline": timeline, "server_version": version, "port": cluster.port,
            "wal_archive": str(archive_dir(cluster)), "source": str(cluster.pgdata)}
    (dest / META).write_text(json.dumps(meta, indent=2) + "\n")
    return Backup(dest, meta), restarted


def find_backups(folder: Path) -> list[Backup]:
    """The backups in `folder` (or `folder` itself when it is one), oldest first."""
    candidates = [folder] if (folder / META).exists() else sorted(folder.glob(f"*/{META}"))
    found = []
    for item in candidates:
        path = item if item.is_dir() else item.parent
        try:
            found.append(Backup(path, json.loads((path / META).read_text())))
        except (OSError, ValueError) as exc:
            raise ProvisionError(f"cannot read {path / META}: {exc}") from None
    return sorted(found, key=lambda b: b.ended_at)


def last_commit(archive: Path) -> datetime | None:
    """The time of the last transaction in the archive: what a restore can reach at most."""
    if not archive.is_dir():
        return None
    segments = sorted((p for p in archive.iterdir() if _SEGMENT.match(p.name)), reverse=True)
    bindir = pgcluster.ensure_packages()
    for segment in segments:
        done = subprocess.run([str(bindir / "pg_waldump"), str(segment)], capture_output=True,
                              text=True, env={**os.environ, "TZ": "UTC"})
        stamps = _COMMIT.findall(done.stdout)
        if stamps:
            return max(datetime.fromisoformat(s).replace(tzinfo=UTC) for s in stamps)
    return None


def restorable_range(item: Backup) -> tuple[datetime, datetime]:
    latest = last_commit(item.archive)
    return item.ended_at, max(item.ended_at, latest) if latest else item.ended_at


def describe(item: Backup) -> dict[str, Any]:
    start, end = restorable_range(item)
    return {"path": str(item.path), "size_bytes": _size(item.path),
            "started_at": item.meta["started_at"], "ended_at": item.meta["ended_at"],
            "restorable_from": start.isoformat(), "restorable_until": end.isoformat(),
            "wal_archive": str(item.archive),
            "wal_archive_bytes": _size(item.archive) if item.archive.is_dir() else 0}


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ProvisionError(f"--time {text!r} is not an ISO 8601 date-time, "
                             "e.g. 2026-12-07T16:55:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def choose(folder: Path, target: datetime | None) -> Backup:
    """The newest backup of `folder` that ended before `target` (the newest without one)."""
    backups = find_backups(folder)
    if not backups:
        raise ProvisionError(f"no backup in {folder} (a backup folder holds {META})")
    usable = [b for b in backups if target is None or b.ended_at <= target]
    item = usable[-1] if usable else backups[0]
    if target is not None:
        start, end = restorable_range(item)
        if not start <= target <= end:
            raise RestoreRangeError(
                f"{target.isoformat()} is outside what {item.path} can restore: from "
                f"{start.isoformat()} to {end.isoformat()}")
    return item


def _extract(item: Backup, pgdata: Path) -> None:
    for name, into in (("base.tar", pgdata), ("pg_wal.tar", pgdata / "pg_wal")):
        archive = item.path / name
        if not archive.exists():
            raise ProvisionError(f"{archive} is missing: not a whole backup")
        into.mkdir(mode=0o700, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="tar")


def _own(pgdata: Path, user: str | None) -> None:
    pgdata.chmod(0o700)
    if not user:
        return
    entry = pwd.getpwnam(user)
    for path in [pgdata, *pgdata.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _recovery_settings(cluster: Cluster, item: Backup, target: datetime | None) -> None:
    lines = [
        "\n# truce restore: a new cluster; it never archives into the source's WAL archive",
        "archive_mode = 'off'",
        f"unix_socket_directories = '{pgcluster._socket_dir(cluster)}'",
        f"restore_command = 'cp \"{item.archive}/%f\" \"%p\"'",
        "recovery_target_action = 'promote'",
    ]
    if target is not None:
        lines.append(f"recovery_target_time = '{target.isoformat()}'")
    with (cluster.pgdata / "postgresql.auto.conf").open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    (cluster.pgdata / "recovery.signal").touch()


def _in_production(pgdata: Path) -> bool:
    bindir = pgcluster.ensure_packages()
    done = subprocess.run([str(bindir / "pg_controldata"), str(pgdata)], capture_output=True,
                          text=True, env={**os.environ, "LC_ALL": "C"})
    return re.search(r"cluster state:\s+in production", done.stdout) is not None


def _wait_promoted(cluster: Cluster, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not _in_production(cluster.pgdata):
        if not pgcluster.is_running(cluster) or time.monotonic() > deadline:
            tail = cluster.logfile.read_text(errors="replace").strip().splitlines()[-3:]
            raise ProvisionError(f"the restored cluster did not finish recovery: {' | '.join(tail)}"
                                 f" (log: {cluster.logfile})")
        time.sleep(0.2)


def restore(source: Path, target: datetime | None, port: int, root: Path | None
            ) -> dict[str, Any]:
    """Restore a backup (to `target`, else to the end of the archive) into a new cluster on
    `port`, start it and return where it is."""
    item = choose(source, target)
    home = pgcluster.default_cluster()
    cluster = Cluster(root=(root or home.root / "restores" / f"port-{port}").resolve(), port=port)
    if pgcluster._port_in_use(port):
        raise ProvisionError(f"port {port} on 127.0.0.1 is in use; choose another --to-port")
    if (cluster.root / "pg").exists() or (cluster.root / "pg").is_symlink():
        raise ProvisionError(f"{cluster.root / 'pg'} exists; a restore never writes over a "
                             "cluster: remove it or choose another --data-dir")
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the answer (--json)
        user = pgcluster.place(cluster)
    cluster.pgdata.mkdir(mode=0o700, parents=True)
    _extract(item, cluster.pgdata)
    _recovery_settings(cluster, item, target)
    _own(cluster.pgdata, user)
    _register(home.root, port, cluster.root)  # `db down --port` finds it from now on
    pgcluster.start(cluster, pgcluster.ensure_packages(), user)
    _wait_promoted(cluster)
    if home.url_file.exists():  # the restored roles keep their passwords: the same URL works
        url = make_url(home.url_file.read_text().strip()).set(port=port)
        cluster.url_file.write_text(url.render_as_string(hide_password=False) + "\n")
        cluster.url_file.chmod(0o600)
    return {"port": port, "data_dir": str(cluster.pgdata), "root": str(cluster.root),
            "backup": str(item.path), "recovered_to": target.isoformat() if target else "end",
            "log": str(cluster.logfile)}


def _registry(home: Path) -> dict[str, str]:
    path = home / REGISTRY
    try:
        return dict(json.loads(path.read_text())) if path.exists() else {}
    except ValueError:
        return {}


def _register(home: Path, port: int, root: Path) -> None:
    known = _registry(home)
    known[str(port)] = str(root)
    home.mkdir(parents=True, exist_ok=True)
    (home / REGISTRY).write_text(json.dumps(known, indent=2) + "\n")


def cluster_on(port: int | None) -> Cluster:
    """The cluster the project started on `port`: the local one, or one `restore` started."""
    home = pgcluster.default_cluster()
    if port is None or port == home.port:
        return home
    root = _registry(home.root).get(str(port))
    if root is None:
        raise ProvisionError(f"no cluster of this project is known on port {port} "
                             f"(see {home.root / REGISTRY})")
    return Cluster(root=Path(root), port=port)
