"""Content-level hostile classes: value edge cases, broken structure and URLs inside values.
Each case says which values must be stored as written (or their rows quarantined), how many
records the file holds, and which rows must load or be quarantined."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import bases
from .case import Case, ValueCheck, one

HEADER = "source_id,occurred_at,event_type,fatalities,lat,lon,location_name,notes"
NUMBERS = {"ok": "3", "whole": "4.0", "frac": "2.7", "nan": "NaN", "inf": "inf",
           "ninf": "-Infinity", "e308": "1e308", "d309": "1" + "0" * 308, "true": "true",
           "neg": "-5", "exp": "1e3", "plus": "+8", "hex": "0x10", "spaced": " 7 ",
           "arabic": "٣", "tiny": "1e-400", "over": "3000000000"}
QUANTITIES = {"ok": "5.5", "tenth": "0.1", "small": "1e-7", "nan": "NaN", "e308": "1e308",
              "d309": "9" * 309, "frac": "2.7", "max": "1e12", "precise": "12345678901.123456789",
              "true": "true", "inf": "Infinity"}
TIMES = {"date": "2016-06-01", "z": "2016-06-01T10:00:00Z", "plus3": "2016-06-01T10:00:00+03:00",
         "minus530": "2016-06-01T10:00:00-05:30", "feb30": "2016-02-30", "month13": "2016-13-01",
         "h24": "2016-06-01T24:00:00", "year1": "0001-01-01", "y9999": "9999-12-31T23:59:59+14:00",
         "frac": "2016-06-01T10:00:00.123456+01:00", "blank": " "}


def _csv(rows: list[str], header: str = HEADER) -> Callable[[], bytes]:
    return lambda: (header + "\n" + "".join(r + "\n" for r in rows)).encode()


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _incident_row(sid: str, *, when: str = "2016-06-01", deaths: str = "1", notes: str = "n",
                  place: str = "Homs") -> str:
    return ",".join(_quote(v) for v in (sid, when, "shelling", deaths, "34.73", "36.71", place,
                                         notes))


def _feature(sid: str, lon: Any = 36.71, lat: Any = 34.73, **props: Any) -> dict[str, Any]:
    return bases.point_feature({"source_id": sid, "occurred_at": "2016-06-01",
                                "event_type": "shelling", **props}, lon, lat)


def _collection(features: list[Any], text: str | None = None) -> Callable[[], bytes]:
    return lambda: (text or json.dumps({"type": "FeatureCollection", "features": features})
                    ).encode()


def _ucdp(changes: list[dict[str, str]]) -> Callable[[], bytes]:
    def make() -> bytes:
        header, rows = bases.ucdp_rows()
        col = {name: i for i, name in enumerate(header)}
        out = []
        for n, change in enumerate(changes):
            row = list(rows[n % len(rows)])
            for key, value in change.items():
                row[col[key]] = value
            out.append(row)
        return bases.to_csv(header, out)
    return make


def _kml(rows: list[dict[str, str]], geometry: str | None = None) -> Callable[[], bytes]:
    return lambda: bases.kml_document([bases.kml_placemark(
        r, geometry if geometry is not None else bases.kml_point(36.71, 34.73)) for r in rows])


def values() -> list[Case]:
    out = []
    counts = [_incident_row(f"N-{k}", deaths=v) for k, v in NUMBERS.items()]
    checks = tuple(ValueCheck(f"N-{k}", "fatalities", v.strip(), "number")
                   for k, v in NUMBERS.items())
    for row_wise in (False, True):
        out.append(Case(f"values-csv-counts-{'rows' if row_wise else 'copy'}", "values",
                        "incidents", "counts.csv", one(_csv(counts), "counts.csv"),
                        row_wise=row_wise, values=checks, records=len(counts),
                        must_load=frozenset({"N-ok", "N-whole"})))
    times = [_incident_row(f"T-{k}", when=v) for k, v in TIMES.items()]
    tchecks = tuple(ValueCheck(f"T-{k}", "occurred_at", v.strip(), "time")
                    for k, v in TIMES.items())
    for row_wise in (False, True):
        out.append(Case(f"values-csv-times-{'rows' if row_wise else 'copy'}", "values",
                        "incidents", "times.csv", one(_csv(times), "times.csv"),
                        row_wise=row_wise, values=tchecks, records=len(times),
                        must_load=frozenset({"T-date", "T-z", "T-plus3"})))
    aid_header = ("source_id,delivered_at,method,cargo_type,quantity,unit,organisation,latitude,"
                  "longitude")
    aid = [f"Q-{k},2016-05-01,convoy,food,{_quote(v)},tonnes,WFP,34.73,36.71"
           for k, v in QUANTITIES.items()]
    out.append(Case("values-aid-quantities", "values", "aid_deliveries", "aid.csv",
                    one(_csv(aid, aid_header), "aid.csv"), records=len(aid),
                    values=tuple(ValueCheck(f"Q-{k}", "quantity", v, "number")
                                 for k, v in QUANTITIES.items()),
                    must_load=frozenset({"Q-ok", "Q-tenth", "Q-precise"})))
    header, rows = bases.ucdp_rows()
    ids = [rows[n][0] for n in range(len(rows))]
    ucdp_changes = [{"date_start": "2016-01-05", "date_end": "2016-01-02"},
                    {"date_start": "2016-02-30", "date_end": "2016-02-30"},
                    {"best": "2.7"}, {"best": "1e308"}, {"best": "NaN"}, {"best": "4.0"},
                    {"low": "9", "best": "3", "high": "1"}, {"date_start": "9999-12-31",
                                                             "date_end": "9999-12-31"}]
    uchecks = []
    for n, change in enumerate(ucdp_changes):
        if "best" in change:
            uchecks.append(ValueCheck(ids[n], "fatalities", change["best"], "number"))
        if "date_start" in change:
            uchecks.append(ValueCheck(ids[n], "occurred_at", change["date_start"], "time"))
    for row_wise in (False, True):
        out.append(Case(f"values-ucdp-{'rows' if row_wise else 'copy'}", "values", "incidents",
                        "ucdp.csv", one(_ucdp(ucdp_changes), "ucdp.csv"), row_wise=row_wise,
                        values=tuple(uchecks), records=len(ucdp_changes),
                        must_quarantine=frozenset({ids[0], ids[1]})))
    literals = {"ok": "3", "whole": "4.0", "frac": "2.7", "e308": "1e308", "true": "true",
                "d309": "1" + "0" * 308, "e400": "1e400", "negzero": "-0.0", "nan": "NaN"}
    text = json.dumps({"type": "FeatureCollection", "features": [
        _feature(f"J-{k}", fatalities=f"@{k}@") for k in literals]})
    for k, v in literals.items():
        text = text.replace(f'"@{k}@"', v)
    out.append(Case("values-geojson-numbers", "values", "incidents", "numbers.geojson",
                    one(_collection([], text), "numbers.geojson"), records=len(literals),
                    values=tuple(ValueCheck(f"J-{k}", "fatalities", v, "number")
                                 for k, v in literals.items())))
    mixed = {k: TIMES[k] for k in ("date", "z", "plus3", "minus530")}
    out.append(Case("values-geojson-mixed-dates", "values", "incidents", "dates.geojson",
                    one(_collection([_feature(f"D-{k}", occurred_at=v) for k, v in mixed.items()]),
                        "dates.geojson"), records=len(mixed), must_load=frozenset(
                        f"D-{k}" for k in mixed),
                    values=tuple(ValueCheck(f"D-{k}", "occurred_at", v, "time")
                                 for k, v in mixed.items())))
    offsets = {k: TIMES[k] for k in ("z", "plus3", "minus530")}
    out.append(Case("values-geojson-offset-dates", "values", "incidents", "offsets.geojson",
                    one(_collection([_feature(f"O-{k}", occurred_at=v)
                                     for k, v in offsets.items()]), "offsets.geojson"),
                    values=tuple(ValueCheck(f"O-{k}", "occurred_at", v, "time")
                                 for k, v in offsets.items())))
    out.append(Case("values-geojson-microseconds", "values", "incidents", "micro.geojson",
                    one(_collection([_feature("U-frac", occurred_at=TIMES["frac"])]),
                        "micro.geojson"),
                    values=(ValueCheck("U-frac", "occurred_at", TIMES["frac"], "time"),)))
    kml_rows = [{"source_id": f"K-{k}", "occurred_at": "2016-06-01", "event_type": "shelling",
                 "fatalities": v} for k, v in NUMBERS.items()]
    out.append(Case("values-kml-counts", "values", "incidents", "counts.kml",
                    one(_kml(kml_rows), "counts.kml"), records=len(kml_rows),
                    values=tuple(ValueCheck(f"K-{k}", "fatalities", v.strip(), "number")
                                 for k, v in NUMBERS.items())))
    out.append(Case("values-kml-times", "values", "incidents", "times.kml", one(_kml([
        {"source_id": f"KT-{k}", "occurred_at": v, "event_type": "shelling"}
        for k, v in TIMES.items()]), "times.kml"), records=len(TIMES),
        values=tuple(ValueCheck(f"KT-{k}", "occurred_at", v.strip(), "time")
                     for k, v in TIMES.items())))
    typed = [f'<Placemark><ExtendedData><SchemaData schemaUrl="#s">'
             f'<SimpleData name="source_id">KS-{k}</SimpleData>'
             '<SimpleData name="occurred_at">2016-06-01</SimpleData>'
             '<SimpleData name="event_type">shelling</SimpleData>'
             f'<SimpleData name="fatalities">{v}</SimpleData></SchemaData></ExtendedData>'
             f"{bases.kml_point(36.71, 34.73)}</Placemark>" for k, v in REALS.items()]
    schema = ('<Schema name="s" id="s"><SimpleField name="source_id" type="string"/>'
              '<SimpleField name="fatalities" type="double"/></Schema>')
    out.append(Case("values-kml-typed-counts", "values", "incidents", "typed.kml", one(
        lambda: bases.kml_document([schema, *typed]), "typed.kml"), records=len(REALS),
        values=tuple(ValueCheck(f"KS-{k}", "fatalities", v, "number") for k, v in REALS.items()),
        must_load=frozenset({"KS-whole"})))
    out.append(Case("values-gpkg-real-counts", "values", "incidents", "counts.gpkg",
                    lambda: bases._written("counts.gpkg", _gpkg_counts), records=len(GPKG_REALS),
                    values=tuple(ValueCheck(f"R-{k}", "fatalities", v, "number")
                                 for k, v in GPKG_REALS.items()), must_load=frozenset({"R-whole"})))
    out += _big_cells()
    return out


REALS = {"whole": "3.0", "frac": "2.7", "nan": "NaN", "inf": "Infinity", "e308": "1e308",
         "negzero": "-0.0"}
#: SQLite stores a NaN as NULL, so a GeoPackage cannot hold one: every other value
GPKG_REALS = {k: v for k, v in REALS.items() if k != "nan"}


def _gpkg_counts(path: Any) -> None:
    """A GeoPackage whose count column is a REAL (floats as GDAL writes them)."""
    import numpy as np
    import pyogrio
    import shapely

    geoms = [shapely.to_wkb(shapely.Point(36.71, 34.73))] * len(GPKG_REALS)
    pyogrio.raw.write(str(path), np.array(geoms, dtype=object), [
        np.array([f"R-{k}" for k in GPKG_REALS], dtype=object),
        np.array(["2016-06-01"] * len(GPKG_REALS), dtype=object),
        np.array(["shelling"] * len(GPKG_REALS), dtype=object),
        np.array([float(v) for v in GPKG_REALS.values()], dtype=np.float64)],
        ["source_id", "occurred_at", "event_type", "fatalities"], driver="GPKG",
        geometry_type="Point", crs="EPSG:4326")


def _big_cells() -> list[Case]:
    long_id, cell, over = "X" * 10_000, "c" * 200_000, "o" * 140_000
    out = []
    for label, sid, notes in [("id-10kb", long_id, "n"), ("cell-200kb", "big-1", cell),
                              ("cell-140kb", "big-2", over)]:
        rows = [_incident_row("ok-1"), _incident_row(sid, notes=notes)]
        checks = () if sid == long_id else (ValueCheck(sid, "notes", notes),)
        for row_wise in (False, True):
            out.append(Case(f"values-csv-{label}-{'rows' if row_wise else 'copy'}", "values",
                            "incidents", "big.csv", one(_csv(rows), "big.csv"),
                            row_wise=row_wise, values=checks, records=2,
                            must_load=frozenset({"ok-1"})))
        out.append(Case(f"values-geojson-{label}", "values", "incidents", "big.geojson", one(
            _collection([_feature("ok-1"), _feature(sid, notes=notes)]), "big.geojson"),
            values=checks, records=2, must_load=frozenset({"ok-1"})))
    out.append(Case("values-kml-cell-200kb", "values", "incidents", "big.kml", one(_kml([
        {"source_id": "ok-1", "occurred_at": "2016-06-01", "event_type": "shelling"},
        {"source_id": "big-1", "occurred_at": "2016-06-01", "event_type": "shelling",
         "notes": cell}]), "big.kml"), values=(ValueCheck("big-1", "notes", cell),), records=2,
        must_load=frozenset({"ok-1"})))
    return out
