"""Streaming hot standbys of the project-local cluster, with PostgreSQL's own replication.

`up` copies the running cluster with `pg_basebackup -R` (which writes `standby.signal` and the
`primary_conninfo` to follow it) into `.data/replicas/port-P/pg`, next to the primary's folder,
and starts it on its own port: a hot standby that answers reads and replays the primary's WAL as
it streams. `down` stops it (`truce db down --port P` does the same); `describe` gives each
replica's state and lag as the primary sees it (`pg_stat_replication`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from cli import backups, pgcluster
from cli.pgcluster import Cluster, ProvisionError


def _name(port: int) -> str:
    return f"truce_replica_{port}"


def replica_cluster(port: int) -> Cluster:
    home = pgcluster.default_cluster()
    return Cluster(root=home.root / "replicas" / f"port-{port}", port=port)


def is_replica(cluster: Cluster) -> bool:
    return (cluster.pgdata / "standby.signal").exists()


#: WAL a stopped replica's slot may hold on the primary; past it the slot is given up (and the
#: replica must be made again: `replica up --fresh`)
SLOT_WAL_KEEP = "2GB"


def _primary_sql(home: Cluster, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = backups._connect(pgcluster.database_url(home))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def _drop_slot(home: Cluster, port: int) -> None:
    _primary_sql(home, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                       "WHERE slot_name = %s AND NOT active", (_name(port),))


def _cap_slots(home: Cluster) -> None:
    """A slot keeps the WAL its replica has not received, so a stopped replica catches up when
    started again; capped, so a forgotten one cannot fill the primary's disk."""
    (current,), = _primary_sql(home, "SELECT current_setting('max_slot_wal_keep_size')")
    if current == "-1":
        _primary_sql(home, f"ALTER SYSTEM SET max_slot_wal_keep_size = '{SLOT_WAL_KEEP}'")
        _primary_sql(home, "SELECT pg_reload_conf()")


def remove(port: int) -> bool:
    """Stop the replica on `port`, drop its slot on the primary and delete its folder."""
    cluster = replica_cluster(port)
    if not (cluster.pgdata / "PG_VERSION").exists() and not cluster.root.exists():
        return False
    pgcluster.down(cluster)
    home = pgcluster.default_cluster()
    if pgcluster.is_running(home):
        _drop_slot(home, port)
    target = cluster.pgdata
    shutil.rmtree(cluster.root, ignore_errors=True)
    if target != cluster.root / "pg":  # a link to a folder the server user can reach
        shutil.rmtree(target, ignore_errors=True)
    return True


def up(port: int, *, fresh: bool = False) -> dict[str, Any]:
    """Make (or restart) the hot standby of the local cluster on `port`; return where it is.
    `fresh`: make it again from a new base backup (one that cannot catch up any more)."""
    home = pgcluster.default_cluster()
    if port == home.port:
        raise ProvisionError(f"port {port} is the primary's; choose another --port")
    if not pgcluster.is_running(home):
        raise ProvisionError(f"the local cluster ({home.pgdata}) is not running: start it with "
                             "'truce db up' (a remote primary: see docs/replicas.md)")
    cluster = replica_cluster(port)
    bindir = pgcluster.ensure_packages()
    if fresh:
        remove(port)
    if pgcluster.is_running(cluster):
        return {**_where(cluster), "created": False}
    if pgcluster._port_in_use(port):
        raise ProvisionError(f"port {port} on 127.0.0.1 is in use; choose another --port")
    created = False
    if not (cluster.pgdata / "PG_VERSION").exists():
        url = pgcluster.database_url(home)
        user, password = backups._credentials(url)
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the answer (--json)
            server_user = pgcluster.place(cluster)
        if cluster.pgdata.exists():
            shutil.rmtree(cluster.pgdata)
        cluster.pgdata.mkdir(mode=0o700, parents=True)
        _cap_slots(home)
        _drop_slot(home, port)  # a slot left by an earlier replica on this port
        done = subprocess.run(
            [str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(home.port), "-U", user,
             "-D", str(cluster.pgdata), "-X", "stream", "-c", "fast", "-R", "-w",
             "-C", "-S", _name(port), "-l", _name(port)],
            capture_output=True, text=True, env={**os.environ, "PGPASSWORD": password})
        if done.returncode != 0:
            shutil.rmtree(cluster.pgdata, ignore_errors=True)
            raise ProvisionError(f"pg_basebackup failed: {done.stderr.strip()[-400:]}")
        settings = [
            "\n# truce replica: a hot standby of the local cluster",
            f"cluster_name = '{_name(port)}'",  # its name in the primary's pg_stat_replication
            f"unix_socket_directories = '{pgcluster._socket_dir(cluster)}'",
            "archive_mode = 'off'",
            "hot_standby = on",
            "hot_standby_feedback = on",  # long reads are not cancelled by the primary's vacuum
            "shared_buffers = 128MB",
        ]
        with (cluster.pgdata / "postgresql.auto.conf").open("a") as handle:
            handle.write("\n".join(settings) + "\n")
        for stale in ("postmaster.pid", "postmaster.opts"):
            (cluster.pgdata / stale).unlink(missing_ok=True)
        backups._own(cluster.pgdata, server_user)
        created = True
        replica_url = make_url(url).set(port=port)
        cluster.url_file.write_text(replica_url.render_as_string(hide_password=False) + "\n")
        cluster.url_file.chmod(0o600)
    elif not is_replica(cluster):
        raise ProvisionError(f"{cluster.pgdata} is not a standby (no standby.signal); remove it "
                             "or choose another --port")
    backups._register(home.root, port, cluster.root)  # `db down --port P` finds it
    pgcluster.start(cluster, bindir, pgcluster.server_user())
    return {**_where(cluster), "created": created}


def _where(cluster: Cluster) -> dict[str, Any]:
    return {"port": cluster.port, "data_dir": str(cluster.pgdata), "log": str(cluster.logfile)}


def down(port: int) -> bool:
    return pgcluster.down(replica_cluster(port))


def known() -> list[Cluster]:
    """The replicas this project made, by port."""
    home = pgcluster.default_cluster()
    found = []
    for port, root in sorted(backups._registry(home.root).items()):
        cluster = Cluster(root=Path(root), port=int(port))
        if is_replica(cluster):
            found.append(cluster)
    return found


def _streaming(home: Cluster) -> dict[str, dict[str, Any]]:
    """What the primary knows of its standbys, by application name."""
    if not pgcluster.is_running(home):
        return {}
    try:
        conn = backups._connect(pgcluster.database_url(home))
    except Exception:  # the status of a primary that does not answer: no streaming figures
        return {}
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT application_name, state, "
                "       coalesce(extract(epoch FROM replay_lag), 0)::float8, "
                "       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
                "FROM pg_stat_replication")
            return {name: {"state": state, "lag_seconds": round(lag, 3), "lag_bytes": behind}
                    for name, state, lag, behind in cur.fetchall()}
    finally:
        conn.close()


def describe() -> list[dict[str, Any]]:
    """Each replica: port, data dir, running, and its lag as the primary reports it (seconds of
    replay behind, bytes of WAL not replayed; None when it is not streaming)."""
    home = pgcluster.default_cluster()
    streaming = _streaming(home)
    rows = []
    for cluster in known():
        seen = streaming.get(_name(cluster.port))
        rows.append({**_where(cluster), "running": pgcluster.is_running(cluster),
                     "state": seen["state"] if seen else "not streaming",
                     "lag_seconds": seen["lag_seconds"] if seen else None,
                     "lag_bytes": seen["lag_bytes"] if seen else None})
    return rows
