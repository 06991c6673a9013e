"""Characters that do not show (a BOM, zero-width ones, bidirectional controls) are removed
from ids and look-up names, on both load paths, and kept in free text: `Ho\\u200bms` geocodes
as Homs, `B\\ufeff1` is the id B1 (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import run
from etl.transforms import checks

HIDDEN = ["\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u200e", "\u200f", "\u202a",
          "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def _incidents(engine: Engine, source: str) -> dict[str, tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source_id, event_type, geo_precision, notes "
                                 "FROM incidents WHERE source = :s"), {"s": source}).all()
    return {str(r[0]): (str(r[1]), r[2], r[3]) for r in rows}


def test_every_hidden_character_is_removed_from_a_key() -> None:
    assert checks.key("".join(f"B{c}" for c in HIDDEN) + "1") == "B" * len(HIDDEN) + "1"
    assert checks.key(" \u200b B1 \u2069") == "B1"
    assert checks.key("\u200b") is None


@pytest.mark.parametrize("row_wise", [False, True])
def test_ids_and_place_names_lose_hidden_characters_notes_keep_them(
        engine: Engine, sample_loaded: list, tmp_path: Path, row_wise: bool) -> None:
    path = tmp_path / "hidden.csv"
    path.write_text(
        "source_id,occurred_at,event_type,fatalities,lat,lon,location_name,notes\n"
        "B\ufeff1,2016-06-01,shel\u200bling,1,34.73,36.71,,a\u200fb\n"
        "\u2066B2\u2069,2016-06-01,shelling,1,,,Ho\u200bms,plain\n"
        "B3\u200d,2016-06-01,shelling,1,,,\u202bHoms\u202c,plain\n", encoding="utf-8")
    source = f"etlt_hidden_{int(row_wise)}"
    summary = run(find_job("incidents", "csv", path), path, engine, source=source,
                  row_wise=row_wise)
    assert summary.method == ("rows" if row_wise else "copy")
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 3, 0), summary
    assert _incidents(engine, source) == {
        "B1": ("shelling", "exact", "a\u200fb"),
        "B2": ("shelling", "settlement", "plain"),
        "B3": ("shelling", "settlement", "plain")}


@pytest.mark.parametrize("row_wise", [False, True])
def test_hxl_ids_lose_hidden_characters(engine: Engine, sample_loaded: list, tmp_path: Path,
                                        row_wise: bool) -> None:
    path = tmp_path / "hidden_hxl.csv"
    path.write_text("id,date,type,lat,lon,place\n"
                    "#event+id,#date+occurred,#event+type,#geo+lat,#geo+lon,#loc+name\n"
                    "H\u200e1,2016-06-01,Shelling,,,Ho\u2060ms\n", encoding="utf-8")
    source = f"etlt_hidden_hxl_{int(row_wise)}"
    summary = run(find_job("incidents", "hxl", path), path, engine, source=source,
                  row_wise=row_wise)
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    assert list(_incidents(engine, source)) == ["H1"]


def test_pcodes_and_vocabulary_of_areas(engine: Engine, sample_loaded: list,
                                        tmp_path: Path) -> None:
    square = {"type": "Polygon", "coordinates": [[[36.6, 34.6], [36.8, 34.6], [36.8, 34.8],
                                                  [36.6, 34.8], [36.6, 34.6]]]}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square,
         "properties": {"source_id": "\ufeffZ1", "name": "zone", "kind": "zo\u200bne",
                        "status": "sig\u200dned", "admin_pcode": "SY\u200b04",
                        "notes": "x\u202ey"}}]}))
    summary = run(find_job("agreement_areas", "auto", path), path, engine,
                  source="etlt_hidden_areas")
    assert (summary.status, summary.loaded) == ("completed", 1), summary
    with engine.connect() as conn:
        row = conn.execute(text("SELECT source_id, kind, status, admin_pcode, notes "
                                "FROM agreement_areas WHERE source = 'etlt_hidden_areas'")).one()
    assert tuple(row) == ("Z1", "zone", "signed", "SY04", "x\u202ey")
