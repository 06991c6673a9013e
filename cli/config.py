"""Where the CLI finds the database, the viewer and the sample rasters."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cli import pgcluster
from server.settings import ApiSettings, DatabaseSettings, RasterSettings, Settings


class ConfigError(RuntimeError):
    """A configuration problem, said in one line with what to do."""


LOG_LEVEL = "TRUCE_LOG_LEVEL"


def configure_logging() -> None:
    """The log on stderr at TRUCE_LOG_LEVEL, by default WARNING (what Python printed without a
    handler) but ERROR for the loader (`truce.etl`): a run's outcome is its summary (its reason
    also in etl_runs), while the loader's warnings quote what the database or GDAL said
    verbatim (SQL, CONTEXT, class names), for an operator who asks for them with
    TRUCE_LOG_LEVEL=WARNING or DEBUG."""
    asked = os.environ.get(LOG_LEVEL, "").strip().upper()
    valid = isinstance(logging.getLevelName(asked), int)
    logging.basicConfig(level=asked if valid else "WARNING",
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("truce.etl").setLevel(asked if valid else "ERROR")
    if asked and not valid:  # said on stderr; stdout stays the command's output
        logging.getLogger("truce").error("%s=%r is not a log level (DEBUG, INFO, WARNING, "
                                         "ERROR); the default is used", LOG_LEVEL, asked)


def database_url() -> str:
    url = os.environ.get("TRUCE_DATABASE_URL")
    if url:
        return DatabaseSettings(url=url).url
    try:
        return pgcluster.database_url(pgcluster.default_cluster())
    except pgcluster.ProvisionError as exc:
        raise ConfigError(str(exc)) from exc


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def engine() -> Engine:
    url = database_url()
    eng = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(
            f"cannot connect to {safe_url(url)}: {reason}. Check TRUCE_DATABASE_URL, "
            "or run 'truce db up' for the local database") from None
    return eng


def web_dir() -> str:
    import web

    return str(Path(web.__file__).parent / "static")


def sample_rasters() -> dict[str, str]:
    import etl.sample

    relief = Path(etl.sample.__file__).parent / "relief" / "syria_shaded_relief.tif"
    return {"shaded_relief": str(relief)} if relief.exists() else {}


def app_settings(host: str | None = None, port: int | None = None) -> Settings:
    api = ApiSettings(web_dir=web_dir())
    if host:
        api.host = host
    if port:
        api.port = port
    rasters = RasterSettings()
    rasters.sources = {**sample_rasters(), **rasters.sources}
    return Settings(database=DatabaseSettings(url=database_url()), api=api, raster=rasters)
