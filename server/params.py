"""Parsing of the common query parameters (bbox, datetime, limit, paging cursors); errors say
what is wrong."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BeforeValidator, WithJsonSchema

from server.errors import InvalidQueryError

# --- what the OpenAPI document declares is what is enforced -----------------------------------

#: an RFC 3339 instant; minutes, seconds, the fraction and the offset may be left out (no
#: offset: UTC), and a date alone is the whole day (bare digits, e.g. `0.5` or `20160227`, are
#: not instants). GDAL writes a date as `2016-03-01T` and an hour as `2016-03-01T10Z`.
INSTANT = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T([0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
           r"(Z|[+-][0-9]{2}:[0-9]{2})?)?)?")
#: an instant, or an interval `a/b` with `..` (or nothing) for an open end
DATETIME_PATTERN = rf"^(({INSTANT}|\.\.)(/({INSTANT}|\.\.)?)?)?$"
_NUMBER = r" *[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? *"
#: 4 numbers (or 6, a 3D bbox whose heights are ignored), comma-separated
BBOX_PATTERN = rf"^({_NUMBER}(,{_NUMBER}){{3}}(,{_NUMBER},{_NUMBER})?)?$"
#: the `json_schema_extra` of the parameters read by `parse_datetime` and `parse_bbox`
DATETIME: dict[str, Any] = {"pattern": DATETIME_PATTERN}
BBOX: dict[str, Any] = {"pattern": BBOX_PATTERN}
_INSTANT_RE = re.compile(rf"^{INSTANT}$")
_BBOX_RE = re.compile(BBOX_PATTERN)


def _rfc3339(value: object) -> object:
    """Before pydantic reads a date-time: only RFC 3339 text (pydantic alone would read a number,
    or a string of one, as seconds since 1970)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT_RE.fullmatch(value):
        raise ValueError("not an RFC 3339 date-time (e.g. 2016-02-27T00:00:00Z)")
    return value


#: a date-time parameter or field: `format: date-time` in the OpenAPI document, and enforced
DateTime = Annotated[datetime, BeforeValidator(_rfc3339), WithJsonSchema(
    {"type": "string", "format": "date-time", "pattern": f"^{INSTANT}$"})]


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6) or not _BBOX_RE.fullmatch(raw):
        raise InvalidQueryError("bbox must be minx,miny,maxx,maxy (4 numbers, lon/lat)")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InvalidQueryError(f"bbox has a value that is not a number: {raw!r}") from None
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InvalidQueryError("bbox longitudes must be within -180..180")
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidQueryError("bbox latitudes must be within -90..90")
    if minx > maxx or miny > maxy:
        raise InvalidQueryError("bbox must be minx,miny,maxx,maxy with minx <= maxx, miny <= maxy")
    return minx, miny, maxx, maxy


def _instant(raw: str) -> datetime | None:
    if raw in ("..", ""):
        return None
    raw = raw.removesuffix("T")  # GDAL's date: 2016-03-01T
    if not _INSTANT_RE.fullmatch(raw):
        raise InvalidQueryError(f"datetime {raw!r} is not RFC 3339 (e.g. 2016-02-27T00:00:00Z)")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQueryError(
            f"datetime {raw!r} is not RFC 3339 (e.g. 2016-02-27T00:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(raw: str | None) -> tuple[datetime | None, datetime | None]:
    """An instant, a closed interval `a/b`, or a half-open one `../b`, `a/..`."""
    if raw is None or raw == "":
        return None, None
    if "/" in raw:
        first, _, second = raw.partition("/")
        start, end = _instant(first), _instant(second)
        if start and end and start > end:
            raise InvalidQueryError("datetime interval ends before it starts")
        return start, end
    instant = _instant(raw)
    if instant is None:
        raise InvalidQueryError("datetime '..' alone is not an instant")
    if len(raw.removesuffix("T")) == 10:  # a date: the whole day
        return instant, instant.replace(hour=23, minute=59, second=59)
    return instant, instant


# --- CRS (OGC API - Features Part 2) ---------------------------------------------------------

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


# uri -> (srid, axis order is lat/lon, decimals: 7 for degrees (~1 cm), 2 for metres)
SUPPORTED_CRS: dict[str, tuple[int, bool, int]] = {
    CRS84: (4326, False, 7),
    epsg_uri(4326): (4326, True, 7),
    epsg_uri(3857): (3857, False, 2),
    epsg_uri(32636): (32636, False, 2),
    epsg_uri(32637): (32637, False, 2),
    epsg_uri(32638): (32638, False, 2),
}


def parse_crs(raw: str | None) -> str:
    """The canonical URI of a supported CRS (accepts the URI, `EPSG:n`, `CRS84`, `[EPSG:n]`)."""
    if raw is None or raw == "":
        return CRS84
    value = raw.strip().strip("[]")
    upper = value.upper()
    if upper in ("CRS84", "OGC:CRS84"):
        return CRS84
    if upper.startswith("EPSG:") and upper[5:].isdecimal():
        value = epsg_uri(int(upper[5:]))
    value = value.replace("https://", "http://")
    if value not in SUPPORTED_CRS:
        raise InvalidQueryError(f"unsupported crs {raw!r}", supported=list(SUPPORTED_CRS))
    return value


def parse_bbox_crs(raw: str | None, crs: str) -> tuple[tuple[float, float, float, float] | None, int]:
    """A bbox in `crs`, returned as (minx, miny, maxx, maxy) in that CRS's x/y order plus its
    SRID; geographic bounds are checked, EPSG:4326 is read in its lat/lon axis order."""
    if raw is None or raw == "":
        return None, 4326
    srid, latlon, _ = SUPPORTED_CRS[crs]
    if srid == 4326:
        if latlon:
            parts = raw.split(",")
            if len(parts) == 4:
                raw = ",".join((parts[1], parts[0], parts[3], parts[2]))
        return parse_bbox(raw), 4326
    parts = raw.split(",")
    if len(parts) != 4 or not _BBOX_RE.fullmatch(raw):
        raise InvalidQueryError("bbox must be minx,miny,maxx,maxy (4 numbers)")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidQueryError(f"bbox has a value that is not a number: {raw!r}") from None
    if minx > maxx or miny > maxy:
        raise InvalidQueryError("bbox must be minx,miny,maxx,maxy with minx <= maxx, miny <= maxy")
    return (minx, miny, maxx, maxy), srid


def bbox_area_km2(bbox: tuple[float, float, float, float], srid: int) -> float:
    """The area a bbox covers: on the sphere for lon/lat, plane x*y for projected CRSs (UTM
    is metres; Web Mercator overstates areas away from the equator, so it errs on the safe side)."""
    minx, miny, maxx, maxy = bbox
    if srid == 4326:
        radius = 6371.0088
        return (radius ** 2 * math.radians(maxx - minx)
                * abs(math.sin(math.radians(maxy)) - math.sin(math.radians(miny))))
    return (maxx - minx) * (maxy - miny) / 1e6


# --- sortby and properties (names are checked against the collection later) -------------------


def parse_sortby(raw: str | None) -> list[tuple[str, bool]]:
    """`-occurred_at,+fatalities,id` -> [(name, descending)]."""
    if raw is None or raw.strip() == "":
        return []
    out: list[tuple[str, bool]] = []
    for part in raw.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-").strip()
        if " " in name:  # `name DESC` / `name ASC` (some clients)
            name, _, direction = name.partition(" ")
            descending = direction.strip().upper() == "DESC"
        if not name:
            raise InvalidQueryError("sortby has an empty name")
        out.append((name, descending))
    return out


def parse_names(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    return [n.strip() for n in raw.split(",") if n.strip()]


# --- keyset paging cursors -----------------------------------------------------------------------

_CURSOR_TAG = b"truce-cursor-v1"


def _digest(order: str, payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_CURSOR_TAG, person=order.encode()[:16].ljust(16, b"-"),
                           digest_size=6).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def order_id(order: Any) -> str:
    """A short name of a page order (collection and sort keys): a cursor is valid only for it."""
    return hashlib.blake2b(repr(order).encode(), digest_size=8).hexdigest()


def encode_cursor(order: str, key: list[Any], *, before: bool = False) -> str:
    """An opaque cursor: the page-order key of a row, whether the page goes after or before it,
    and a check digest tied to the order (`order_id`)."""
    payload = orjson.dumps(["b" if before else "a", key])
    return f"{_b64(payload)}.{_b64(_digest(order, payload))}"


def decode_cursor(raw: str, order: str) -> tuple[bool, list[Any]]:
    """(before, key) from a cursor made by `encode_cursor` for the same order; 400 otherwise."""
    bad = InvalidQueryError("cursor is not valid for this query (it comes from a next/prev link "
                            "of the same collection and sortby); start again without it")
    body, _, digest = raw.partition(".")
    try:
        payload, mac = _unb64(body), _unb64(digest)
    except (binascii.Error, ValueError):
        raise bad from None
    if len(mac) != 6 or mac != _digest(order, payload):
        raise bad
    try:
        direction, key = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise bad from None
    if direction not in ("a", "b") or not isinstance(key, list):
        raise bad
    return direction == "b", key
