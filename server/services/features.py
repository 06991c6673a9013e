"""Orchestration for feature pages: collection look-up, parameter rules, links, counts,
versions; no SQL, no FastAPI."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.orm import Session

from server.db.async_reads import AsyncReadPool
from server.db.collections import COLLECTIONS, Collection
from server.errors import InvalidQueryError, NotFoundError
from server.params import (
    CRS84,
    SUPPORTED_CRS,
    bbox_area_km2,
    decode_cursor,
    encode_cursor,
    order_id,
    parse_bbox_crs,
    parse_crs,
    parse_datetime,
    parse_names,
    parse_sortby,
)
from server.queries import features as q
from server.queries import versions
from server.queries.versions import LayerVersion
from server.security.release import Release
from server.services import cql2
from server.settings import ApiSettings

RESERVED = {"bbox", "bbox-crs", "datetime", "limit", "offset", "f", "crs", "properties",
            "sortby", "filter", "filter-lang", "filter-crs", "skipGeometry", "token", "cursor",
            "resultType"}
#: `resultType=hits` (WFS 3 drafts; GDAL asks it to count a filtered layer) counts this far
HITS_CAP = 1_000_000
#: a layer of at most this many rows has its matches counted with each page (numberMatched)
COUNT_CAP = 10_000
#: a filtered page whose matches are under 1/SPARSE of the table sorts them (see ItemQuery)
SPARSE = 20
_PLAN_MIN_ROWS = 50_000  # smaller tables are cheap either way: no estimate


def collection(collection_id: str) -> Collection:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFoundError(f"no collection {collection_id!r}; see /collections",
                            collections=sorted(COLLECTIONS))
    return found


def integer_range(c: Collection, name: str) -> tuple[int, int]:
    """The values `c`'s integer column `name` can hold (integer or bigint)."""
    bits = 63 if name not in c.columns or name in c.bigint else 31
    return -(2 ** bits), 2 ** bits - 1


def _typed(c: Collection, name: str, raw: str) -> Any:
    kind = c.properties.get(name, "integer")
    try:
        if kind == "integer":
            value = int(raw)
            low, high = integer_range(c, name)
            if not low <= value <= high:
                raise InvalidQueryError(f"{name} must be between {low} and {high}")
            return value
        if kind == "number":
            return float(raw)
    except ValueError:
        raise InvalidQueryError(f"{name} must be a number, not {raw!r}") from None
    vocabulary = c.vocabularies.get(name)
    if vocabulary and raw not in vocabulary:
        raise InvalidQueryError(f"{name} must be one of {', '.join(vocabulary)}",
                                allowed=list(vocabulary))
    if kind == "datetime":
        start, end = parse_datetime(raw)
        if start is None or start != end:
            raise InvalidQueryError(f"{name} must be one RFC 3339 instant, e.g. "
                                    "2016-02-27T00:00:00Z (for a range, use datetime or filter)")
        return start
    return raw


def property_filters(c: Collection, params: dict[str, str]) -> dict[str, Any]:
    extra = {k: v for k, v in params.items() if k not in RESERVED}
    unknown = sorted(set(extra) - set(c.properties) - {c.id_column})
    if unknown:
        raise InvalidQueryError(
            f"unknown parameter(s) {', '.join(unknown)} for {c.id}",
            allowed=sorted(set(c.properties) | RESERVED))
    return {k: _typed(c, k, v) for k, v in extra.items()}


def _names(c: Collection, names: list[str], what: str, *, sortable: bool = False) -> None:
    allowed = {p for p, kind in c.properties.items() if not (sortable and kind == "array")}
    allowed.add(c.id_column)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidQueryError(f"unknown {what} name(s) {', '.join(unknown)} for {c.id}",
                                allowed=sorted(allowed))


#: an integer as a query string writes it (what pydantic reads as one, and `int()` too)
_INTEGER = re.compile(r"\s*[+-]?[0-9]+(_[0-9]+)*\s*")


def _integer(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise InvalidQueryError("limit and offset must be integers")
    return int(raw)


def item_query(c: Collection, params: dict[str, str], *, default_limit: int,
               max_limit: int) -> q.ItemQuery:
    """Every /items parameter checked and turned into an ItemQuery; bad ones are 400."""
    limit = _integer(params, "limit", default_limit)
    offset = _integer(params, "offset", 0)
    if limit < 1 or limit > max_limit:
        raise InvalidQueryError(f"limit must be between 1 and {max_limit} (default "
                                f"{default_limit})")
    if offset < 0:
        raise InvalidQueryError("offset must be 0 or more")
    crs = parse_crs(params.get("crs"))
    srid, flip, decimals = SUPPORTED_CRS[crs]
    bbox, bbox_srid = parse_bbox_crs(params.get("bbox"), parse_crs(params.get("bbox-crs")))
    start, end = parse_datetime(params.get("datetime"))
    sortby = parse_sortby(params.get("sortby"))
    _names(c, [n for n, _ in sortby], "sortby", sortable=True)
    props = parse_names(params.get("properties"))
    if props is not None:
        _names(c, props, "property")
        props = [p for p in dict.fromkeys(props) if p != c.id_column]  # each name once
    ast = None
    filter_srid = 4326
    if params.get("filter"):
        ast = cql2.parse(params["filter"], params.get("filter-lang"))
        filter_srid = SUPPORTED_CRS[parse_crs(params.get("filter-crs"))][0]
    elif params.get("filter-lang") and params["filter-lang"] not in cql2.FILTER_LANGS:
        raise InvalidQueryError("filter-lang must be cql2-text or cql2-json")
    query = q.ItemQuery(
        bbox=bbox, bbox_srid=bbox_srid, start=start, end=end,
        equals=property_filters(c, params), filter=ast, filter_srid=filter_srid,
        sortby=tuple(sortby), properties=tuple(props) if props is not None else None,
        srid=srid, flip=flip, decimals=decimals, limit=limit, offset=offset)
    if params.get("cursor"):
        if offset:
            raise InvalidQueryError("use cursor or offset, not both (next/prev links carry a "
                                    "cursor)")
        before, raw_key = decode_cursor(params["cursor"], _order(c, query))
        key = _cursor_key(c, query, raw_key)
        query = replace(query, after=None if before else key, before=key if before else None)
    return query


def _order(c: Collection, query: q.ItemQuery) -> str:
    return order_id((c.id, q.page_keys(c, query)))


def _cursor_key(c: Collection, query: q.ItemQuery, raw: list[Any]) -> tuple[Any, ...]:
    """The cursor's key values, each checked against its column's type (they are bound)."""
    keys = q.page_keys(c, query)
    bad = InvalidQueryError("cursor is not valid for this query; start again without it")
    if len(raw) != len(keys):
        raise bad
    out: list[Any] = []
    for (name, _), value in zip(keys, raw, strict=True):
        kind = "integer" if name == c.id_column else c.properties[name]
        if value is None and name != c.id_column:
            out.append(None)
        elif kind == "integer" and type(value) is int:
            out.append(value)
        elif kind == "number" and type(value) in (int, float):
            out.append(value)
        elif kind == "string" and isinstance(value, str):
            out.append(value)
        elif kind == "datetime" and isinstance(value, str):
            try:
                out.append(datetime.fromisoformat(value))
            except ValueError:
                raise bad from None
        else:
            raise bad
    return tuple(out)


def planned(c: Collection, query: q.ItemQuery, rel: Release, ver: LayerVersion, *,
            session: Session) -> q.ItemQuery:
    """A filtered page in id order either walks the id index until `limit` rows match (cheap
    when matches are common) or finds the matches by their filter's index and sorts them (cheap
    when they are few). The planner guesses the walk from the fraction alone and is very wrong
    when the matches sit together at one end of the ids (a place loaded in one batch): it then
    walks most of the index for a town's bbox. So ask it how many rows match (EXPLAIN, no rows
    read) and sort them when they are under 1/SPARSE of the table."""
    if (not query.filtered or len(q.page_keys(c, query)) > 1
            or ver.row_count < _PLAN_MIN_ROWS):
        return query
    if q.estimate(c, query, rel, session=session) * SPARSE < ver.row_count:
        return replace(query, sort_matches=True)
    return query

def check_export(c: Collection, query: q.ItemQuery, rel: Release, *, explicit_limit: bool,
                 api: ApiSettings, session: Session) -> None:
    """A download is not paged, so it is capped: its bbox area, and the features it matches
    (counted no further than the cap) unless `limit` asks for the first N. 400 names the cap."""
    cap_km2 = api.export_max_bbox_km2
    if query.bbox is not None and cap_km2 is not None:
        area = bbox_area_km2(query.bbox, query.bbox_srid)
        if area > cap_km2:
            raise InvalidQueryError(
                f"bbox covers {area:,.0f} km2; a download is capped at {cap_km2:,.0f} km2 "
                "(export_max_bbox_km2): narrow the bbox, or page the GeoJSON with next links",
                cap_km2=cap_km2, bbox_km2=round(area))
    cap = api.export_max_features
    if not explicit_limit and q.count_upto(c, query, cap + 1, rel, session=session) > cap:
        raise InvalidQueryError(
            f"this download matches more than {cap:,} features, the cap on one download "
            "(export_max_features): narrow it with bbox, datetime or filters, take the first N "
            "with limit=N, or page the GeoJSON with next links", cap=cap)


def version(c: Collection, *, session: Session) -> LayerVersion:
    return or_clock(c, versions.get(c.table, session=session))


def versions_of(cs: list[Collection], *, session: Session) -> list[LayerVersion]:
    """The versions of `cs`' layers, in their order, from one statement."""
    found = versions.get_many([c.table for c in cs], session=session)
    return [or_clock(c, found.get(c.table)) for c in cs]


def or_clock(c: Collection, found: LayerVersion | None) -> LayerVersion:
    """`found`, or for a database without the layer's version row a version by the clock."""
    if found is None:
        return LayerVersion(c.table, int(datetime.now(UTC).timestamp()), -1, datetime.now(UTC))
    return found


def _number_matched(query: q.ItemQuery, found: q.Page, ver: LayerVersion,
                    rel: Release) -> int | None:
    if not query.filtered and ver.row_count >= 0 and rel.unrestricted:
        return ver.row_count
    if found.matched is not None and (found.matched <= COUNT_CAP or found.returned == 0):
        return found.matched  # (a hits answer holds no features and counts further)
    first_pages = query.after is None and query.before is None
    if first_pages and not found.more and (found.returned > 0 or query.offset == 0):
        return query.offset + found.returned
    return None


def _paging_links(c: Collection, query: q.ItemQuery, found: q.Page, *, base_url: str,
                  params: dict[str, str]) -> list[dict[str, Any]]:
    """`next` and `prev` links with keyset cursors (the first/last row's page-order key), so a
    deep page costs what the first does; an `offset` request (older clients) gets them too."""
    order = _order(c, query)
    kept = {k: v for k, v in params.items() if k not in ("offset", "cursor")}
    links = []

    def link(rel: str, href_params: dict[str, str]) -> None:
        links.append({"rel": rel, "type": "application/geo+json",
                      "href": f"{base_url}?{urlencode(href_params)}"})

    backward = query.before is not None
    has_next = found.last is not None and (found.more if not backward else True)
    has_prev = found.first is not None and (
        found.more if backward else (query.after is not None or query.offset > 0))
    if has_next and found.last is not None:
        link("next", {**kept, "cursor": encode_cursor(order, found.last),
                      "limit": str(query.limit)})
    if has_prev and found.first is not None:
        link("prev", {**kept, "cursor": encode_cursor(order, found.first, before=True),
                      "limit": str(query.limit)})
    elif found.first is None and query.offset > 0:  # past the end of an offset request
        link("prev", {**kept, "offset": str(max(0, query.offset - query.limit)),
                      "limit": str(query.limit)})
    return links


def wants_hits(params: dict[str, str]) -> bool:
    """`resultType=hits`: the count alone; `results` (or nothing) the features; else 400."""
    kind = params.get("resultType")
    if kind not in (None, "results", "hits"):
        raise InvalidQueryError("resultType must be results or hits")
    return kind == "hits"


def hits(c: Collection, query: q.ItemQuery, rel: Release, *, base_url: str,
         params: dict[str, str], ver: LayerVersion,
         session: Session) -> tuple[tuple[bytes, bytes, bytes], int]:
    """An empty FeatureCollection with the selection's numberMatched (counted up to HITS_CAP:
    past it, left out), and the rows counted (what the rate limit charges)."""
    if not query.filtered and rel.unrestricted and ver.row_count >= 0:
        matched = ver.row_count
    else:
        matched = q.count_upto(c, query, HITS_CAP + 1, rel, session=session)
    found = q.Page(0, "", False, None, None, matched if matched <= HITS_CAP else None)
    parts = page_parts(c, replace(query, after=None, before=None, offset=0), rel, found,
                       base_url=base_url, params=params, ver=ver)
    return parts, min(matched, HITS_CAP)


def items_page(c: Collection, query: q.ItemQuery, rel: Release, *, base_url: str,
               params: dict[str, str], ver: LayerVersion,
               session: Session) -> tuple[bytes, bytes, bytes]:
    """The FeatureCollection of `query`'s page (see `page_parts`)."""
    return counted_page(c, query, rel, base_url=base_url, params=params, ver=ver,
                        session=session)[0]


def counted_page(c: Collection, query: q.ItemQuery, rel: Release, *, base_url: str,
                 params: dict[str, str], ver: LayerVersion,
                 session: Session) -> tuple[tuple[bytes, bytes, bytes], int]:
    """`items_page` and how many features it holds (what the rate limit charges). A small
    layer's page counts its matches in the same statement (numberMatched)."""
    small = 0 <= ver.row_count <= COUNT_CAP and not (rel.unrestricted and not query.filtered)
    found = q.page(c, query, rel, session=session, count_cap=COUNT_CAP if small else None)
    estimate = None
    if query.filtered and _number_matched(query, found, ver, rel) is None:
        # counting a large layer's matches would cost more than the page: the planner's
        # estimate (EXPLAIN, no rows read) says how many, roughly
        estimate = round(q.estimate(c, query, rel, session=session))
    return (page_parts(c, query, rel, found, base_url=base_url, params=params, ver=ver,
                       estimate=estimate), found.returned)


async def items_page_with_key_async(c: Collection, query: q.ItemQuery, rel: Release,
                                   key_id: str | None, *, reads: AsyncReadPool
                                   ) -> tuple[LayerVersion, dict[str, Any] | None, q.Page]:
    """An unfiltered page, the layer's version and `key_id`'s row in one statement on the event
    loop, no worker thread (see `q.page_with_meta_async`: the caller checks the key row before
    output)."""
    # an unrestricted page takes the layer's row count (see _number_matched): no count
    ver, key, found = await q.page_with_meta_async(
        c, query, rel, key_id, reads=reads, count_cap=-1 if rel.unrestricted else COUNT_CAP)
    return or_clock(c, ver), key, found


def page_parts(c: Collection, query: q.ItemQuery, rel: Release, found: q.Page, *, base_url: str,
               params: dict[str, str], ver: LayerVersion,
               estimate: int | None = None) -> tuple[bytes, bytes, bytes]:
    """The FeatureCollection's bytes in three parts (head, the features, tail with counts and
    links): a caller compresses them one after the other or joins them, one copy of the page
    either way (copying a large page is not free)."""
    returned, body = found.returned, found.body
    matched = _number_matched(query, found, ver, rel)
    self_url = f"{base_url}?{urlencode(params)}" if params else base_url
    links: list[dict[str, Any]] = [
        {"rel": "self", "type": "application/geo+json", "href": self_url},
        {"rel": "collection", "type": "application/json", "href": base_url.rsplit("/", 1)[0]},
    ]
    for fmt, media in (("html", "text/html"), ("csv", "text/csv"),
                       ("gpkg", "application/geopackage+sqlite3"),
                       ("fgb", "application/flatgeobuf")):
        alt = {**params, "f": fmt}
        links.append({"rel": "alternate", "type": media, "href": f"{base_url}?{urlencode(alt)}"})
    links += _paging_links(c, query, found, base_url=base_url, params=params)
    tail: dict[str, Any] = {"numberReturned": returned}
    if matched is not None:
        tail["numberMatched"] = matched
    elif estimate is not None:
        tail["numberMatchedEstimate"] = estimate  # not a count: the planner's estimate
    tail["timeStamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tail["links"] = links
    return (b'{"type":"FeatureCollection","features":[', body.encode(),
            b"]," + orjson.dumps(tail)[1:])


_LINK_HEADER_RELS = ("self", "next", "prev", "alternate", "collection")


def link_header(tail: bytes) -> str:
    """The `Link` header (RFC 8288) of a page from its tail (`page_parts`' third part): the
    self, next, prev, alternate and collection links its body carries."""
    links = orjson.loads(b"{" + tail[2:])["links"]
    return ", ".join(f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"'
                     for link in links if link["rel"] in _LINK_HEADER_RELS)


def feature_id_of(c: Collection, feature_id: str) -> int:
    if not feature_id.isdecimal() or len(feature_id) > 18:
        raise NotFoundError(f"no feature {feature_id!r} in {c.id}: ids are integers")
    return int(feature_id)


def item(c: Collection, feature_id: str, query: q.ItemQuery, rel: Release, *, base_url: str,
         session: Session) -> tuple[LayerVersion, bytes]:
    """The layer's version (for the ETag) and the Feature's bytes, from one statement. A row
    not released to the caller is a 404 exactly like a missing one (existence does not leak)."""
    fid = feature_id_of(c, feature_id)
    ver, _, found = item_with_key(c, fid, query, rel, session=session)
    return ver, item_body(c, fid, found, base_url=base_url)


def item_with_key(c: Collection, feature_id: int, query: q.ItemQuery, rel: Release, *,
                  key_id: str | None = None,
                  session: Session) -> tuple[LayerVersion, dict[str, Any] | None, str | None]:
    """The layer's version (for the ETag), `key_id`'s row when given (see
    `q.get_with_version`: the caller checks it before output) and the feature as `rel` releases
    it (None: missing or not released), from one statement."""
    ver, key, found = q.get_with_version(c, feature_id, rel, query, key_id=key_id,
                                         session=session)
    return or_clock(c, ver), key, found


async def item_with_key_async(c: Collection, feature_id: int, query: q.ItemQuery, rel: Release,
                              *, key_id: str | None = None, reads: AsyncReadPool
                              ) -> tuple[LayerVersion, dict[str, Any] | None, str | None]:
    """`item_with_key` on the event loop (no worker thread)."""
    ver, key, found = await q.get_with_version_async(c, feature_id, rel, query, key_id=key_id,
                                                     reads=reads)
    return or_clock(c, ver), key, found


def item_body(c: Collection, feature_id: int, found: str | None, *, base_url: str) -> bytes:
    """The Feature's bytes with its links. A row not released to the caller is a 404 exactly
    like a missing one (existence does not leak)."""
    if found is None:
        raise NotFoundError(f"no feature {feature_id} in {c.id}")
    href = f"{base_url}/collections/{c.id}"
    links = [{"rel": "self", "type": "application/geo+json", "href": f"{href}/items/{feature_id}"},
             {"rel": "alternate", "type": "text/html",
              "href": f"{href}/items/{feature_id}?f=html"},
             {"rel": "collection", "type": "application/json", "href": href},
             {"rel": "version-history", "type": "application/json",
              "href": f"{href}/items/{feature_id}/history"}]
    if c.id == "incidents":  # reports of the same event by other sources (release rules apply there)
        links.append({"rel": "related", "type": "application/json", "title": "cross-source duplicates",
                      "href": f"{base_url}/analysis/duplicates?incident_id={feature_id}"})
    return found[:-1].encode() + b',"links":' + orjson.dumps(links) + b"}"


class Extents:
    """The extents of what each caller class may see of each collection, kept per layer
    version: (collection id, release cache key) -> (layer version, extent). One per app
    (`create_app`); bounded: one entry per collection for read-all roles and public, one per
    partner organisation."""

    MAX = 1024

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, c: Collection, rel: Release, key: str, *,
            session: Session) -> dict[str, Any]:
        """The extent of what `rel` releases of `c`, cached per layer version and release key
        (`security.release.cache_key`): one aggregate per layer change and caller class."""
        key = "all" if rel.unrestricted else key
        ver = version(c, session=session).version
        with self._lock:
            cached = self._kept.get((c.id, key))
        if cached and cached[0] == ver:
            return cached[1]
        ext = q.extent(c, rel, session=session)
        with self._lock:
            if len(self._kept) >= self.MAX:
                self._kept.clear()
            self._kept[(c.id, key)] = (ver, ext)
        return ext


def describe(c: Collection, rel: Release, key: str, *, base_url: str, extents: Extents,
             session: Session) -> dict[str, Any]:
    """A collection's metadata; its extents cover only what `rel` releases to the caller."""
    ext = extents.get(c, rel, key, session=session)
    temporal = None
    if c.time_column:
        temporal = {"interval": [[ext["start"].isoformat() if ext["start"] else None,
                                  ext["end"].isoformat() if ext["end"] else None]],
                    "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    href = f"{base_url}/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [ext["bbox"] or [-180, -90, 180, 90]], "crs": CRS84},
                   **({"temporal": temporal} if temporal else {})},
        "crs": list(SUPPORTED_CRS),
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "alternate", "type": "text/html", "href": f"{href}?f=html"},
            {"rel": "items", "type": "application/geo+json", "href": f"{href}/items"},
            {"rel": "items", "type": "text/csv", "href": f"{href}/items?f=csv"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "href": f"{href}/queryables"},
            {"rel": "describedby", "type": "application/schema+json", "href": f"{href}/schema",
             "title": "the features' JSON Schema (OGC API - Features Part 5)"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/schema",
             "type": "application/schema+json", "href": f"{href}/schema"},
            # GDAL 3.6 looks for exactly this spelling, and reads the GeoJSON encoding
            {"rel": "describedBy", "type": "application/schema+json",
             "href": f"{href}/schema?profile=geojson",
             "title": "the features' GeoJSON encoding (JSON Schema)"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "href": f"{href}/tiles"},
        ],
    }


_SCHEMA: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "datetime": {"type": "string", "format": "date-time"},
    "array": {"type": "array", "items": {"type": "string"}},
}
_GEOMETRY_SCHEMA: dict[str, str] = {
    "Point": "https://geojson.org/schema/Point.json",
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
}


#: constant properties a release adds (see security.release): what was obfuscated
_NOTES: dict[str, dict[str, Any]] = {
    "location_obfuscated": {"type": "string", "description": "how the point was obfuscated "
                            "for this key (absent when it is exact)"},
    "time_bucket": {"type": "string", "enum": ["hour", "day", "week", "month"],
                    "description": "the bucket times were rounded down to for this key"},
}


def property_schema(c: Collection, name: str) -> dict[str, Any]:
    """The JSON Schema of one property: its type, format and vocabulary (the same in the
    queryables, the schema and every export)."""
    out: dict[str, Any] = {"title": name.replace("_", " "), **_SCHEMA[c.properties[name]]}
    if out["type"] == "integer":
        out["minimum"], out["maximum"] = integer_range(c, name)
    vocabulary = c.vocabularies.get(name)
    if vocabulary:
        out["enum"] = list(vocabulary)
    return out


def output_properties(c: Collection, rel: Release) -> dict[str, dict[str, Any]]:
    """Every property a feature of `c` holds for `rel`, in output order, with its schema."""
    props = {name: property_schema(c, name) for name in c.properties if name not in rel.hidden}
    for name in sorted(rel.notes):
        props[name] = {"title": name.replace("_", " "), **_NOTES.get(name, {"type": "string"})}
    return props


_GEOMETRY_INLINE: dict[str, dict[str, Any]] = {
    "Point": {"type": "object", "required": ["type", "coordinates"],
              "properties": {"type": {"type": "string", "enum": ["Point"]},
                             "coordinates": {"type": "array", "items": {"type": "number"},
                                             "minItems": 2}}},
    "MultiPolygon": {"type": "object", "required": ["type", "coordinates"],
                     "properties": {"type": {"type": "string", "enum": ["MultiPolygon"]},
                                    "coordinates": {"type": "array"}}},
}


def schema(c: Collection, rel: Release, *, base_url: str, profile: str | None) -> dict[str, Any]:
    """The JSON Schema of `c`'s features as `rel` releases them. By default in the style of
    OGC API - Features Part 5 (the feature's properties side by side, the geometry and the id
    marked with `x-ogc-role`); `profile=geojson` describes the GeoJSON encoding instead (the
    properties nested under `properties`), which is what GDAL reads from a `describedBy` link
    to type its fields."""
    href = f"{base_url}/collections/{c.id}/schema"
    props = output_properties(c, rel)
    if c.time_column and c.time_column in props:
        props[c.time_column] = {**props[c.time_column], "x-ogc-role": "primary-instant"}
    geometry = {"title": "geometry", "format": f"geometry-{c.geometry_type.lower()}",
                **_GEOMETRY_INLINE[c.geometry_type]}
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "title": c.title, "description": c.description}
    if profile == "geojson":
        return {**head, "$id": f"{href}?profile=geojson",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"type": "integer"},
                    "geometry": geometry,
                    "properties": {"type": "object", "properties": props},
                    "links": {"type": "array", "items": {"type": "object"}},
                }}
    if profile not in (None, "part5"):
        raise InvalidQueryError(f"unknown schema profile {profile!r}",
                                profiles=["part5", "geojson"])
    return {**head, "$id": href,
            "properties": {c.id_column: {"title": "feature id", "type": "integer",
                                         "x-ogc-role": "id"},
                           "geometry": {**geometry, "x-ogc-role": "primary-geometry"},
                           **props}}


def queryables(c: Collection, *, base_url: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "geom": {"title": "geometry", "format": f"geometry-{c.geometry_type.lower()}",
                 "$ref": _GEOMETRY_SCHEMA.get(c.geometry_type,
                                              "https://geojson.org/schema/Geometry.json")},
        c.id_column: {"title": "feature id", "type": "integer"},
    }
    for name in c.properties:
        props[name] = property_schema(c, name)
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base_url}/collections/{c.id}/queryables",
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }
