"""A CLI load started in a subprocess and held in a lock wait, for the tests of interrupted
loads and of a rerun after one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

TRUCE = [sys.executable, "-m", "cli.main"]


BODY = ("source_id,occurred_at,event_type,lat,lon,fatalities\n"
        "S1,2020-04-01,battles,34.7,36.2,1\nS2,2020-04-02,shelling,34.8,36.3,0\n")


LOADERS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND application_name LIKE 'truce etl run %'")


def start_load(database_url: str, tmp_path: Path, source: str, **env: str
           ) -> subprocess.Popen[str]:
    path = tmp_path / "signal.csv"
    path.write_text(BODY)
    return subprocess.Popen(
        [*TRUCE, "etl", "load", str(path), "--layer", "incidents", "--source", source, "--json",
         "--no-alerts"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TRUCE_DATABASE_URL": database_url, **env})


def wait_for_lock_wait(engine: Engine, proc: subprocess.Popen[str]) -> int:
    """The run id of the loader once its statement waits for the test's lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            name = conn.execute(text(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name LIKE 'truce etl run %' AND wait_event_type = 'Lock'"
            )).scalar()
        if name:
            return int(name.rsplit(" ", 1)[1])
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the load never reached its upsert")


def no_loader_left(engine: Engine, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(LOADERS).scalar_one() == 0:
                return True
        time.sleep(0.1)
    return False
