"""The set-based path for HXL-tagged incident CSV, HXL 3W aid deliveries and generic CSV with a
column mapping, against the row-wise reference (etl.transforms.hxl / generic): the same loaded
rows, quarantine (line, reasons, raw row, details with a place's candidates) and counts, on files
breaking every rule, with rows geocoded from the gazetteer; idempotent reruns, dry runs and a
failing run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from etl import runner
from etl.jobs import find_job
from etl.runner import run
from tests.etl.ucdp_rows import NOW, loaded_state

# A title row between the human header and the tag row; two columns tagged #org (the last wins);
# a column without a tag; attributes in another order and with spaces.
HXL_HEADER = ("Event ID,Type,Sub type,Date,Reported,Lat,Lon,Place,District,Governorate,Killed,"
              "Perpetrator,Perpetrator 2,Target,Description,Internal")
HXL_TITLE = "Incidents reported by partners (made up),,,,,,,,,,,,,,,"
HXL_TAGS = ("#event+id,#event+type,#event +sub,#date+occurred,#date+reported,#geo+lat,#geo+lon,"
            "#loc+name,#adm2+name,#adm1+name,#affected+killed,#org,#org,#group+targeted,"
            "#description,")
HXL_ROWS = [
    "H1,Shelling,mortar,2016-04-01,2016-04-02,35.36,35.93,Jablah,Jablah,Lattakia,3,A,B,C,fine,x",
    "H2,Airstrike,,2016-04-02,,,,Latakia,,Lattakia,0,,,,geocoded by name,",
    "H3,Airstrike,,2016-04-02,,,,Al-Ladhiqiyah,,,1,,,,geocoded by another spelling,",
    "H4,Clash,,2016-04-03,,,,Suran,,,0,,,,ambiguous without its area,",
    "H5,Clash,,2016-04-03,,,,Suran,,Hama,0,,,,the area narrows it,",
    "H6,Clash,,2016-04-03,,,,Nowhere Town,,,0,,,,unknown place,",
    "H7,Clash,,2016-04-03,,,,,,,0,,,,no coordinates and no place,",
    "H8,Clash,,2016-04-03,,35.3,,Jablah,,,0,,,,one coordinate: not geocoded,",
    "H9,Clash,,2016-04-03,,36.5,36.5,,,,0,,,,lon equals lat,",
    "H10,Clash,,2016-04-03,,95,200,,,,0,,,,out of range,",
    "H11,Clash,,2016-04-03,,35.93,35.36,,,,0,,,,swapped: repaired,",
    "H12,Clash,,2016-04-03,,48.85,2.35,,,,0,,,,outside the area,",
    "H13,Clash,,2016-04-03,,abc,35.9,,,,0,,,,unparseable,",
    'H14,Clash,,2016-04-03,,"35,36","35,93",,,,0,,,,comma decimals,',
    "H15,Clash,,2099-04-03,2099-01-01,35.36,35.93,,,,0,,,,future,",
    "H16,Clash,,2016-02-30,not a date,35.36,35.93,,,,0,,,,no such day,",
    "H17,Clash,,,,35.36,35.93,,,,0,,,,missing date,",
    "H18,Clash,,2016-04-03,,35.36,35.93,,,,-2,,,,negative,",
    "H19,Clash,,2016-04-03,,35.36,35.93,,,,many,,,,not a number,",
    "H20,,,2016-04-03,,35.36,35.93,,,,1,,,,no event type,",
    ",,,2099-01-01,,,,Nowhere Town,,,-1,,,,every rule at once (and no id),",
    ",Shelling,,03/04/2016,,35.37,35.94,Jablah,,,2,,,,no id: hashed,",
    ",Shelling,,03/04/2016,,35.37,35.94,Jablah,,,2,,,,the same row again: a duplicate,",
    "H21,Riots - mob/Protest,,3 April 2016,2016-04-04T10:00:00Z,35.36,35.93,,,,1.7,,,,slug,",
    "H21,Clash,,2016-04-04,,35.37,35.94,,,,0,,,,duplicate id: the first wins,",
    "H22,Clash,,2016-04-04,,95,200,,,,0,,,,rejected first,",
    "H22,Clash,,2016-04-04,,35.37,35.94,,,,0,,,,then accepted,",
    ",,,,,,,,,,,,,,,",
    '  H23 , Shelling ,, 2016-04-05 ,,  35.36 , 35.93 , Jablah ,,, 4 ,,,,"two\nlines",',
    "H24,Shelling,,2016-04-05,,\u00a035.36\u00a0,35.93,\u00a0Jablah,,,\u20035\u2003,,,,nbsp,",
    "H25,Shelling,,2016-04-05,,,,\u00a0,,,1,,,,a place of spaces only,",
]


def _write(path: Path, lines: list[str], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    body = "\n".join(lines + [""])
    if delimiter != ",":
        body = body.replace(",", delimiter)
    path.write_bytes(body.encode(encoding, "replace"))
    return path


def _counts(summary: Any) -> dict[str, Any]:
    names = ("read", "loaded", "updated", "unchanged", "quarantined", "repaired", "reasons")
    return {name: getattr(summary, name) for name in names}


def _both(engine: Engine, path: Path, *, layer: str = "incidents", fmt: str = "hxl",
          mapping: dict[str, str] | None = None) -> Any:
    """Row-wise and set-based loads of `path` give the same; then a rerun and dry runs."""
    job = find_job(layer, fmt, path)
    before = _written(engine)
    dry_ref = run(job, path, engine, source="etlt_hxl_rows", now=NOW, row_wise=True,
                  dry_run=True, mapping=mapping)
    dry = run(job, path, engine, source="etlt_hxl_copy", now=NOW, dry_run=True, mapping=mapping)
    assert (dry_ref.method, dry.method) == ("rows", "copy")
    assert _counts(dry) == _counts(dry_ref)
    assert _written(engine) == before  # a dry run writes nothing
    ref = run(job, path, engine, source="etlt_hxl_rows", now=NOW, row_wise=True, mapping=mapping)
    fast = run(job, path, engine, source="etlt_hxl_copy", now=NOW, mapping=mapping)
    assert ref.status == fast.status == "completed", (ref.error, fast.error)
    assert (ref.method, fast.method) == ("rows", "copy")
    assert _counts(fast) == _counts(ref)
    assert _table_state(engine, layer, "etlt_hxl_copy", fast.run_id) == _table_state(
        engine, layer, "etlt_hxl_rows", ref.run_id)
    again = run(job, path, engine, source="etlt_hxl_copy", now=NOW, mapping=mapping)
    assert (again.method, again.loaded, again.updated) == ("copy", 0, 0)
    assert again.unchanged == fast.loaded + fast.updated + fast.unchanged
    return fast


def _written(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM aid_deliveries), "
            "(SELECT count(*) FROM quarantine), (SELECT max(id) FROM etl_runs)")).one())


AID_COLS = ("source_id, delivered_at, method, cargo_type, quantity, unit, organisation, "
            "location_name, notes, settlement_id, agreement_area_id, ST_AsEWKT(geom) AS geom")


def _table_state(engine: Engine, layer: str, source: str, run_id: int | None
                 ) -> tuple[list[Any], list[Any]]:
    if layer == "incidents":
        return loaded_state(engine, source, run_id)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {AID_COLS} FROM aid_deliveries "  # noqa: S608
                                 "WHERE source = :s ORDER BY id"), {"s": source}).all()
        quarantined = conn.execute(text(
            "SELECT record_number, source_id, reasons, raw, detail FROM quarantine "
            "WHERE etl_run_id = :r ORDER BY record_number"), {"r": run_id}).all()
    return [tuple(r) for r in rows], [tuple(q) for q in quarantined]


def test_hxl_incidents_sql_path_matches_the_python_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    fast = _both(engine, _write(tmp_path / "hxl.csv", [HXL_HEADER, HXL_TITLE, HXL_TAGS,
                                                      *HXL_ROWS]))
    assert fast.reasons["ambiguous_place_name"] == 1 and fast.reasons["unknown_place_name"] == 2
    with engine.connect() as conn:
        geocoded = conn.execute(text(
            "SELECT source_id, geo_precision FROM incidents WHERE source = 'etlt_hxl_copy' "
            "AND source_id IN ('H2', 'H3', 'H5', 'H1') ORDER BY source_id")).all()
        detail = conn.execute(text(
            "SELECT detail FROM quarantine WHERE etl_run_id = :r AND source_id = 'H4'"),
            {"r": fast.run_id}).scalar_one()
    assert [tuple(g) for g in geocoded] == [("H1", "exact"), ("H2", "settlement"),
                                            ("H3", "settlement"), ("H5", "settlement")]
    assert detail["place"] == "Suran" and len(detail["candidates"]) == 2


def test_hxl_layouts_sql_path_matches_the_python_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    # the tag row as the file's first line; Latin-1 with semicolons; a BOM and CRLF line ends
    tags_first = [HXL_TAGS.replace(",#description,", ",#description,#meta"), *HXL_ROWS[:8]]
    _both(engine, _write(tmp_path / "tags_first.csv", tags_first))
    latin = [HXL_HEADER, HXL_TAGS, *[r.replace("Jablah", "Jabl\u00e9h") for r in HXL_ROWS[:6]],
             HXL_ROWS[-2]]
    _both(engine, _write(tmp_path / "latin1.csv", latin, encoding="latin-1", delimiter=";"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HXL_HEADER, HXL_TAGS, *HXL_ROWS[:5],
                                                    ""]).encode())
    _both(engine, bom)


def test_hxl_files_copy_cannot_read_like_csv_reader_take_the_row_wise_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = _write(tmp_path / "short.csv", [HXL_HEADER, HXL_TAGS, HXL_ROWS[0], "H30,Clash,short"])
    summary = run(find_job("incidents", "hxl", path), path, engine, source="etlt_hxl_short",
                  now=NOW)
    assert (summary.status, summary.method) == ("completed", "rows")
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 1, 1)
    assert summary.reasons["wrong_column_count"] == 1
    no_tags = _write(tmp_path / "no_tags.csv", [HXL_HEADER, HXL_ROWS[0]])
    summary = run(find_job("incidents", "hxl", no_tags), no_tags, engine,
                  source="etlt_hxl_none", now=NOW)
    assert (summary.status, summary.method) == ("failed", "rows")
    assert "no HXL hashtag row" in (summary.error or "")


def test_a_failing_set_based_run_leaves_nothing(
        engine: Engine, sample_loaded: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "hxl.csv", [HXL_HEADER, HXL_TAGS, *HXL_ROWS])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated database failure after the upsert")

    monkeypatch.setattr(runner.postgis, "resolve_quarantine", broken)
    summary = run(find_job("incidents", "hxl", path), path, engine, source="etlt_hxl_fail",
                  now=NOW)
    assert (summary.status, summary.method, summary.loaded) == ("failed", "copy", 0)
    assert "simulated database failure" in (summary.error or "")
    assert loaded_state(engine, "etlt_hxl_fail", summary.run_id) == ([], [])
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM etl_runs WHERE id = :r"),
                              {"r": summary.run_id}).scalar_one()
    assert status == "failed"


GENERIC_HEADER = "Ref;When;What;Y;X;Dead;Where;Area;Notes;actor1;DATE"
GENERIC_ROWS = [
    "F1;2016-06-01;Shelling;34.73;36.71;1;Homs;;fine;A;",
    "F2;2016-06-02;Clash;;;0;Latakia;Lattakia;geocoded;;",
    "F3;2016-06-02;Clash;;;0;Suran;;ambiguous;;",
    "F4;2016-06-02;Clash;;;0;Suran;Hama;narrowed by the area;;",
    "F5;2016-06-02;Clash;;;0;Atlantis;;unknown;;",
    ";2016-06-02;Clash;34.73;36.71;0;;;no id;;",
    "F7;;Clash;34.73;36.71;0;;;no date but a DATE column;;2016-06-03",
    "F8;2016-06-02;;34.73;36.71;0;;;no type;;",
    "F9;2016-06-02;Clash;36.71;34.73;-1;;;swapped and negative;;",
    "F10;31/06/2016;Clash;x;36.71;x;;;everything wrong;;",
    "F11;2099-01-01;Air/Drone-strike;34.73;36.71;2;;;future;;",
    "F1;2016-06-01;Shelling;34.74;36.72;1;Homs;;duplicate;;",
    ";;;;;;;;;;",
    "F12; 2016-06-03 ; Clash ; 34.73 ; 36.71 ;\u00a01\u00a0;;;padded;;",
]
MAPPING = {"source_id": "Ref", "occurred_at": "When", "event_type": "What", "lat": "Y",
           "lon": "X", "fatalities": "Dead", "location_name": "Where", "admin": "Area",
           "missing": "No such column"}


def test_generic_csv_with_a_mapping_sql_path_matches_the_python_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = _write(tmp_path / "field.csv", [GENERIC_HEADER, *GENERIC_ROWS])
    fast = _both(engine, path, fmt="csv", mapping=MAPPING)
    assert fast.reasons["ambiguous_place_name"] == 1 and fast.loaded == 5
    # no mapping: the default column names (any case)
    plain = _write(tmp_path / "plain.csv", [
        "ID,Date,Event_Type,Latitude,Longitude,Killed,Location,Admin1,notes",
        "P1,2016-06-01,Shelling,34.73,36.71,1,Homs,,a", "P2,2016-06-01,Shelling,,,1,Jablah,,b",
        "P3,,Shelling,34.73,36.71,-1,,,c"])
    _both(engine, plain, fmt="csv")


def test_hxl_with_a_mapping_sql_path_matches_the_python_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = _write(tmp_path / "hxl.csv", [HXL_HEADER, HXL_TAGS, *HXL_ROWS[:6]])
    _both(engine, path, mapping={"#event+type": "#event+sub", "#meta": "#description"})


AID_HEADER = ("Activity,Organisation,Implementer,Sector,Modality,Location,Governorate,Lat,Lon,Date,"
              "Reached,Description")
AID_TAGS = ("#activity+id,#org,#org+impl,#sector,#delivery+method,#loc+name,#adm1+name,#geo+lat,"
            "#geo+lon,#date+delivered,#reached,#activity+description")
AID_ROWS = [
    "A1,WFP,SARC,Food,Convoy,Jablah,Lattakia,35.36,35.93,2016-05-01,1200,flour",
    "A2,WHO,,Health,,Latakia,Lattakia,,,2016-05-02,300,geocoded; handover by default",
    "A3,UNICEF,,WASH,air drop,Jablah,,35.36,35.93,2016-05-03,-4,negative",
    "A4,UNICEF,,wash,by donkey,Jablah,,35.36,35.93,2016-05-03,4,unknown method",
    "A5,UNHCR,,Shelter,Hand-over,Suran,,,,2016-05-04,10,ambiguous place",
    "A6,UNHCR,,Core Relief Items,AIRDROP,,,35.93,35.36,2016-05-04,,swapped; no count",
    "A7,WFP,,Education,convoy,,,35.36,35.93,2099-05-04,1,future; unknown sector is mixed",
    ",WFP,,Food,convoy,Jablah,,35.36,35.93,2016-05-05,7,no id: hashed",
    ",WFP,,Food,convoy,Jablah,,35.36,35.93,2016-05-05,7,no id: hashed (the same row)",
    "A1,WFP,,Food,convoy,Jablah,,35.37,35.94,2016-05-06,8,duplicate id",
    ",,,,,,,,,,,",
    "A8, WFP ,, FSL ,\u00a0convoy\u00a0, Homs ,,,, 06/05/2016 , 9 ,padded",
]


def test_hxl_aid_deliveries_sql_path_matches_the_python_path(
        engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = _write(tmp_path / "3w.csv", [AID_HEADER, AID_TAGS, *AID_ROWS])
    fast = _both(engine, path, layer="aid_deliveries")
    assert (fast.read, fast.loaded, fast.repaired) == (11, 5, 3)
