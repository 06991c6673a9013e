"""The real sample data shipped with the project (see each folder's SOURCE.md), and its load plan."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import RunSummary, run

HERE = Path(__file__).parent

# (layer, format, file, source): reference layers first, so look-ups can resolve.
PLAN: list[tuple[str, str, str, str]] = [
    *[("admin_areas", "shp", f"cod_ab/{name}.shp", "ocha_cod_ab_2016")
      for name in ("syr_admin0", "syr_admin1", "syr_admin2", "syr_admin3", "city_neighbourhoods")],
    ("settlements", "csv", "geonames/sy_cities500_geonames.csv", "geonames_cities500"),
    ("incidents", "ucdp", "ucdp/ged_syria_2016_H1.csv", "ucdp_ged"),
    ("incidents", "ucdp", "ucdp/ged_syria_2016_H2.csv", "ucdp_ged"),
    ("agreement_areas", "geojson", "illustrative/agreement_areas.geojson",
     "illustrative_agreement_areas"),
    ("aid_deliveries", "csv", "illustrative/aid_deliveries.csv", "illustrative_aid_deliveries"),
]


def is_loaded(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM etl_runs WHERE status = 'completed' "
            "AND source = 'illustrative_aid_deliveries')")).scalar())


def load_all(engine: Engine) -> list[RunSummary]:
    summaries = []
    for layer, fmt, relative, source in PLAN:
        path = HERE / relative
        summaries.append(run(find_job(layer, fmt, path), path, engine, source=source))
    return summaries
