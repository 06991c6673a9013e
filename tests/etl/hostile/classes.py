"""Byte-level hostile classes: bit flips, truncation, NUL bytes, other encodings, XML entities,
zip tricks and files disguised as another format. Random choices are drawn when the case is
made (fixed seed); the bytes are made when the case is written."""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from collections.abc import Callable
from functools import partial

from . import bases
from .case import Case, ValueCheck, one

Files = Callable[[], dict[str, bytes]]
Base = tuple[str, str, str, Files, dict[str, str] | None]


def _mutated(files: Files, member: str, mutate: Callable[[bytes], bytes]) -> Files:
    def make() -> dict[str, bytes]:
        out = dict(files())
        out[member] = mutate(out[member])
        return out
    return make


def _member(rng: random.Random, base: Base) -> str:
    if base[0] == "admin1_shp":
        return rng.choice(["syr_admin1.shp", "syr_admin1.dbf", "syr_admin1.shx"])
    return base[2]


def _flip(spots: list[tuple[float, int]]) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        out = bytearray(data)
        for where, bit in spots:
            out[int(where * len(out))] ^= 1 << bit
        return bytes(out)
    return mutate


def bitflips(rng: random.Random, bases_: list[Base], per_base: int) -> list[Case]:
    out = []
    for base in bases_:
        for n in range(per_base):
            member = _member(rng, base)
            spots = [(rng.random(), rng.randrange(8)) for _ in range(rng.choice([1, 2, 8, 32]))]
            out.append(Case(f"bitflip-{base[0]}-{n}", "bitflip", base[1], base[2],
                            _mutated(base[3], member, _flip(spots)), mapping=base[4]))
    return out


def _cut(where: float) -> Callable[[bytes], bytes]:
    return lambda data: data[:max(1, int(where * len(data)))]


def truncations(rng: random.Random, bases_: list[Base], per_base: int) -> list[Case]:
    out = []
    for base in bases_:
        for n in range(per_base):
            member = _member(rng, base)
            where = rng.random() if n else rng.choice([0.0, 0.001, 0.5, 0.97])
            out.append(Case(f"truncate-{base[0]}-{n}", "truncate", base[1], base[2],
                            _mutated(base[3], member, _cut(where)), mapping=base[4]))
    return out


def _nul(spots: list[float]) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        out = bytearray(data)
        for where in sorted(spots, reverse=True):
            out[int(where * len(out)):int(where * len(out))] = b"\x00"
        return bytes(out)
    return mutate


def nul_bytes(rng: random.Random, bases_: list[Base], per_base: int) -> list[Case]:
    out = []
    for base in bases_:
        for n in range(per_base):
            spots = [rng.random() for _ in range(rng.choice([1, 3]))]
            if n == 0:
                spots = [0.5 + rng.random() / 2]  # past the first 4 KB: only the reader sees it
            out.append(Case(f"nul-{base[0]}-{n}", "nul", base[1], base[2],
                            _mutated(base[3], base[2], _nul(spots)), mapping=base[4]))
    return out


ARABIC = "حمص"
ACCENTED = "Déir ez-Zór"


def _text_csv() -> str:
    return ("source_id,occurred_at,event_type,fatalities,lat,lon,location_name,notes\n"
            f"E1,2016-06-01,shelling,1,34.73,36.71,{ARABIC},plain\n"
            f"E2,2016-06-02,shelling,2,35.33,40.14,{ACCENTED},{ARABIC} {ACCENTED}\n")


def _text_geojson() -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        bases.point_feature({"source_id": "E1", "occurred_at": "2016-06-01",
                             "event_type": "shelling", "location_name": ARABIC}, 36.71, 34.73),
        bases.point_feature({"source_id": "E2", "occurred_at": "2016-06-02",
                             "event_type": "shelling", "location_name": ACCENTED}, 40.14, 35.33)
    ]}, ensure_ascii=False)


def _encoded(text: Callable[[], str], codec: str, bom: bytes = b"") -> Callable[[], bytes]:
    return lambda: bom + text().encode(codec, errors="replace")


def encodings() -> list[Case]:
    """The same two rows in other encodings: each name is stored as written or the file refused
    (a name is never stored garbled)."""
    names = {"E1": ARABIC, "E2": ACCENTED}
    checks = tuple(ValueCheck(k, "location_name", v) for k, v in names.items())
    variants: list[tuple[str, Callable[[], bytes]]] = [
        ("utf8", _encoded(_text_csv, "utf-8")),
        ("utf8-bom", _encoded(_text_csv, "utf-8", b"\xef\xbb\xbf")),
        ("latin1", lambda: _text_csv().replace(ARABIC, "Hims").encode("latin-1")),
        ("cp1256", _encoded(lambda: _text_csv().replace(ACCENTED, "Deir"), "cp1256")),
        ("utf16le-bom", _encoded(_text_csv, "utf-16-le", b"\xff\xfe")),
        ("utf16be-bom", _encoded(_text_csv, "utf-16-be", b"\xfe\xff")),
        ("utf16le", _encoded(_text_csv, "utf-16-le")),
    ]
    out = []
    for label, data in variants:
        expect = {"latin1": {"E1": "Hims", "E2": ACCENTED},
                  "cp1256": {"E1": ARABIC, "E2": "Deir"}}.get(label, names)
        readable = label != "utf16le"  # UTF-16 without a BOM is refused (binary content)
        out.append(Case(f"encoding-csv-{label}", "encoding", "incidents", "enc.csv",
                        one(data, "enc.csv"),
                        values=tuple(ValueCheck(k, "location_name", v) for k, v in expect.items()),
                        records=2 if readable else None,
                        must_load=frozenset(expect) if readable else frozenset(),
                        cli=label in ("utf16le-bom", "cp1256")))
    for label, data in [("utf16le-bom", _encoded(_text_geojson, "utf-16-le", b"\xff\xfe")),
                        ("utf16le", _encoded(_text_geojson, "utf-16-le")),
                        ("latin1", _encoded(lambda: _text_geojson().replace(ARABIC, "Hims"),
                                            "latin-1")),
                        ("cp1256", _encoded(lambda: _text_geojson().replace(ACCENTED, "Deir"),
                                            "cp1256"))]:
        expect = {"latin1": {"E1": "Hims", "E2": ACCENTED},
                  "cp1256": {"E1": ARABIC, "E2": "Deir"}}.get(label, names)
        out.append(Case(f"encoding-geojson-{label}", "encoding", "incidents", "enc.geojson",
                        one(data, "enc.geojson"),
                        values=tuple(ValueCheck(k, "location_name", v) for k, v in expect.items())))
    kml = bases.kml_document([bases.kml_placemark(
        {"source_id": k, "occurred_at": "2016-06-01", "event_type": "shelling",
         "location_name": v}, bases.kml_point(36.71, 34.73)) for k, v in names.items()]).decode()
    for label, data in [
        ("declared-utf8-is-cp1256", lambda: kml.replace(ACCENTED, "Deir").encode("cp1256")),
        ("declared-cp1256", lambda: kml.replace('encoding="UTF-8"', 'encoding="windows-1256"')
         .replace(ACCENTED, "Deir").encode("cp1256")),
        ("utf16-bom", lambda: kml.replace('encoding="UTF-8"', 'encoding="UTF-16"')
         .encode("utf-16"))]:
        expect = names if label == "utf16-bom" else {"E1": ARABIC, "E2": "Deir"}
        out.append(Case(f"encoding-kml-{label}", "encoding", "incidents", "enc.kml",
                        one(data, "enc.kml"),
                        values=tuple(ValueCheck(k, "location_name", v) for k, v in expect.items())))
    padded = ("source_id,occurred_at,event_type,fatalities,lat,lon,location_name,notes\n"
              + "".join(f"P{i},2016-06-01,shelling,1,34.73,36.71,Homs,{'p' * 9_000}\n"
                        for i in range(8))
              + "E0,2016-06-01,shelling,1,34.73,36.71,Homs,before the Latin-1 byte\n"
              f"E1,2016-06-02,shelling,2,35.33,40.14,{ACCENTED},past the first 64 KB\n")
    out.append(Case("encoding-csv-latin1-after-64kb", "encoding", "incidents", "late.csv",
                    one(lambda: padded.encode("latin-1"), "late.csv"), records=10,
                    must_load=frozenset({"E0", "E1"}),
                    values=(ValueCheck("E1", "location_name", ACCENTED),)))
    out.append(Case("encoding-csv-utf8-stray-byte", "encoding", "incidents", "stray.csv",
                    one(lambda: _text_csv().encode().replace(b"plain", b"pl\xffin"),
                        "stray.csv"), values=checks))
    out.append(Case("encoding-csv-checks", "encoding", "incidents", "enc.csv",
                    one(_encoded(_text_csv, "utf-8"), "enc.csv"), values=checks, records=2,
                    must_load=frozenset(names)))
    return out


def _entity_kml(doctype: str, value: str) -> Callable[[], bytes]:
    def make() -> bytes:
        placemark = bases.kml_placemark({"source_id": "X1", "occurred_at": "2016-06-01",
                                         "event_type": "shelling", "notes": "@NOTES@"},
                                        bases.kml_point(36.71, 34.73))
        return bases.kml_document([placemark], head=doctype).replace(b"@NOTES@",
                                                                     value.encode())
    return make


def xml_entities() -> list[Case]:
    laughs = ('<!DOCTYPE kml [<!ENTITY a "lol">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(9)) + "]>\n")
    blowup = '<!DOCTYPE kml [<!ENTITY big "' + "x" * 50_000 + '">]>\n'
    variants = [
        ("billion-laughs", laughs, "&j;"),
        ("quadratic-blowup", blowup, "&big;" * 2_000),
        ("external-file", '<!DOCTYPE kml [<!ENTITY e SYSTEM "file://@CANARY@">]>\n', "&e;"),
        ("external-url", '<!DOCTYPE kml [<!ENTITY e SYSTEM "@LISTENER@/entity">]>\n', "&e;"),
        ("external-dtd", '<!DOCTYPE kml SYSTEM "@LISTENER@/kml.dtd">\n', "plain"),
        ("parameter-entity", '<!DOCTYPE kml [<!ENTITY % p SYSTEM "@LISTENER@/p.dtd"> %p;]>\n',
         "plain"),
        ("xinclude", "", '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                         'href="file://@CANARY@" parse="text"/>'),
    ]
    out = [Case(f"xml-{label}", "xml", "incidents", "entity.kml",
                one(_entity_kml(doctype, value), "entity.kml"), cli=label == "external-file")
           for label, doctype, value in variants]
    out.append(Case("xml-external-file-kmz", "xml", "incidents", "entity.kmz",
                    lambda: {"entity.kmz": bases.zipped({"doc.kml": _entity_kml(
                        variants[2][1], "&e;")()})}))
    out.append(Case("xml-networklink", "xml", "incidents", "link.kml", one(
        lambda: bases.kml_document(['<NetworkLink><Link><href>@LISTENER@/more.kml</href></Link>'
                                    '</NetworkLink>', bases.kml_placemark(
                                        {"source_id": "N1", "occurred_at": "2016-06-01",
                                         "event_type": "shelling"},
                                        bases.kml_point(36.71, 34.73))]), "link.kml"),
        records=1, must_load=frozenset({"N1"})))
    return out


def _vrt(source: str, layer: str = "secret") -> bytes:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}</SrcDataSource>'
            f'<SrcLayer>{layer}</SrcLayer><GeometryType>wkbPoint</GeometryType>'
            '<GeometryField encoding="PointFromColumns" x="lon" y="lat"/>'
            '</OGRVRTLayer></OGRVRTDataSource>').encode()


def _zip_info(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.external_attr = mode << 16
    return info


def _raw_zip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return out.getvalue()


def _damaged_member(member: str, header: bool = False) -> Callable[[], bytes]:
    """The zipped agreement-area shapefile with a byte of `member`'s compressed data flipped
    (its CRC no longer matches), or of its local header's uncompressed size."""
    def make() -> bytes:
        data = bytearray(bases.zipped(bases.areas_shapefile()))
        info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[info.header_offset + 23 if header else start + info.compress_size // 2] ^= 0x10
        return bytes(data)
    return make


def zip_tricks() -> list[Case]:
    parts = bases.areas_shapefile
    vrt = _vrt("CSV:@CANARY@")
    variants: list[tuple[str, Callable[[], bytes]]] = [
        ("zip-in-zip", lambda: bases.zipped({"inner.zip": bases.zipped(parts())})),
        ("dotdot-members", lambda: bases.zipped({f"../../{k}": v for k, v in parts().items()})),
        ("absolute-members", lambda: bases.zipped({f"/tmp/{k}": v for k, v in parts().items()})),
        ("vrt-as-layer-vrt", lambda: bases.zipped({"layer.vrt": vrt})),
        ("vrt-as-layer-shp", lambda: bases.zipped({"layer.shp": vrt, "layer.dbf": b"",
                                                   "layer.shx": b""})),
        ("vrt-beside-shapefile", lambda: bases.zipped({**parts(), "areas.vrt": vrt})),
        ("symlink-to-canary", lambda: _raw_zip(
            [(_zip_info(k), v) for k, v in parts().items() if not k.endswith(".dbf")]
            + [(_zip_info("areas.dbf", stat.S_IFLNK | 0o777), b"@CANARY@")])),
        ("empty-zip", lambda: bases.zipped({})),
        ("two-shapefiles", lambda: bases.zipped({**parts(), **{
            k.replace("areas", "other"): v for k, v in parts().items()}})),
        ("cut-central-directory", lambda: bases.zipped(parts())[:-30]),
        ("kmz-dotdot", lambda: bases.zipped({"../doc.kml": bases.incidents_kml()})),
        ("damaged-shx-member", _damaged_member("areas.shx")),
        ("damaged-dbf-member", _damaged_member("areas.dbf")),
        ("damaged-shp-member", _damaged_member("areas.shp")),
        ("damaged-shx-header", _damaged_member("areas.shx", header=True)),
    ]
    out = []
    for label, data in variants:
        layer = "incidents" if label.startswith("kmz") else "agreement_areas"
        name = "x.kmz" if label.startswith("kmz") else "x.zip"
        out.append(Case(f"zip-{label}", "zip", layer, name, one(data, name),
                        cli=label == "dotdot-members"))
    return out


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


def disguised() -> list[Case]:
    out = []
    for suffix in ("gpkg", "geojson", "shp", "kml", "csv", "json"):
        for target, source in (("canary", "CSV:@CANARY@"),
                               ("listener", "CSV:/vsicurl/@LISTENER@/data.csv")):
            out.append(Case(f"disguised-vrt-{target}.{suffix}", "disguised", "incidents",
                            f"x.{suffix}", one(partial(_vrt, source), f"x.{suffix}"),
                            cli=(suffix, target) == ("geojson", "listener")))
    out.append(Case("disguised-vrt-format-gpkg-as-csv", "disguised", "incidents", "x.csv",
                    one(lambda: _vrt("CSV:@CANARY@"), "x.csv"), fmt="gpkg"))
    crs = [
        ("link", {"type": "link", "properties": {"href": "@LISTENER@/crs.wkt", "type": "ogcwkt"}}),
        ("name-url", {"type": "name", "properties": {"name": "@LISTENER@/crs"}}),
        ("name-file", {"type": "name", "properties": {"name": "@CANARY@"}}),
    ]
    for label, value in crs:
        doc = {"type": "FeatureCollection", "crs": value, "features": [bases.point_feature(
            {"source_id": "C1", "occurred_at": "2016-06-01", "event_type": "shelling"},
            36.7, 34.7)]}
        out.append(Case(f"disguised-crs-{label}", "disguised", "incidents", "crs.geojson",
                        one(partial(_json, doc), "crs.geojson")))
    out.append(Case("disguised-prj-url", "disguised", "agreement_areas", "areas.shp",
                    lambda: {**{k: v for k, v in bases.areas_shapefile().items()},
                             "areas.prj": b"@LISTENER@/crs.prj"}))
    out.append(Case("disguised-gpkg-as-geojson", "disguised", "incidents", "x.geojson",
                    one(bases.incidents_gpkg, "x.geojson")))
    out.append(Case("disguised-csv-as-kml", "disguised", "incidents", "x.kml",
                    one(bases.incidents_csv, "x.kml")))
    out.append(Case("disguised-kml-as-csv", "disguised", "incidents", "x.csv",
                    one(bases.incidents_kml, "x.csv")))
    return out
