"""A project-local PostgreSQL + PostGIS cluster under `.data/`, provisioned without Docker.

`truce db up` installs the Debian packages when they are missing (as root or with sudo), creates a
cluster with `initdb`, starts it on 127.0.0.1 at a configurable port, and creates the database with
the `postgis` extension. PostgreSQL refuses to run as root, so a root user runs the server as the
`postgres` system user that the Debian packages create.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

APT_PACKAGES = ["postgresql", "postgresql-15-postgis-3", "postgresql-15-postgis-3-scripts"]
DB_NAME = "truce"
DB_USER = "truce"


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Cluster:
    root: Path  # the project's data directory (.data)
    port: int

    @property
    def pgdata(self) -> Path:
        """The cluster's folder: `.data/pg`, or where that link points (see `_place`)."""
        return (self.root / "pg").resolve()

    @property
    def logfile(self) -> Path:
        return self.pgdata.parent / f"{self.pgdata.name}.log"

    @property
    def url_file(self) -> Path:
        return self.root / "database_url"


def default_cluster() -> Cluster:
    root = Path(os.environ.get("TRUCE_DATA_DIR", ".data")).resolve()
    port = int(os.environ.get("TRUCE_DB_PORT", "54329"))
    return Cluster(root=root, port=port)


def _bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def _postgis_available(bindir: Path) -> bool:
    version = bindir.parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists()


def ensure_packages() -> Path:
    """Return the PostgreSQL bin directory, installing the server and PostGIS if needed."""
    bindir = _bindir()
    if bindir is not None and _postgis_available(bindir):
        return bindir
    version = bindir.parent.name if bindir is not None else "15"
    packages = ["postgresql", f"postgresql-{version}-postgis-3"]
    command = ["apt-get", "install", "-y", "-q", *packages]
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        raise ProvisionError(
            "PostgreSQL with PostGIS is not installed and this user cannot install it. Run: "
            f"sudo apt-get update && sudo apt-get install -y {' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {' '.join(packages)} with apt-get ...", flush=True)
    subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, check=False, capture_output=True)
    done = subprocess.run([*prefix, *command], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ProvisionError(f"apt-get could not install {' '.join(packages)}: {done.stderr.strip()[-300:]}")
    bindir = _bindir()
    if bindir is None or not _postgis_available(bindir):
        raise ProvisionError("PostgreSQL/PostGIS still missing after apt-get install; check apt's output")
    return bindir


def _server_user() -> str | None:
    """The user the server runs as: None for the current user, or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ProvisionError("running as root but there is no 'postgres' system user; "
                             "install the postgresql package: apt-get install -y postgresql") from exc
    return "postgres"


def _as_server_user(args: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *args] if user else args


def _run(args: list[str], user: str | None, what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_as_server_user(args, user), capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ProvisionError(f"{what} failed: {detail[-1] if detail else 'no output'}")
    return done


def is_running(cluster: Cluster) -> bool:
    pid_file = cluster.pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _socket_dir(cluster: Cluster) -> str:
    # A Unix socket path is limited to 107 bytes; with a very deep checkout we listen on TCP only.
    return str(cluster.pgdata) if len(str(cluster.pgdata)) < 90 else ""


def _reachable(path: Path, user: str) -> bool:
    return subprocess.run(_as_server_user(["test", "-x", str(path)], user)).returncode == 0


def _place(cluster: Cluster, user: str | None) -> None:
    """Make `.data/pg` a folder the server user can reach.

    Run as root, the server runs as `postgres`, which cannot enter a checkout inside a private
    folder (a mktemp directory, /root). Then the cluster lives in /var/lib/truce/<hash of the
    checkout> and `.data/pg` is a link to it."""
    cluster.root.mkdir(parents=True, exist_ok=True)
    link = cluster.root / "pg"
    if link.exists() or link.is_symlink() or user is None or _reachable(cluster.root, user):
        return
    digest = hashlib.sha256(str(cluster.root).encode()).hexdigest()[:12]
    target = Path("/var/lib/truce") / digest / "pg"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.parent.chmod(0o755)
    Path("/var/lib/truce").chmod(0o755)
    entry = pwd.getpwnam(user)
    os.chown(target.parent, entry.pw_uid, entry.pw_gid)
    if target.exists():
        shutil.rmtree(target)
    link.symlink_to(target)
    print(f"(the '{user}' user cannot enter {cluster.root}; the cluster lives in {target})")


def _init(cluster: Cluster, bindir: Path, user: str | None) -> None:
    _place(cluster, user)
    password = secrets.token_urlsafe(24)
    cluster.pgdata.mkdir(mode=0o700, exist_ok=True)
    pwfile = cluster.pgdata.parent / f".{cluster.pgdata.name}.pwfile"
    pwfile.write_text(password + "\n")
    if user:
        entry = pwd.getpwnam(user)
        for path in (cluster.pgdata, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        check = subprocess.run(_as_server_user(["test", "-w", str(cluster.pgdata)], user))
        if check.returncode != 0:
            pwfile.unlink()
            raise ProvisionError(
                f"the '{user}' user cannot write {cluster.pgdata}: a parent folder is not "
                f"reachable for it. Set TRUCE_DATA_DIR to a folder it can reach (e.g. /var/tmp/truce)"
            )
    try:
        _run([str(bindir / "initdb"), "-D", str(cluster.pgdata), "-U", DB_USER, "-E", "UTF8",
              "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
              f"--pwfile={pwfile}"], user, "initdb")
    finally:
        pwfile.unlink(missing_ok=True)
    conf = cluster.pgdata / "postgresql.conf"
    with conf.open("a") as handle:
        handle.write(
            "\n# truce: project-local cluster\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{_socket_dir(cluster)}'\n"
            "shared_buffers = 512MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
            "synchronous_commit = off\nmax_wal_size = 2GB\n"
            "max_parallel_workers_per_gather = 2\njit = off\n"
        )
    url = f"postgresql+psycopg2://{DB_USER}:{quote(password)}@127.0.0.1:{cluster.port}/{DB_NAME}"
    cluster.url_file.write_text(url + "\n")
    cluster.url_file.chmod(0o600)


def _configured_port(cluster: Cluster) -> int | None:
    auto = cluster.pgdata / "postgresql.auto.conf"
    if not auto.exists():
        return None
    for line in auto.read_text().splitlines():
        if line.startswith("port = "):
            return int(line.split("=")[1].strip().strip("'"))
    return None


def database_url(cluster: Cluster, database: str = DB_NAME) -> str:
    if not cluster.url_file.exists():
        raise ProvisionError("no local database yet: run 'truce db up' (or set TRUCE_DATABASE_URL)")
    url = cluster.url_file.read_text().strip()
    head, _, _ = url.rpartition("/")
    head_host, _, _ = head.rpartition(":")
    return f"{head_host}:{cluster.port}/{database}"


def up(cluster: Cluster) -> str:
    """Make sure the cluster exists, runs and has the database; return its URL."""
    bindir = ensure_packages()
    user = _server_user()
    running = is_running(cluster)
    if not running and _port_in_use(cluster.port):
        raise ProvisionError(
            f"port {cluster.port} on 127.0.0.1 is in use by another program; "
            "choose another with TRUCE_DB_PORT=NNNNN"
        )
    if not (cluster.pgdata / "PG_VERSION").exists():
        if cluster.pgdata.exists() and any(cluster.pgdata.iterdir()):
            raise ProvisionError(f"{cluster.pgdata} exists but is not a cluster; move it away")
        print(f"Creating a PostgreSQL cluster in {cluster.pgdata} ...", flush=True)
        _init(cluster, bindir, user)
    if not running:
        start(cluster, bindir, user)
    url = database_url(cluster)
    _ensure_database(url)
    return url


def start(cluster: Cluster, bindir: Path, user: str | None) -> None:
    """Start an existing cluster's server on `cluster.port` (written to postgresql.auto.conf)."""
    if _configured_port(cluster) != cluster.port:
        auto = cluster.pgdata / "postgresql.auto.conf"
        lines = [ln for ln in auto.read_text().splitlines() if not ln.startswith("port = ")]
        auto.write_text("\n".join([*lines, f"port = {cluster.port}"]) + "\n")
    cluster.logfile.touch()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(cluster.logfile, entry.pw_uid, entry.pw_gid)
    _run([str(bindir / "pg_ctl"), "-D", str(cluster.pgdata), "-l", str(cluster.logfile),
          "-w", "-t", "60", "start"], user, f"starting PostgreSQL (see {cluster.logfile})")


def restart(cluster: Cluster) -> None:
    """Restart the running cluster (a setting such as archive_mode needs it): a fast shutdown
    rolls back open transactions and writes a checkpoint; nothing committed is lost."""
    bindir = ensure_packages()
    _run([str(bindir / "pg_ctl"), "-D", str(cluster.pgdata), "-l", str(cluster.logfile),
          "-m", "fast", "-w", "-t", "60", "restart"], _server_user(),
         f"restarting PostgreSQL (see {cluster.logfile})")


def place(cluster: Cluster) -> str | None:
    """Make the cluster's folder reachable for the server user (see `_place`); return that user
    (None: the current one)."""
    user = _server_user()
    _place(cluster, user)
    return user


def server_user() -> str | None:
    return _server_user()


def as_server_user(args: list[str]) -> list[str]:
    return _as_server_user(args, _server_user())


def _ensure_database(url: str) -> None:
    import psycopg2

    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    admin_dsn = dsn.rsplit("/", 1)[0] + "/postgres"
    for attempt in range(30):
        try:
            conn = psycopg2.connect(admin_dsn, connect_timeout=3)
            break
        except psycopg2.OperationalError:
            if attempt == 29:
                raise
            time.sleep(0.5)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{DB_NAME}"')  # constant identifier
    conn.close()
    ensure_postgis(url)


def ensure_postgis(url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()


def create_database(url: str, name: str, *, recreate: bool = False) -> str:
    """Create (or recreate) another database on the same server; used by the test suite."""
    import psycopg2

    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad database name {name!r}")
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    conn = psycopg2.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        if recreate:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # validated identifier
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')  # validated identifier
    conn.close()
    new_url = url.rsplit("/", 1)[0] + "/" + name
    ensure_postgis(new_url)
    return new_url


def drop_database(url: str, name: str) -> None:
    import psycopg2

    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad database name {name!r}")
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    conn = psycopg2.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # validated identifier
    conn.close()


def down(cluster: Cluster) -> bool:
    if not is_running(cluster):
        return False
    bindir = _bindir()
    if bindir is None:
        raise ProvisionError("PostgreSQL binaries not found")
    _run([str(bindir / "pg_ctl"), "-D", str(cluster.pgdata), "-m", "fast", "-w", "stop"],
         _server_user(), "stopping PostgreSQL")
    return True


def status(cluster: Cluster) -> dict[str, object]:
    return {
        "data_dir": str(cluster.pgdata),
        "initialised": (cluster.pgdata / "PG_VERSION").exists(),
        "running": is_running(cluster),
        "port": cluster.port,
        "log": str(cluster.logfile),
    }
