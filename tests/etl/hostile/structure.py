"""Broken structure (missing columns, ragged rows, misspelt types, open rings, empty or wrong
geometries, odd properties, wrong code pages) and URLs inside values."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from . import bases
from .case import Case, ValueCheck, one
from .content import _collection, _csv, _feature, _incident_row, _kml, _ucdp

SQUARE = [[[36.6, 34.6], [36.8, 34.6], [36.8, 34.8], [36.6, 34.8], [36.6, 34.6]]]


def _area(sid: str, geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"source_id": sid, "name": f"area {sid}", "kind": "settlement",
                           "status": "signed", "effective_from": "2016-02-27", **props}}


def _csv_cases() -> list[Case]:
    ok = _incident_row("S-ok")
    out = [
        Case("structure-csv-no-id-column", "structure", "incidents", "s.csv", one(_csv(
            ["2016-06-01,shelling,1,34.7,36.7"], "occurred_at,event_type,fatalities,lat,lon"),
            "s.csv"), records=1),
        Case("structure-csv-no-coordinates", "structure", "incidents", "s.csv", one(_csv(
            ["S1,2016-06-01,shelling,1"], "source_id,occurred_at,event_type,fatalities"),
            "s.csv"), records=1),
        Case("structure-csv-header-only", "structure", "incidents", "s.csv",
             one(_csv([]), "s.csv"), records=0),
        Case("structure-csv-ragged", "structure", "incidents", "s.csv", one(_csv(
            [ok, "S-short,2016-06-01,shelling", ok.replace("S-ok", "S-long") + ",extra,more"]),
            "s.csv"), records=3, must_load=frozenset({"S-ok"}),
            must_quarantine=frozenset({"S-short", "S-long"})),
        Case("structure-csv-unterminated-quote", "structure", "incidents", "s.csv", one(_csv(
            [ok, 'S-q,2016-06-01,shelling,1,34.7,36.7,"Homs,n', _incident_row("S-after")]),
            "s.csv")),
        Case("structure-csv-duplicate-header", "structure", "incidents", "s.csv", one(_csv(
            ["S1,S2,2016-06-01,shelling,1,34.7,36.7"],
            "source_id,source_id,occurred_at,event_type,fatalities,lat,lon"), "s.csv")),
        Case("structure-csv-duplicate-ids", "structure", "incidents", "s.csv", one(_csv(
            [ok, ok, _incident_row("S-2")]), "s.csv"), records=3,
            must_load=frozenset({"S-ok", "S-2"})),
        Case("structure-csv-quoted-newlines", "structure", "incidents", "s.csv", one(_csv(
            [_incident_row("S-nl", notes="line one\nline two\r\nthree")]), "s.csv"), records=1,
            values=(ValueCheck("S-nl", "notes", "line one\nline two\r\nthree"),)),
        Case("structure-csv-semicolons", "structure", "incidents", "s.csv", one(
            lambda: _csv([ok])().replace(b",", b";"), "s.csv"), records=1,
            must_load=frozenset({"S-ok"})),
        Case("structure-ucdp-no-date-column", "structure", "incidents", "ucdp.csv", one(
            lambda: _ucdp([{}])().replace(b"date_start", b"date_begin", 1), "ucdp.csv"),
            fmt="ucdp"),
    ]
    zero_width = {"bom": "\ufeffZ-1", "zwsp": "Z-\u200b2", "nbsp": "\u00a0Z-3", "zwj": "Z\u200d-4"}
    rows = [_incident_row(v) for v in zero_width.values()]
    checks = tuple(ValueCheck(v.strip(), "source_id", v) for v in zero_width.values())
    for row_wise in (False, True):
        out.append(Case(f"structure-csv-invisible-ids-{'rows' if row_wise else 'copy'}",
                        "structure", "incidents", "ids.csv", one(_csv(rows), "ids.csv"),
                        row_wise=row_wise, records=len(rows), values=checks))
    out.append(Case("structure-csv-bom-header", "structure", "incidents", "bom.csv",
                    one(lambda: b"\xef\xbb\xbf" + _csv([ok])(), "bom.csv"), records=1,
                    must_load=frozenset({"S-ok"})))
    return out


def _geojson_cases() -> list[Case]:
    point = {"type": "Point", "coordinates": [36.71, 34.73]}
    line = {"type": "LineString", "coordinates": [[36.70, 34.73], [37.16, 36.20]]}
    featur = _feature("F-2")
    featur["type"] = "Featur"
    many = _feature("M-1", **{f"p{i:05d}": str(i) for i in range(3_000)})
    first_array = [_feature("A-1", actors=["a", "b"]), _feature("A-2", actors="c"),
                   _feature("A-3", actors="d")]
    cases = [
        ("featur", "incidents", [_feature("F-1"), featur, _feature("F-3")], {"F-1", "F-3"},
         {"F-2"}),
        ("linestring-incident", "incidents",
         [_feature("L-1"), {**_feature("L-2"), "geometry": line}], {"L-1"}, {"L-2"}),
        ("empty-point", "incidents", [_feature("E-1", lon=None, lat=None) | {
            "geometry": {"type": "Point", "coordinates": []}}, _feature("E-ok")], {"E-ok"},
         set()),
        ("null-geometry", "incidents", [{**_feature("E-2"), "geometry": None},
                                        _feature("E-ok")], {"E-ok"}, set()),
        ("empty-collection", "incidents", [
            {**_feature("E-3"), "geometry": {"type": "GeometryCollection", "geometries": []}},
            _feature("E-ok")], {"E-ok"}, set()),
        ("array-in-first-feature", "incidents", first_array, {"A-1", "A-2", "A-3"}, set()),
        ("array-count-in-first-feature", "incidents", [
            _feature("B-1", fatalities=[1, 2]), _feature("B-2", fatalities=2), _feature("B-3")],
         {"B-2", "B-3"}, {"B-1"}),
        ("array-date-in-first-feature", "incidents", [
            _feature("C-1", occurred_at=["2016-06-01"]), _feature("C-2"), _feature("C-3")],
         {"C-2", "C-3"}, set()),
        ("many-properties", "incidents", [many, _feature("M-2")], {"M-1", "M-2"}, set()),
        ("properties-null", "incidents", [{**_feature("P-1"), "properties": None},
                                          _feature("P-ok")], {"P-ok"}, set()),
        ("nested-object", "incidents", [_feature("O-1", notes={"a": {"b": [1, 2]}})], set(),
         set()),
        ("4d-point", "incidents", [{**_feature("Z-1"), "geometry": {
            "type": "Point", "coordinates": [36.71, 34.73, 100, 5]}}], set(), set()),
        ("unclosed-ring", "agreement_areas", [
            _area("G-ok", {"type": "Polygon", "coordinates": SQUARE}),
            _area("G-open", {"type": "Polygon", "coordinates": [SQUARE[0][:-1]]})], {"G-ok"},
         set()),
        ("area-as-point", "agreement_areas", [
            _area("G-ok", {"type": "Polygon", "coordinates": SQUARE}), _area("G-pt", point)],
         {"G-ok"}, {"G-pt"}),
        ("area-outside-lonlat", "agreement_areas", [
            _area("G-ok", {"type": "Polygon", "coordinates": SQUARE}),
            _area("G-far", {"type": "Polygon", "coordinates": [[[c[0] * 10, c[1] * 3]
                                                                for c in SQUARE[0]]]})],
         {"G-ok"}, {"G-far"}),
        ("area-empty-polygon", "agreement_areas", [
            _area("G-ok", {"type": "Polygon", "coordinates": SQUARE}),
            _area("G-empty", {"type": "Polygon", "coordinates": []})], {"G-ok"}, {"G-empty"}),
        ("area-bowtie", "agreement_areas", [_area("G-bow", {"type": "Polygon", "coordinates": [
            [[36.6, 34.6], [36.8, 34.8], [36.8, 34.6], [36.6, 34.8], [36.6, 34.6]]]})], set(),
         set()),
    ]
    out = []
    for label, layer, features, load, quarantine in cases:
        out.append(Case(f"structure-geojson-{label}", "structure", layer, "s.geojson",
                        one(_collection(features), "s.geojson"), records=len(features),
                        must_load=frozenset(load), must_quarantine=frozenset(quarantine)))
    invisible = [_feature(v) for v in ("\ufeffY-1", "Y-\u200b2", "Y\u200d-3")]
    out.append(Case("structure-geojson-invisible-ids", "structure", "incidents", "ids.geojson",
                    one(_collection(invisible), "ids.geojson"), records=3,
                    values=tuple(ValueCheck(f["properties"]["source_id"], "source_id",
                                            f["properties"]["source_id"]) for f in invisible)))
    texts = {
        "features-not-a-list": '{"type": "FeatureCollection", "features": {"a": 1}}',
        "no-features": '{"type": "FeatureCollection", "features": []}',
        "bare-geometry": '{"type": "Point", "coordinates": [36.7, 34.7]}',
        "deep-nesting": '{"type": "FeatureCollection", "features": ' + "[" * 5_000 + "]" * 5_000
                        + "}",
        "json-array": "[1, 2, 3]",
        "trailing-garbage": json.dumps({"type": "FeatureCollection",
                                        "features": [_feature("T-1")]}) + "\n{garbage",
        "sequence-with-bad-line": json.dumps(_feature("Q-1")) + "\nnot json\n"
                                  + json.dumps(_feature("Q-2")) + "\n",
    }
    for label, text in texts.items():
        name = "s.geojsonl" if label.startswith("sequence") else "s.geojson"
        out.append(Case(f"structure-geojson-{label}", "structure", "incidents", name,
                        one(_collection([], text), name)))
    return out


def _other_cases() -> list[Case]:
    def shapefile(cpg: bytes | None, encoding: str | None) -> dict[str, bytes]:
        features = [_area("W-1", {"type": "Polygon", "coordinates": SQUARE}, name="حمص"),
                    _area("W-2", {"type": "Polygon", "coordinates": SQUARE}, name="Déir")]
        parts = bases._written("w.shp", lambda p: bases.write_areas(
            p, features, "ESRI Shapefile", encoding))
        parts.pop("w.cpg", None)
        return {**parts, **({"w.cpg": cpg} if cpg is not None else {})}

    names = (ValueCheck("W-1", "name", "حمص"), ValueCheck("W-2", "name", "Déir"))
    out = [Case(f"structure-shp-{label}", "structure", "agreement_areas", "w.shp",
                partial(shapefile, cpg, enc), records=2, values=names)
           for label, cpg, enc in [("cpg-utf8-dbf-cp1256", b"UTF-8", "cp1256"),
                                   ("cpg-1252-dbf-utf8", b"1252", "UTF-8"),
                                   ("cpg-garbage", b"\x00\xffnot a code page", "UTF-8"),
                                   ("no-cpg-utf8", None, "UTF-8")]]
    out.append(Case("structure-shp-no-dbf", "structure", "agreement_areas", "areas.shp",
                    lambda: {k: v for k, v in bases.areas_shapefile().items()
                             if not k.endswith(".dbf")}))
    out.append(Case("structure-shp-no-prj", "structure", "agreement_areas", "areas.shp",
                    lambda: {k: v for k, v in bases.areas_shapefile().items()
                             if not k.endswith(".prj")}))
    line = "<LineString><coordinates>36.70,34.73 37.16,36.20</coordinates></LineString>"
    open_ring = ("<Polygon><outerBoundaryIs><LinearRing><coordinates>36.6,34.6 36.8,34.6 "
                 "36.8,34.8</coordinates></LinearRing></outerBoundaryIs></Polygon>")
    row = {"occurred_at": "2016-06-01", "event_type": "shelling"}
    for label, geometry in [("linestring-incident", line), ("open-ring", open_ring),
                            ("no-geometry", ""),
                            ("bad-coordinates", "<Point><coordinates>x,y</coordinates></Point>"),
                            ("nan-coordinates",
                             "<Point><coordinates>nan,inf</coordinates></Point>")]:
        out.append(Case(f"structure-kml-{label}", "structure", "incidents", "s.kml",
                        one(_kml([{"source_id": "K-1", **row}], geometry), "s.kml"), records=1,
                        must_quarantine=frozenset({"K-1"})))
    deep = "<Folder>" * 500 + bases.kml_placemark({"source_id": "K-deep", **row},
                                                  bases.kml_point(36.71, 34.73)) + "</Folder>" * 500
    out.append(Case("structure-kml-deep-folders", "structure", "incidents", "deep.kml",
                    one(lambda: bases.kml_document([deep]), "deep.kml")))
    out.append(Case("structure-kml-not-kml-root", "structure", "incidents", "s.kml",
                    one(lambda: b'<?xml version="1.0"?><kmlx><Placemark/></kmlx>', "s.kml")))
    return out


def structure() -> list[Case]:
    return [*_csv_cases(), *_geojson_cases(), *_other_cases()]


def urls_in_values() -> list[Case]:
    urls = {"U-http": "@LISTENER@/x.csv", "U-vsicurl": "/vsicurl/@LISTENER@/a.csv",
            "U-file": "file://@CANARY@", "U-csv": "CSV:@CANARY@"}
    checks = tuple(ValueCheck(k, "notes", v) for k, v in urls.items()) + tuple(
        ValueCheck(k, "location_name", v) for k, v in urls.items())
    rows = [_incident_row(k, notes=v, place=v) for k, v in urls.items()]
    features = [_feature(k, notes=v, location_name=v) for k, v in urls.items()]
    kml_rows = [{"source_id": k, "occurred_at": "2016-06-01", "event_type": "shelling",
                 "notes": v, "location_name": v} for k, v in urls.items()]
    out = [Case("urls-csv", "urls", "incidents", "u.csv", one(_csv(rows), "u.csv"),
                values=checks, records=len(rows), must_load=frozenset(urls)),
           Case("urls-geojson", "urls", "incidents", "u.geojson", one(_collection(features),
                                                                      "u.geojson"),
                values=checks, records=len(rows), must_load=frozenset(urls)),
           Case("urls-kml", "urls", "incidents", "u.kml", one(_kml(kml_rows), "u.kml"),
                values=checks, records=len(rows), must_load=frozenset(urls)),
           Case("urls-as-ids", "urls", "incidents", "ids.csv", one(_csv(
               [_incident_row(v) for v in urls.values()]), "ids.csv"), records=len(urls))]
    return out
