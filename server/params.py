"""Parsing of the common query parameters (bbox, datetime, limit); errors say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

from server.errors import InvalidQueryError


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
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
    if len(raw) == 10:  # a date: the whole day
        return instant, instant.replace(hour=23, minute=59, second=59)
    return instant, instant
