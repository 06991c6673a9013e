"""Orchestration for feature pages: collection look-up, filters, links; no SQL, no FastAPI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS, Collection
from server.errors import InvalidQueryError, NotFoundError
from server.queries import features as q

RESERVED = {"bbox", "bbox-crs", "datetime", "limit", "offset", "f", "crs", "properties",
            "sortby", "filter", "filter-lang", "filter-crs"}


def collection(collection_id: str) -> Collection:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFoundError(f"no collection {collection_id!r}; see /collections",
                            collections=sorted(COLLECTIONS))
    return found


def property_filters(c: Collection, params: dict[str, str]) -> dict[str, str]:
    extra = {k: v for k, v in params.items() if k not in RESERVED}
    unknown = sorted(set(extra) - set(c.properties))
    if unknown:
        raise InvalidQueryError(
            f"unknown parameter(s) {', '.join(unknown)} for {c.id}",
            allowed=sorted(set(c.properties) | RESERVED))
    return extra


def items_page(c: Collection, query: q.ItemQuery, *, base_url: str, params: dict[str, str],
               session: Session) -> bytes:
    returned, body = q.list_page(c, query, session=session)
    self_url = f"{base_url}?{urlencode(params)}" if params else base_url
    links: list[dict[str, Any]] = [
        {"rel": "self", "type": "application/geo+json", "href": self_url},
        {"rel": "collection", "type": "application/json", "href": base_url.rsplit("/", 1)[0]},
    ]
    if returned == query.limit:
        nxt = {**params, "offset": str(query.offset + query.limit), "limit": str(query.limit)}
        links.append({"rel": "next", "type": "application/geo+json",
                      "href": f"{base_url}?{urlencode(nxt)}"})
    if query.offset > 0:
        prev = {**params, "offset": str(max(0, query.offset - query.limit)),
                "limit": str(query.limit)}
        links.append({"rel": "prev", "type": "application/geo+json",
                      "href": f"{base_url}?{urlencode(prev)}"})
    tail = orjson.dumps({"numberReturned": returned, "links": links})
    return b'{"type":"FeatureCollection","features":[' + body.encode() + b"]," + tail[1:]


def item(c: Collection, feature_id: str, *, session: Session) -> bytes:
    if not feature_id.isdigit():
        raise NotFoundError(f"no feature {feature_id!r} in {c.id}: ids are integers")
    found = q.get(c, int(feature_id), session=session)
    if found is None:
        raise NotFoundError(f"no feature {feature_id} in {c.id}")
    return found.encode()


def describe(c: Collection, *, base_url: str, session: Session) -> dict[str, Any]:
    ext = q.extent(c, session=session)
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
        "extent": {"spatial": {"bbox": [ext["bbox"] or [-180, -90, 180, 90]],
                               "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
                   **({"temporal": temporal} if temporal else {})},
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "items", "type": "application/geo+json", "href": f"{href}/items"},
        ],
    }
