"""The assertions of the OGC API - Features test suite (ets-ogcapi-features10, the TEAM Engine
suite, which no registry reachable here ships), ported: Part 1 Core (Annex A.2, abstract tests
1-29), GeoJSON (A.3) and OpenAPI 3.0 (A.4), plus Part 3 Filtering (19-079r2, Annex A:
queryables, queryables as query parameters, filter, features filter) from the standard. Run as
the suite runs: over HTTP against the running server with the real sample, anonymously, for
every collection the API lists. Each test names the abstract test (and the suite's class) it
follows; the suite's limits are kept (20 collections, 100 features checked per page, paging
checked up to 10,000 matches)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server.db.collections import COLLECTIONS

pytestmark = pytest.mark.clients

OGC = "http://www.opengis.net/spec"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84H = "http://www.opengis.net/def/crs/OGC/0/CRS84h"
GEOJSON = "application/geo+json"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
FEATURES_LIMIT = 100  # OgcApiFeatures10.FEATURES_LIMIT
NUMBERMATCHED_LIMIT = 10_000  # OgcApiFeatures10.NUMBERMATCHED_LIMIT
IDS = sorted(COLLECTIONS)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon"}


@pytest.fixture(scope="module")
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def api(http: httpx.Client) -> dict[str, Any]:
    """What the suite reads first: the landing page, the API definition, the conformance
    declaration and the collections."""
    landing = http.get("/", headers={"Accept": "application/json"}).json()
    desc = _link(landing["links"], "service-desc")
    document = http.get(desc["href"], headers={"Accept": OAS30}).json()
    conformance = http.get(_link(landing["links"], "conformance")["href"],
                           headers={"Accept": "application/json"}).json()["conformsTo"]
    collections = http.get(_link(landing["links"], "data")["href"],
                           headers={"Accept": "application/json"}).json()
    return {"landing": landing, "document": document, "conformance": conformance,
            "collections": {c["id"]: c for c in collections["collections"]},
            "collections_doc": collections}


def _link(links: list[dict[str, Any]], rel: str, kind: str | None = None) -> dict[str, Any]:
    found = [link for link in links if link.get("rel") == rel
             and (kind is None or link.get("type", "").split(";")[0] == kind)]
    assert found, f"no link rel={rel} type={kind} in {[(x.get('rel'), x.get('type')) for x in links]}"
    return found[0]


def _with_rel_and_type(links: list[dict[str, Any]], rels: set[str]) -> None:
    missing = [link for link in links if link.get("rel") in rels and not link.get("type")]
    assert not missing, f"links without rel or type: {missing}"


def _alternates_cover(links: list[dict[str, Any]], self_type: str, types: set[str]) -> None:
    """A link to every other media type the server supports (relation: alternate)."""
    wanted = types - {self_type}
    have = {link.get("type", "").split(";")[0] for link in links if link.get("rel") == "alternate"}
    assert wanted <= have, f"no alternate link for {wanted - have}"


def _positions(coords: Any, depth: int) -> list[list[float]]:
    if depth == 0:
        assert isinstance(coords, list) and len(coords) in (2, 3), coords
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in coords)
        return [coords]
    assert isinstance(coords, list), coords
    return [p for c in coords for p in _positions(c, depth - 1)]


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
          "MultiPolygon": 3}


def _geometry(g: Any) -> list[list[float]]:
    """GeoJSON (RFC 7946) geometry schema; its positions."""
    if g is None:
        return []
    assert isinstance(g, dict) and g.get("type") in GEOMETRY_TYPES, g
    assert "crs" not in g  # RFC 7946 has no crs member
    positions = _positions(g["coordinates"], _DEPTH[g["type"]])
    if g["type"] in ("Polygon", "MultiPolygon"):
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for polygon in polygons:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1], "a linear ring is closed"
    return positions


def _feature(f: Any) -> list[list[float]]:
    """GeoJSON Feature schema (/conf/geojson/content: featureGeoJSON.yaml)."""
    assert isinstance(f, dict) and f.get("type") == "Feature", f
    assert "geometry" in f and "properties" in f
    assert f["properties"] is None or isinstance(f["properties"], dict)
    assert "id" not in f or isinstance(f["id"], (str, int))
    return _geometry(f["geometry"])


def _in_crs84(positions: list[list[float]]) -> None:
    """/req/core/crs84: coordinates are longitude, latitude in range."""
    for p in positions:
        assert -180 <= p[0] <= 180 and -90 <= p[1] <= 90, p


def _feature_collection(body: dict[str, Any]) -> list[list[float]]:
    """A.2.7 Abstract Test 22 (fc-response), 24 (timeStamp), 26 (numberReturned); the GeoJSON
    FeatureCollection schema (featureCollectionGeoJSON.yaml)."""
    assert body.get("type") == "FeatureCollection"
    assert isinstance(body.get("features"), list)
    if "timeStamp" in body:
        assert RFC3339.match(body["timeStamp"]), body["timeStamp"]
    if "numberReturned" in body:
        assert body["numberReturned"] == len(body["features"]) >= 0
    if "numberMatched" in body:
        assert isinstance(body["numberMatched"], int) and body["numberMatched"] >= 0
    positions: list[list[float]] = []
    for f in body["features"][:FEATURES_LIMIT]:
        positions += _feature(f)
    _in_crs84(positions)
    return positions


def _items_path(document: dict[str, Any], cid: str) -> dict[str, Any]:
    """The items operation of a collection (its own path when the document has one)."""
    paths = document["paths"]
    own = paths.get(f"/collections/{cid}/items") or paths["/collections/{collection_id}/items"]
    return own["get"]


def _parameter(op: dict[str, Any], name: str, document: dict[str, Any]) -> dict[str, Any]:
    for p in op.get("parameters", []):
        if "$ref" in p:
            p = document["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        if p.get("name") == name:
            return p
    raise AssertionError(f"no {name} parameter")


def _items(http: httpx.Client, cid: str, **params: Any) -> httpx.Response:
    return http.get(f"/collections/{cid}/items", params=params, headers={"Accept": GEOJSON})


# --- A.2.1 General, A.2.2 Landing page, A.2.3 API definition, A.2.4 Conformance -----------------

def test_abstract_test_1_http_1_1(http: httpx.Client) -> None:
    """GeneralHttp: /req/core/http."""
    assert http.get("/", headers={"Accept": "application/json"}).http_version == "HTTP/1.1"


def test_abstract_tests_3_4_landing_page(http: httpx.Client, api: dict[str, Any]) -> None:
    """LandingPage: /req/core/root-op, /req/core/root-success."""
    response = http.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    links = api["landing"]["links"]
    rels = {link["rel"] for link in links}
    assert ({"service-desc", "conformance", "data"} <= rels
            or {"service-doc", "conformance", "data"} <= rels), rels
    assert all(link.get("href") and link.get("rel") for link in links)
    _with_rel_and_type(links, rels)


def test_abstract_tests_5_6_api_definition(http: httpx.Client, api: dict[str, Any]) -> None:
    """ApiDefinition: /req/core/api-definition-op, -success; OpenAPI 3.0 /conf/oas30/
    oas-definition-1 (a service-desc of the OpenAPI 3.0 media type), oas-definition-2 (a valid
    OpenAPI 3.0 document)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

    desc = _link(api["landing"]["links"], "service-desc")
    assert desc["type"] == OAS30
    response = http.get(desc["href"], headers={"Accept": OAS30})
    assert response.status_code == 200
    document = response.json()
    assert str(document["openapi"]).startswith("3.0.")
    validate(document, cls=OpenAPIV30SpecValidator)
    doc = _link(api["landing"]["links"], "service-doc")
    assert http.get(doc["href"]).status_code == 200


def test_abstract_tests_7_8_conformance(http: httpx.Client, api: dict[str, Any]) -> None:
    """Conformance: /req/core/conformance-op, -success."""
    response = http.get("/conformance", headers={"Accept": "application/json"})
    assert response.status_code == 200
    classes = set(api["conformance"])
    for part in ("core", "geojson", "oas30"):
        assert f"{OGC}/ogcapi-features-1/1.0/conf/{part}" in classes
    for part in ("filter", "features-filter", "queryables", "queryables-query-parameters"):
        assert f"{OGC}/ogcapi-features-3/1.0/conf/{part}" in classes
    assert f"{OGC}/cql2/1.0/conf/cql2-text" in classes


# --- A.2.5 Feature collections, A.2.6 Feature collection --------------------------------------

def _extent(collection: dict[str, Any]) -> None:
    spatial = collection["extent"]["spatial"]
    assert spatial.get("crs", CRS84) in (CRS84, CRS84H)
    for box in spatial["bbox"]:
        assert len(box) in (4, 6) and all(isinstance(v, (int, float)) for v in box)
        half = len(box) // 2
        assert -180 <= box[0] <= 180 and -180 <= box[half] <= 180
        assert -90 <= box[1] <= box[half + 1] <= 90
    temporal = collection["extent"].get("temporal")
    if temporal:
        for interval in temporal["interval"]:
            assert len(interval) == 2
            for end in interval:
                assert end is None or RFC3339.match(end.replace("+00:00", "Z")), end


def test_abstract_tests_9_10_feature_collections(http: httpx.Client, api: dict[str, Any]) -> None:
    """FeatureCollections: /req/core/fc-md-op, /req/core/fc-md-success (test methods 1-4),
    /req/core/crs84."""
    response = http.get("/collections", headers={"Accept": "application/json"})
    assert response.status_code == 200
    doc = api["collections_doc"]
    links = doc["links"]
    self_link = _link(links, "self")
    assert self_link["type"]
    _alternates_cover(links, self_link["type"], {"application/json", "text/html"})
    _with_rel_and_type(links, {"self", "alternate"})
    if doc.get("crs") is not None:
        assert doc["crs"][0] in (CRS84, CRS84H)  # the default CRS first
    assert doc["collections"] and len(doc["collections"]) <= 20
    assert set(api["collections"]) == set(IDS)  # every collection is checked below
    for c in doc["collections"]:
        assert c["id"] and c.get("itemType", "feature") == "feature"
        _link(c["links"], "items", GEOJSON)
        _extent(c)
        if c.get("crs"):
            assert c["crs"][0] in (CRS84, CRS84H)


@pytest.mark.parametrize("cid", IDS)
def test_abstract_tests_11_12_feature_collection(http: httpx.Client, api: dict[str, Any],
                                                 cid: str) -> None:
    """FeatureCollection: /req/core/sfc-md-op, /req/core/sfc-md-success: the collection's own
    document says what its entry in /collections says."""
    response = http.get(f"/collections/{cid}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    own, listed = response.json(), api["collections"][cid]
    for key in ("id", "title", "description"):
        assert own.get(key) == listed.get(key), key
    assert own["extent"] == listed["extent"]
    _link(own["links"], "items", GEOJSON)
    self_link = _link(own["links"], "self")
    _alternates_cover(own["links"], self_link["type"], {"application/json", "text/html"})


# --- A.2.7 Features -------------------------------------------------------------------------

@pytest.mark.parametrize("cid", IDS)
def test_abstract_tests_13_22_to_26_features(http: httpx.Client, cid: str) -> None:
    """Features: /req/core/fc-op, fc-response (methods 1, 2, 4-7), fc-links, fc-rel-type,
    fc-timeStamp, fc-numberMatched, fc-numberReturned; GeoJSON /conf/geojson/content and
    definition (A.3: the media type and the FeatureCollection schema)."""
    response = _items(http, cid)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == GEOJSON
    body = response.json()
    _feature_collection(body)
    assert body["features"], f"{cid} has no feature in the sample"
    links = body["links"]
    self_link = _link(links, "self")
    assert self_link["type"] == GEOJSON
    _alternates_cover(links, GEOJSON, {GEOJSON, "text/html"})
    _with_rel_and_type(links, {"self", "alternate", "next", "prev", "collection"})
    nxt = [link for link in links if link["rel"] == "next"]
    if nxt:
        assert http.get(nxt[0]["href"], headers={"Accept": GEOJSON}).status_code == 200


@pytest.mark.parametrize("cid", IDS)
def test_abstract_test_25_number_matched_is_what_the_pages_hold(
        http: httpx.Client, api: dict[str, Any], cid: str) -> None:
    """FeaturesAssertions.assertNumberMatched: numberMatched equals the features of all the
    pages (next links followed at the limit's maximum), up to the suite's 10,000."""
    op = _items_path(api["document"], cid)
    maximum = _parameter(op, "limit", api["document"])["schema"]["maximum"]
    body = _items(http, cid).json()
    matched = body.get("numberMatched")
    if matched is None:
        pytest.skip(f"{cid}: no numberMatched on the first page (the suite skips it too)")
    if matched > NUMBERMATCHED_LIMIT:
        pytest.skip(f"{cid}: {matched} matches, over the suite's limit")
    total, page = 0, _items(http, cid, limit=maximum).json()
    for _ in range(100):
        total += len(page["features"])
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        page = http.get(nxt[0]["href"], headers={"Accept": GEOJSON}).json()
    assert total == matched


@pytest.mark.parametrize("cid", IDS)
def test_abstract_tests_14_16_18_parameter_definitions(api: dict[str, Any], cid: str) -> None:
    """FeaturesBBox, FeaturesLimit, FeaturesTime: /req/core/fc-bbox-definition,
    fc-limit-definition, fc-time-definition: how the API definition declares them."""
    document = api["document"]
    op = _items_path(document, cid)
    for name in ("bbox", "limit", "datetime"):
        p = _parameter(op, name, document)
        assert p["in"] == "query" and not p.get("required", False)
        assert p.get("style", "form") == "form" and p.get("explode") is False, p
    bbox = _parameter(op, "bbox", document)["schema"]
    assert bbox["type"] == "array" and bbox["minItems"] == 4 and bbox["maxItems"] == 6
    assert bbox["items"]["type"] == "number"
    limit = _parameter(op, "limit", document)["schema"]
    assert limit["type"] == "integer" and limit["minimum"] >= 0 and limit["default"] >= 0
    assert limit["minimum"] <= limit["default"] <= limit["maximum"]
    assert _parameter(op, "datetime", document)["schema"]["type"] == "string"


def _box_of(positions: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in positions], [p[1] for p in positions]
    return min(xs), min(ys), max(xs), max(ys)


def _intersects(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@pytest.mark.parametrize("cid", IDS)
def test_abstract_test_15_bbox_response(http: httpx.Client, api: dict[str, Any],
                                        cid: str) -> None:
    """FeaturesBBox: /req/core/fc-bbox-response: only features whose geometry intersects the
    bbox, for the collection's extent and for a box around one of its features."""
    extent = api["collections"][cid]["extent"]["spatial"]["bbox"][0]
    first = _items(http, cid, limit=1).json()["features"][0]
    x0, y0, x1, y1 = _box_of(_geometry(first["geometry"]))
    small = (round(x0 - 0.05, 6), round(y0 - 0.05, 6), round(x1 + 0.05, 6), round(y1 + 0.05, 6))
    for box in (tuple(extent[:4]), small):
        response = _items(http, cid, bbox=",".join(str(v) for v in box), limit=100)
        assert response.status_code == 200
        body = response.json()
        _feature_collection(body)
        assert body["features"]
        for f in body["features"]:
            assert _intersects(_box_of(_geometry(f["geometry"])), box), (f["id"], box)


@pytest.mark.parametrize("cid", IDS)
def test_abstract_test_17_limit_response(http: httpx.Client, cid: str) -> None:
    """FeaturesLimit: /req/core/fc-limit-response."""
    for limit in (1, 2, 7, 10_000):
        body = _items(http, cid, limit=limit).json()
        _feature_collection(body)
        assert 0 < len(body["features"]) <= limit


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("cid", IDS)
def test_abstract_test_19_datetime_response(http: httpx.Client, api: dict[str, Any],
                                            cid: str) -> None:
    """FeaturesTime: /req/core/fc-time-response: an instant, a bounded and half-bounded
    intervals; only features whose time is in them (collections without a time accept the
    parameter)."""
    temporal = api["collections"][cid]["extent"].get("temporal")
    column = COLLECTIONS[cid].time_column
    if not temporal or not column:
        assert _items(http, cid, datetime="2016-03-01T00:00:00Z/..").status_code == 200
        return
    start, end = (_time(v) for v in temporal["interval"][0])
    middle = start + (end - start) / 2
    mid = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
    for value, low, high in ((f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{mid}", start, middle),
                             (f"../{mid}", None, middle), (f"{mid}/..", middle, None)):
        body = _items(http, cid, datetime=value, limit=100).json()
        _feature_collection(body)
        assert body["features"], value
        for f in body["features"]:
            t = _time(f["properties"][column])
            assert (low is None or t >= low) and (high is None or t <= high), (value, t)
    instant = _items(http, cid, datetime=temporal["interval"][0][0].replace("+00:00", "Z"))
    assert instant.status_code == 200


@pytest.mark.parametrize("cid", IDS)
def test_abstract_tests_20_21_query_parameter_errors(http: httpx.Client, cid: str) -> None:
    """FeaturesErrorConditions: /req/core/query-param-invalid, /req/core/query-param-unknown:
    400 with an error body."""
    for params in ({"limit": "unknownValue"}, {"limit": -1}, {"bbox": "1,2,3"},
                   {"bbox": "a,b,c,d"}, {"datetime": "yesterday"},
                   {"unknownQueryParameter": "x"}):
        response = _items(http, cid, **params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["description"]


# --- A.2.8 Feature --------------------------------------------------------------------------

@pytest.mark.parametrize("cid", IDS)
def test_abstract_tests_27_28_29_feature(http: httpx.Client, cid: str) -> None:
    """Feature: /req/core/f-op, f-success, f-links; GeoJSON Feature schema and media type."""
    fid = _items(http, cid, limit=1).json()["features"][0]["id"]
    response = http.get(f"/collections/{cid}/items/{fid}", headers={"Accept": GEOJSON})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == GEOJSON
    body = response.json()
    _in_crs84(_feature(body))
    assert body["id"] == fid
    links = body["links"]
    assert _link(links, "self")["type"] == GEOJSON
    _alternates_cover(links, GEOJSON, {GEOJSON, "text/html"})
    _link(links, "collection")
    _with_rel_and_type(links, {"self", "alternate", "collection"})
    missing = http.get(f"/collections/{cid}/items/999999999", headers={"Accept": GEOJSON})
    assert missing.status_code == 404


# --- A.4 OpenAPI 3.0 ------------------------------------------------------------------------

def _template_for(document: dict[str, Any], path: str) -> str | None:
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if "get" in item and re.match(pattern, path):
            return template
    return None


@pytest.mark.parametrize("cid", IDS)
def test_oas30_implementation_serves_what_the_definition_declares(
        http: httpx.Client, api: dict[str, Any], cid: str) -> None:
    """/conf/oas30/oas-impl: every resource the API serves has its GET operation in the
    definition, which declares the media type answered; every GET path of a collection
    answers 200."""
    document = api["document"]
    fid = _items(http, cid, limit=1).json()["features"][0]["id"]
    for path, accept in (("/", "application/json"), ("/conformance", "application/json"),
                         ("/collections", "application/json"),
                         (f"/collections/{cid}", "application/json"),
                         (f"/collections/{cid}/items", GEOJSON),
                         (f"/collections/{cid}/items/{fid}", GEOJSON),
                         (f"/collections/{cid}/queryables", "application/schema+json")):
        template = _template_for(document, path)
        assert template, path
        response = http.get(path, headers={"Accept": accept})
        assert response.status_code == 200, path
        declared = document["paths"][template]["get"]["responses"]["200"].get("content", {})
        media = response.headers["content-type"].split(";")[0]
        assert not declared or media in declared, (path, media, list(declared))
    for template in ("/collections/{collection_id}/queryables",
                     "/collections/{collection_id}/tiles",
                     "/collections/{collection_id}/tiles.json"):
        if template in document["paths"]:
            assert http.get(template.replace("{collection_id}", cid)).status_code == 200


# --- Part 3: Filtering (19-079r2 Annex A) ----------------------------------------------------

def _queryables(http: httpx.Client, api: dict[str, Any], cid: str) -> dict[str, Any]:
    link = _link(api["collections"][cid]["links"], QUERYABLES)
    response = http.get(link["href"], headers={"Accept": "application/schema+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/schema+json"
    return response.json()


@pytest.mark.parametrize("cid", IDS)
def test_part3_queryables(http: httpx.Client, api: dict[str, Any], cid: str) -> None:
    """/conf/queryables/get-queryables-uris, get-queryables, get-queryables-schema: a link from
    the collection; a JSON Schema object with $schema (2019-09 or later) and $id, each property
    with a type, a format or a reference."""
    schema = _queryables(http, api, cid)
    assert schema["type"] == "object"
    assert re.search(r"json-schema\.org/draft/(2019-09|2020-12)/schema", schema["$schema"])
    link = _link(api["collections"][cid]["links"], QUERYABLES)
    assert urlsplit(schema["$id"]).path == urlsplit(link["href"]).path
    assert schema["properties"]
    for name, prop in schema["properties"].items():
        assert {"type", "format", "$ref", "enum"} & set(prop), name


def _scalar_samples(http: httpx.Client, api: dict[str, Any],
                    cid: str) -> list[tuple[str, str, Any]]:
    """(name, JSON type, a value one of the first features has) of each queryable of a string,
    integer or number type (not a time, an array or the geometry)."""
    schema = _queryables(http, api, cid)
    features = _items(http, cid, limit=200).json()["features"]
    out = []
    for name, prop in schema["properties"].items():
        kind = prop.get("type")
        if kind not in ("string", "integer", "number") or "format" in prop:
            continue
        values = [f["properties"].get(name) for f in features
                  if f["properties"].get(name) not in (None, "")]
        if values:
            out.append((name, kind, values[0]))
    return out


def _cql_literal(kind: str, value: Any) -> str:
    if kind == "string":
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


@pytest.mark.parametrize("cid", IDS)
def test_part3_queryables_as_query_parameters(http: httpx.Client, api: dict[str, Any],
                                              cid: str) -> None:
    """/conf/queryables-query-parameters/parameters: `name=value` for a queryable returns only
    features with that value."""
    samples = _scalar_samples(http, api, cid)
    assert samples
    for name, _, value in samples:
        body = _items(http, cid, **{name: value}, limit=50).json()
        assert body["features"], (name, value)
        assert {f["properties"][name] for f in body["features"]} == {value}, name


@pytest.mark.parametrize("cid", IDS)
def test_part3_filter_on_every_queryable(http: httpx.Client, api: dict[str, Any],
                                         cid: str) -> None:
    """/conf/filter/filter-param, filter-lang-default, response; /conf/features-filter/response:
    CQL2 text (the default language) and CQL2 JSON comparisons on each queryable return only
    the matching features; with bbox and limit too."""
    for name, kind, value in _scalar_samples(http, api, cid):
        text = f"{name} = {_cql_literal(kind, value)}"
        as_json = f'{{"op":"=","args":[{{"property":"{name}"}},{_json(value)}]}}'
        for params in ({"filter": text}, {"filter": text, "filter-lang": "cql2-text"},
                       {"filter": as_json, "filter-lang": "cql2-json"}):
            response = _items(http, cid, **params, limit=50)
            assert response.status_code == 200, (params, response.text)
            got = response.json()["features"]
            assert got and {f["properties"][name] for f in got} == {value}, params
        negated = _items(http, cid, filter=f"NOT ({text})", limit=50).json()["features"]
        assert all(f["properties"][name] != value for f in negated), name
        nulls = _items(http, cid, filter=f"{name} IS NULL", limit=20)
        assert nulls.status_code == 200
        assert all(f["properties"].get(name) is None for f in nulls.json()["features"])
    extent = api["collections"][cid]["extent"]["spatial"]["bbox"][0]
    box = ",".join(str(v) for v in extent[:4])
    spatial = _items(http, cid, filter=f"S_INTERSECTS(geom,BBOX({box}))",
                     **{"filter-crs": CRS84}, limit=5)
    assert spatial.status_code == 200 and spatial.json()["features"]


def _json(value: Any) -> str:
    return json.dumps(value)


@pytest.mark.parametrize("cid", IDS)
def test_part3_filter_errors(http: httpx.Client, api: dict[str, Any], cid: str) -> None:
    """/conf/filter/filter-param, filter-lang-param: an invalid filter, an unknown property and
    an unknown filter-lang are 400 with an error body."""
    for params in ({"filter": "this is not cql2 ((("},
                   {"filter": "no_such_property = 1"},
                   {"filter": "1 = 1", "filter-lang": "cql-unknown"},
                   {"filter": "{not json", "filter-lang": "cql2-json"}):
        response = _items(http, cid, **params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["description"]


@pytest.mark.parametrize("cid", IDS)
def test_part3_basic_cql2_comparisons_and_logic(http: httpx.Client, api: dict[str, Any],
                                                cid: str) -> None:
    """CQL2 Basic (21-065r2 /conf/basic-cql2): <, <=, >, >=, <>, AND, OR on each queryable of a
    number type, and on strings; every returned feature satisfies the filter."""
    checks: dict[str, Any] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<>": lambda a, b: a != b}
    samples = _scalar_samples(http, api, cid)
    for name, kind, value in samples:
        literal = _cql_literal(kind, value)
        for op, holds in checks.items():
            response = _items(http, cid, filter=f"{name} {op} {literal}", limit=100)
            assert response.status_code == 200, (name, op, response.text)
            for f in response.json()["features"]:
                got = f["properties"][name]
                assert got is not None and holds(got, value), (name, op, value, got)
        both = _items(http, cid, filter=f"{name} >= {literal} AND {name} <= {literal}",
                      limit=100).json()["features"]
        equal = _items(http, cid, filter=f"{name} = {literal}", limit=100).json()["features"]
        assert [f["id"] for f in both] == [f["id"] for f in equal]
        either = _items(http, cid, filter=f"{name} < {literal} OR {name} > {literal}",
                        limit=100).json()["features"]
        assert all(f["properties"][name] != value for f in either)
