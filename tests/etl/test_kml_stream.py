"""KML and KMZ are read as a stream (etl/sources/kml.py), not through GDAL's KML drivers, which hold
the whole document: the same layers and records as GDAL's LIBKML driver gives, KMZ, bad files
refused cleanly, bad geometries quarantined with their reason, and memory that does not grow with
the file (a real 200,000-placemark file read in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from etl.jobs import detect_format, find_job
from etl.runner import run
from etl.sources import kml, vector

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
MAPPING = {"source_id": "uid", "occurred_at": "day", "event_type": "kind"}


def _placemark(uid: str, geometry: str = "<Point><coordinates>36.71,34.73</coordinates></Point>",
               day: str = "2016-06-03") -> str:
    return (f"<Placemark><name>{uid}</name><ExtendedData><Data name=\"uid\"><value>{uid}</value>"
            f"</Data><Data name=\"day\"><value>{day}</value></Data><Data name=\"kind\"><value>"
            f"Shelling</value></Data></ExtendedData>{geometry}</Placemark>\n")


SAMPLE = HEAD + """<Document><name>field</name>
<Schema name="counts" id="counts"><SimpleField name="pop" type="int"/>
<SimpleField name="ratio" type="double"/><SimpleField name="label" type="string"/></Schema>
<Style id="red"><LineStyle><color>ff0000ff</color></LineStyle></Style>
<Placemark id="p1"><name>top</name><description>one &amp; two</description>
<TimeStamp><when>2016-06-03</when></TimeStamp>
<ExtendedData><Data name="day"><value>2016-06-03</value></Data></ExtendedData>
<Point><coordinates>36.7,34.7,0</coordinates></Point></Placemark>
<Folder><name>North</name>
 <Placemark><name>poly</name><ExtendedData><SchemaData schemaUrl="#counts">
 <SimpleData name="pop">12</SimpleData><SimpleData name="ratio">0.5</SimpleData>
 <SimpleData name="label">x</SimpleData></SchemaData></ExtendedData>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>36.7,34.7 36.8,34.7 36.8,34.8 36.7,34.7
 </coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>
 36.72,34.72 36.73,34.72 36.73,34.73 36.72,34.72</coordinates></LinearRing></innerBoundaryIs>
 </Polygon></Placemark>
 <Folder><name>Inner</name>
  <Placemark><name>multi</name><MultiGeometry><Point><coordinates>36.7,34.7</coordinates></Point>
  <Point><coordinates>36.8,34.8</coordinates></Point></MultiGeometry></Placemark>
  <Placemark><name>mixed</name><MultiGeometry><Point><coordinates>36.7,34.7</coordinates></Point>
  <LineString><coordinates>36.7,34.7 36.8,34.8</coordinates></LineString></MultiGeometry></Placemark>
 </Folder>
 <Placemark><name>line</name><LineString><coordinates>
   36.7,34.7,10
   36.8,34.8,10
 </coordinates></LineString></Placemark>
</Folder>
<Folder><name>South</name><Placemark><name>s1</name><Point><coordinates>36.9,34.9</coordinates>
</Point></Placemark></Folder>
<Folder><Placemark><name>u1</name><Point><coordinates>36.9,34.9</coordinates></Point></Placemark>
</Folder>
<Folder><name>South</name><Placemark><name>s2</name><Point><coordinates>36.9,34.9</coordinates>
</Point></Placemark></Folder>
<Folder><name>Empty</name></Folder>
</Document></kml>
"""


def _gdal(path: Path) -> dict[str, list[tuple[str, str]]]:
    """{layer: [(Name, geometry WKT)]} as GDAL's LIBKML driver reads the file."""
    out = {}
    for layer in pyogrio.list_layers(path)[:, 0]:
        meta, _, geometries, fields = pyogrio.raw.read(path, layer=layer)
        names = fields[list(meta["fields"]).index("Name")]
        out[str(layer)] = [(str(n), shapely.from_wkb(g).wkt) for n, g in zip(names, geometries,
                                                                              strict=True)]
    return out


def test_layers_and_records_are_the_ones_gdal_reads(tmp_path: Path) -> None:
    path = tmp_path / "field.kml"
    path.write_text(SAMPLE)
    gdal = _gdal(path)
    assert vector.source_layers(path) == list(gdal) == [
        "field", "North", "Inner", "South", "Layer3", "South (#2)", "Empty"]
    for layer, expected in gdal.items():
        got = [(r.fields["Name"], shapely.from_wkb(r.geometry_wkb).wkt)
               for r in vector.read_vector(path, layer=layer)]
        assert got == expected, layer
    records = list(vector.read_vector(path))  # every layer, in the file's order
    assert [r.fields["Name"] for r in records] == [
        "top", "poly", "multi", "mixed", "line", "s1", "u1", "s2"]
    assert [r.number for r in records] == list(range(1, 9))
    assert {r.srid for r in records} == {4326}
    assert records[0].fields == {"Name": "top", "description": "one & two", "id": "p1",
                                 "timestamp": "2016-06-03", "day": "2016-06-03"}
    assert {k: records[1].fields[k] for k in ("pop", "ratio", "label")} == {
        "pop": 12, "ratio": 0.5, "label": "x"}  # typed by the Schema


def test_kmz_is_read_and_detected(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "field.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("files/icon.png", b"\x89PNG")
        archive.writestr("doc.kml", HEAD + "<Document><Folder><name>a</name>"
                         + _placemark("Z1") + "</Folder><Folder><name>b</name>"
                         + _placemark("Z2") + "</Folder></Document></kml>")
    assert detect_format(path, "incidents") == "kml"
    assert vector.source_layers(path) == ["a", "b"]
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_kmz",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded) == ("completed", 2, 2), summary
    picked = run(find_job("incidents", "auto", path), path, engine, source="etlt_kmz",
                 mapping=MAPPING, options={"source_layer": "b"})
    assert (picked.status, picked.read, picked.unchanged) == ("completed", 1, 1), picked


def test_bad_geometries_are_quarantined_with_the_reason(engine: Engine, sample_loaded: list,
                                                       tmp_path: Path) -> None:
    """GDAL puts a Placemark whose coordinates are not numbers at 0,0 and its KML driver drops one
    without geometry; both are kept here, with what was wrong in the raw payload."""
    path = tmp_path / "bad.kml"
    path.write_text(HEAD + "<Document>" + _placemark("B1") + _placemark(
        "B2", "<Point><coordinates>abc,def</coordinates></Point>") + _placemark("B3", "")
        + _placemark("B4", "<Polygon><outerBoundaryIs><LinearRing><coordinates>36.7,34.7 "
                           "36.8,34.7</coordinates></LinearRing></outerBoundaryIs></Polygon>")
        + "</Document></kml>")
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_kml_bad",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 4, 1, 3), summary
    with engine.connect() as conn:
        raws = {row[0]["uid"]: (row[1], row[0].get("geometry_error")) for row in conn.execute(text(
            "SELECT raw, record_number FROM quarantine WHERE etl_run_id = :r"),
            {"r": summary.run_id})}
    assert raws["B2"] == (2, "Point: coordinate 'abc,def' is not numbers")
    assert raws["B3"] == (3, None)
    assert raws["B4"] == (4, "Polygon: a LinearRing of 2 coordinates (4 at least, the first "
                             "repeated last)")


def test_a_kml_cut_short_quarantines_the_cut_placemark(
        engine: Engine, sample_loaded: list, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As a CSV's or a GeoJSON's (tests/etl/test_cut_json.py): the whole Placemarks load, the
    one the end of the file falls in is quarantined as truncated_record, said in a warning."""
    monkeypatch.setattr(vector, "BATCH", 3)
    path = tmp_path / "field.kml"
    whole = HEAD + "<Document>" + "".join(_placemark(f"T{i}") for i in range(7)) + "</Document></kml>"
    path.write_text(whole[: len(whole) * 5 // 6])  # cut inside Placemark 6, in the last batch
    summary = run(find_job("incidents", "kml", path), path, engine, source="etlt_kml_cut",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 6, 5, 1), summary
    assert summary.reasons == {"truncated_record": 1}
    assert [w for w in summary.warnings if "ends inside Placemark 6" in w], summary.warnings
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT raw FROM quarantine WHERE etl_run_id = :r"),
                           {"r": summary.run_id}).scalar_one()
        loaded = conn.execute(text("SELECT count(*) FROM incidents WHERE source = "
                                   "'etlt_kml_cut'")).scalar_one()
    assert "T5" in raw["feature"] and "__unterminated__" not in raw and loaded == 5

    path.write_text(whole[: whole.index("<Placemark><name>T6")])  # between two Placemarks
    summary = run(find_job("incidents", "kml", path), path, engine, source="etlt_kml_cut2",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "completed", 6, 6, 0), summary
    assert [w for w in summary.warnings if "ends before its document closes, after "
            "Placemark 6" in w], summary.warnings


@pytest.mark.parametrize("case", ["cut before its root", "not kml", "empty", "kmz without kml"])
def test_broken_files_fail_with_nothing_left(engine: Engine, sample_loaded: list, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.setattr(vector, "BATCH", 3)
    path = tmp_path / ("field.kmz" if case == "kmz without kml" else "field.kml")
    whole = HEAD + "<Document>" + "".join(_placemark(f"T{i}") for i in range(7)) + "</Document></kml>"
    if case == "cut before its root":
        path.write_text(whole[:50])
    elif case == "not kml":
        path.write_text('<?xml version="1.0"?><gpx version="1.1"><wpt lat="34.7" lon="36.7"/></gpx>')
    elif case == "empty":
        path.write_text("")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "no KML here")
    summary = run(find_job("incidents", "kml", path), path, engine, source="etlt_kml_broken",
                  mapping=MAPPING)
    assert summary.status == "failed" and "cannot be read" in (summary.error or ""), summary
    assert (summary.loaded, summary.quarantined) == (0, 0)
    error = summary.error or ""
    if case == "not kml":
        assert "not a KML document (its root element is <gpx>)" in error
    if case == "kmz without kml":
        assert "without a .kml document" in error
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents WHERE source = "
                                 "'etlt_kml_broken'")).scalar_one() == 0


PROBE = """
import json, resource, sys
from pathlib import Path
from etl.sources import vector
vector.BATCH = 5_000
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count = sum(1 for _ in vector.read_vector(Path(sys.argv[1])))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"count": count, "growth_kb": after - before}))
"""


def test_a_large_kml_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """200,000 placemarks (52 MB) read in batches of 5,000 cost a few MB of memory (a batch),
    not the file. GDAL's LIBKML driver holds ~12x the file (~600 MB here); the
    bound is a generous half of the file's size. Time is measured in bench/ (`python -m bench
    etl --format kml`), not here."""
    path = tmp_path / "large.kml"
    count = 200_000
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEAD + "<Document><name>large</name><Folder><name>reports</name>\n")
        for i in range(count):
            out.write(_placemark(f"L{i}", f"<Point><coordinates>{36 + i % 500 / 100},"
                                          f"{34 + i % 300 / 100}</coordinates></Point>"))
        out.write("</Folder></Document></kml>\n")
    size_kb = path.stat().st_size / 1024
    assert size_kb > 40_000
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True,
                          timeout=600, check=True, cwd=Path(__file__).parents[2])
    got = json.loads(done.stdout)
    assert got["count"] == count
    assert got["growth_kb"] < size_kb / 2, (got, size_kb)


def test_is_kml_tells_by_the_content(tmp_path: Path) -> None:
    named = tmp_path / "export.xml"
    named.write_text(HEAD + "<Document>" + _placemark("X1") + "</Document></kml>")
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><gpx/>')
    assert kml.is_kml(named) and not kml.is_kml(other)
    assert [r.fields["uid"] for r in vector.read_vector(named)] == ["X1"]


def test_a_zip_of_a_kml_is_read_as_kmz(engine: Engine, sample_loaded: list, tmp_path: Path) -> None:
    """A KMZ saved as .zip (or downloaded without its name) is told from a zip of shapefiles."""
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("field/doc.kml", HEAD + "<Document>" + _placemark("ZZ1") + "</Document></kml>")
    assert kml.is_kml(path)
    summary = run(find_job("incidents", "auto", path), path, engine, source="etlt_kml_zip",
                  mapping=MAPPING)
    assert (summary.status, summary.read, summary.loaded) == ("completed", 1, 1), summary


def test_a_typed_value_that_is_not_finite_is_quarantined(engine: Engine, sample_loaded: list,
                                                        tmp_path: Path) -> None:
    """A Schema's double field holding NaN or INF: read as a float, no JSON could hold it, so
    its row could not be quarantined and the whole run failed in the database."""
    def typed(uid: str, deaths: str) -> str:
        return (f'<Placemark><ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="uid">'
                f'{uid}</SimpleData><SimpleData name="day">2016-06-03</SimpleData>'
                f'<SimpleData name="kind">Shelling</SimpleData><SimpleData name="fatalities">'
                f'{deaths}</SimpleData></SchemaData></ExtendedData>'
                '<Point><coordinates>36.71,34.73</coordinates></Point></Placemark>\n')

    path = tmp_path / "typed.kml"
    path.write_text(HEAD + '<Document><Schema name="s" id="s"><SimpleField name="fatalities" '
                    'type="double"/></Schema>' + typed("T-ok", "3.0") + typed("T-nan", "NaN")
                    + typed("T-inf", "INF") + "</Document></kml>")
    summary = run(find_job("incidents", "kml", path), path, engine, source="etlt_kml_typed",
                  mapping=MAPPING)
    assert (summary.status, summary.loaded, summary.quarantined) == ("completed", 1, 2), summary
    assert summary.reasons == {"unparseable_number": 2}
