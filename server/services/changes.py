"""Change feeds for partners (JSON, cursor = audit sequence number) and the Atom feed of newly
released incidents; both filtered by the caller's release rules, applied to each row as it was
and as it is now: a row the caller may no longer see is only a tombstone in the change feed and
absent from Atom. No SQL, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any
from xml.etree import ElementTree as ET

import orjson
from sqlalchemy.orm import Session

from server.db.collections import COLLECTIONS, Collection
from server.db.tables.audit import AUDITED_TABLES
from server.errors import NotFoundError
from server.queries import changes as q
from server.security.principal import Principal
from server.security.release import ReleasePolicy, release_for

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"


def feed_collection(collection_id: str) -> Collection:
    c = COLLECTIONS.get(collection_id)
    if c is None or c.table not in AUDITED_TABLES:
        feeds = sorted(k for k, v in COLLECTIONS.items() if v.table in AUDITED_TABLES)
        raise NotFoundError(f"no change feed for {collection_id!r}", collections=feeds)
    return c


def changes(collection_id: str, principal: Principal, policy: ReleasePolicy, *, since: int,
            limit: int, base_url: str, session: Session) -> bytes:
    c = feed_collection(collection_id)
    result = q.page(c, partial(release_for, principal, c.id, policy), since=since, limit=limit,
                    reads_history=principal.is_analyst, session=session)
    more = result.count == limit
    nxt = result.last_seq if more else max(since, result.head_seq or 0)
    head = {"collection": c.id, "since": str(since), "next": str(nxt), "more": more,
            "numberReturned": result.count,
            "links": [{"rel": "next", "type": "application/json",
                       "href": f"{base_url}?since={nxt}&limit={limit}"}]}
    tail = orjson.dumps(head)
    return b'{"changes":' + result.changes.encode() + b"," + tail[1:]


def atom(principal: Principal, policy: ReleasePolicy, *, limit: int, base_url: str,
         session: Session) -> bytes:
    """The newest releases (to this caller) of incidents, as Atom with GeoRSS points."""
    c = feed_collection("incidents")
    result = q.page(c, partial(release_for, principal, c.id, policy), since=0, limit=limit,
                    created_only=True, newest_first=True, session=session)
    entries: list[dict[str, Any]] = orjson.loads(result.changes)
    ET.register_namespace("", ATOM)
    ET.register_namespace("georss", GEORSS)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", "Truce: newly released incidents")
    _text(feed, "id", f"{base_url}/feeds/incidents.atom")
    updated = entries[0]["at"] if entries else datetime.now(UTC).isoformat()
    _text(feed, "updated", updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base_url}/feeds/incidents.atom")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Truce coordination centre")
    for change in entries:
        feature = change["feature"]
        props = feature["properties"]
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:truce:incidents:{feature['id']}:{change['seq']}")
        when = str(props.get("occurred_at") or "")[:10]
        where = props.get("location_name") or "unknown location"
        _text(entry, "title", f"{props.get('event_type')} at {where} ({when})")
        _text(entry, "updated", change["at"])
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="application/geo+json",
                      href=f"{base_url}/collections/incidents/items/{feature['id']}")
        summary = ", ".join(f"{k}: {v}" for k, v in props.items()
                            if v is not None and k in ("fatalities", "actor1", "actor2",
                                                       "verification_status",
                                                       "location_obfuscated", "time_bucket"))
        _text(entry, "summary", summary)
        lon, lat = feature["geometry"]["coordinates"][:2]
        ET.SubElement(entry, f"{{{GEORSS}}}point").text = f"{lat} {lon}"
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value
