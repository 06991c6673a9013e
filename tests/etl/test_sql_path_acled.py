"""The set-based path for ACLED exports against the row-wise reference (etl.transforms.acled): the
same loaded rows, quarantine and counts on a file breaking every rule; files needing the gazetteer
are geocoded on it too; `--since` takes the row-wise path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from tests.etl.ucdp_rows import NOW, loaded_state

HEADER = ("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,"
          "sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,"
          "interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,"
          "latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,"
          "timestamp")


def _row(eid: str, date: str = "2016-03-01", lat: str = "35.3621", lon: str = "35.9276", *,
         geo: str = "1", tp: str = "1", disorder: str = "Political violence",
         event: str = "Explosions/Remote violence", sub: str = "Shelling", notes: str = "hit",
         source: str = "SOHR", deaths: str = "2", stamp: str = "1618317040",
         location: str = "Jablah") -> str:
    return (f"{eid},{date},2016,{tp},{disorder},{event},{sub},Military Forces,,1,Civilians,,7,17,"
            f",760,Middle East,Syria,Lattakia,Jablah,,{location},{lat},{lon},{geo},{source},"
            f"National,{notes},{deaths},,{stamp}")


ROWS = [
    _row("SYR1"),
    _row("SYR2", geo="2", tp="2", disorder="", sub="", notes="", source=""),
    _row("SYR3", geo="3", tp="3", disorder=" Demonstrations ", sub="", event=" Riots - mob "),
    _row("SYR4", geo="9", tp="", notes="", stamp="2021-04-13T10:00:00"),
    _row("", lat="35.36"),
    _row("SYR6", lat="", location=""),
    _row("SYR7", lat="abc"),
    _row("SYR8", lat="36.5", lon="36.5"),
    _row("SYR9", lat="35.9276", lon="35.3621"),  # swapped inside the AOI: repaired
    _row("SYR10", lat="48.85", lon="2.35"),
    _row("SYR11", date="2099-01-01"),
    _row("SYR12", date="31/02/2016"),
    _row("SYR13", date=""),
    _row("SYR14", deaths="-3"),
    _row("SYR15", deaths="many"),
    _row("SYR16", event=""),
    _row("SYR17", stamp="not a time"),
    _row("SYR18", stamp="99999999999999999999"),
    _row("SYR19", date="", deaths="-1", stamp="x"),
    _row("SYR20", lat='"35,36"', lon='"35,93"'),
    _row("SYR21"),
    _row("SYR21", lat="35.4"),  # duplicate id: the first wins
    "  SYR22 , 02 March 2016 ,2016, 1 ,,Battles,Armed clash,a,,1,b,,1,1,,760,ME,Syria,L,J,,"
    " Jablah ,  35.36 , 35.93 , 2 ,,N,,0,,",
    "," * 30,
]


def _both(engine: Engine, path: Path) -> None:
    job = find_job("incidents", "acled", path)
    ref = run(job, path, engine, source="etlt_acled_rows", now=NOW, row_wise=True)
    fast = run(job, path, engine, source="etlt_acled_copy", now=NOW)
    assert ref.status == fast.status == "completed", (ref.error, fast.error)
    assert (ref.method, fast.method) == ("rows", "copy")
    for name in ("read", "loaded", "updated", "unchanged", "quarantined", "repaired", "reasons"):
        assert getattr(fast, name) == getattr(ref, name), name
    assert loaded_state(engine, "etlt_acled_copy", fast.run_id) == loaded_state(
        engine, "etlt_acled_rows", ref.run_id)
    again = run(job, path, engine, source="etlt_acled_copy", now=NOW)
    assert (again.method, again.loaded, again.updated) == ("copy", 0, 0)


def test_acled_sql_path_matches_the_python_path(engine: Engine, sample_loaded: list,
                                                tmp_path: Path) -> None:
    path = tmp_path / "acled.csv"
    path.write_text("\n".join([HEADER, *ROWS, ""]))
    _both(engine, path)
    older = tmp_path / "acled_old.csv"  # older column names, upper case, semicolons
    header = (HEADER.upper().replace("GEO_PRECISION", "GEO_PRECIS")
              .replace("EVENT_ID_CNTY", "EVENT_ID_NO_CNTY"))
    older.write_text("\n".join([header.replace(",", ";"),
                                *[r.replace(",", ";") for r in ROWS[:4]], ""]))
    _both(engine, older)


def test_acled_rows_to_geocode_take_the_sql_path_and_since_goes_row_wise(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "acled_geocode.csv"
    path.write_text("\n".join([HEADER, _row("G1"), _row("G2", lat="", lon="", location="Lattakia"),
                               _row("G3", lat="", lon="", location="Suran"),
                               _row("G4", lat="", lon="", location="Nowhere Town"), ""]))
    _both(engine, path)
    with engine.connect() as conn:
        geo = conn.execute(text("SELECT geo_precision FROM incidents WHERE source = "
                                "'etlt_acled_copy' AND source_id = 'G2'")).scalar_one()
    assert geo == "settlement"
    plain = tmp_path / "acled_since.csv"
    plain.write_text("\n".join([HEADER, _row("S1"), ""]))
    since = run(find_job("incidents", "acled", plain), plain, engine, source="etlt_acled_since",
                now=NOW, options={"since": datetime(2000, 1, 1, tzinfo=UTC)})
    assert (since.status, since.method, since.loaded) == ("completed", "rows", 1)
