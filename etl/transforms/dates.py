"""Dates as files write them: the day/month order of d/m/y values decided once per file and
column (from the values that can only be read one way, or `--date-order`), Arabic-Indic and
Persian digits, and dates of a year or a month (a period: its first and last instant).

Both load paths use these rules: the row-wise path decides from a first pass over the file
(etl.runner.date_orders) and checks.check_date reads each value in its order; the set-based
path decides from each date column's distinct values (etl.jobs.sql_load)."""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

ORDERS = ("dmy", "mdy", "ymd")
CONFLICT = "conflict"  # evidence both ways: the ambiguous values are quarantined
AUTO = "auto"  # the one reading a value allows (25/03 is day first); day first when both
UNSETTLED = ("no date shows its day/month order (every d/m/y value reads both ways): read as "
             "day first; give --date-order mdy if it is month first")

# Arabic-Indic (U+0660..U+0669) and Persian / extended (U+06F0..U+06F9) digits -> ASCII
_DIGITS = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)},
                         **{chr(0x06F0 + i): str(i) for i in range(10)},
                         "\u066b": ".", "\u060c": ","})
# a day and a month in some order, then a four-digit year: 03/04/2017, 3.4.2017, 03-04-2017
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_YEAR_MONTH = re.compile(r"^\s*(\d{4})[/.\-](\d{1,2})\s*$")
_MONTH_NAME_YEAR = ("%B %Y", "%b %Y")


def western(value: str) -> str:
    """`value` with Arabic-Indic and Persian digits (and the Arabic decimal and thousands
    separators) written as ASCII."""
    return value.translate(_DIGITS)


def day_month(value: str) -> tuple[int, int, int] | None:
    """(first number, second number, year) of a d/m/y or m/d/y value; None for another form."""
    found = _DAY_MONTH.match(western(value))
    if found is None:
        return None
    return int(found.group(1)), int(found.group(3)), int(found.group(4))


def evidence(values: Iterable[str]) -> set[str]:
    """The orders the values show: "dmy" for 25/03/2017, "mdy" for 03/25/2017."""
    seen: set[str] = set()
    for value in values:
        parts = day_month(value)
        if parts is None:
            continue
        first, second, _ = parts
        if first > 12 >= second:
            seen.add("dmy")
        elif second > 12 >= first:
            seen.add("mdy")
        if len(seen) == 2:
            break
    return seen


def decide(seen: set[str], forced: str | None = None) -> str:
    """A column's order: forced (--date-order), else what its values show; d/m/y when they
    show nothing (every value reads both ways), CONFLICT when they show both."""
    if forced:
        return forced
    if len(seen) == 2:
        return CONFLICT
    return next(iter(seen), "dmy")


def ambiguous(value: str) -> bool:
    """A d/m/y value that reads as two different dates (03/04/2017, not 03/03/2017)."""
    parts = day_month(value)
    return parts is not None and parts[0] != parts[1] and parts[0] <= 12 and parts[1] <= 12


def key(value: str) -> str:
    """The form a value is looked up by in a run's orders (etl.runner.date_orders)."""
    return western(value).strip()


def to_iso(value: str, order: str) -> str:
    """A d/m/y-shaped value as ISO (YYYY-MM-DD) read in `order` (AUTO: the reading it allows);
    a value that cannot be read in it (13 as a month, a year-last value in a ymd file) becomes
    text no date parser reads; other forms unchanged (with ASCII digits)."""
    parts = day_month(value)
    if parts is None:
        return western(value)
    first, second, year = parts
    if order in (AUTO, CONFLICT):
        order = "mdy" if second > 12 >= first else "dmy"
    if order == "ymd":
        return f"not y/m/d: {value}"
    day, month = (first, second) if order == "dmy" else (second, first)
    return f"{year:04d}-{month:02d}-{day:02d}"


def orders_of(columns: dict[str, list[str]], forced: str | None = None
              ) -> tuple[dict[str, str], list[str]]:
    """From each date column's distinct values: the order of every ambiguous value (CONFLICT:
    its column shows both orders, or two columns read it two ways) and the warnings; the
    other values take the one reading they allow."""
    by_value: dict[str, str] = {}
    warned: list[str] = []
    if forced:
        return by_value, warned
    for name, values in columns.items():
        seen = evidence(values)
        order = decide(seen)
        doubtful = [v for v in values if ambiguous(v)]
        if order == CONFLICT and doubtful:
            warned.append(f"column {name} has dates day first (25/03/2017) and month first "
                          f"(03/25/2017): its {len(doubtful)} dates that read both ways are "
                          "quarantined as ambiguous_date; give --date-order dmy|mdy")
        elif not seen and doubtful and UNSETTLED not in warned:
            warned.append(UNSETTLED)
        for v in doubtful:
            if by_value.setdefault(key(v), order) != order:
                by_value[key(v)] = CONFLICT
    return by_value, warned


def period(value: str) -> tuple[datetime, datetime, str] | None:
    """A year ("2017") or a month ("2017-03", "March 2017") as (first instant, last instant,
    "year" | "month") in UTC; None for any other value."""
    raw = western(value).strip()
    found = _YEAR.match(raw)
    if found is not None:
        year = int(found.group(1))
        if year < 1:
            return None
        start = datetime(year, 1, 1, tzinfo=UTC)
        return start, _last(datetime(year, 12, 31, tzinfo=UTC)), "year"
    found = _YEAR_MONTH.match(raw)
    month_start: datetime | None = None
    if found is not None:
        try:
            month_start = datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC)
        except ValueError:
            return None
    else:
        for fmt in _MONTH_NAME_YEAR:
            try:
                month_start = datetime.strptime(raw, fmt).replace(tzinfo=UTC)
                break
            except ValueError:
                continue
    if month_start is None:
        return None
    days = monthrange(month_start.year, month_start.month)[1]
    return month_start, _last(month_start.replace(day=days)), "month"


def _last(day: datetime) -> datetime:
    """The last instant of `day` (a timestamptz holds microseconds)."""
    return day + timedelta(days=1, microseconds=-1)


_whole = re.compile(r"(?<=\d)\.0*$")


def from_parts(year: str | None, month: str | None, day: str | None) -> str | None:
    """A date built from a mapping's year/month/day columns, as text the date rules read:
    2017-03-05, or 2017-03 / 2017 when the month or the day is missing (a lower precision);
    None without a year. A whole number written as a decimal (3.0: a spreadsheet's, a
    GeoPackage's REAL column) is that number; a part that is not a number is kept, so the
    date is unparseable."""
    parts = [_whole.sub("", western(p).strip()) if p is not None else ""
             for p in (year, month, day)]
    y, m, d = parts
    if not y:
        return None
    if not m:
        return y
    if not (y.isdecimal() and m.isdecimal() and (not d or d.isdecimal())):
        return "-".join(p for p in parts if p) + " (parts)"
    return f"{int(y):04d}-{int(m):02d}" + (f"-{int(d):02d}" if d else "")
