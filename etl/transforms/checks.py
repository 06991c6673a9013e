"""Pure validation helpers shared by the transforms. Each failure is a reason code."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import shapely

from etl.gazetteer import INVISIBLE, Gazetteer
from etl.records import Context

from . import dates

# Reason codes (stable: analysts filter the quarantine by them).
MISSING_ID = "missing_source_id"
MISSING_COORDS = "missing_coordinates"
BAD_COORDS = "unparseable_coordinates"
OUT_OF_RANGE = "coordinates_out_of_range"
OUTSIDE_AOI = "outside_area_of_interest"
AMBIGUOUS_COORDS = "ambiguous_coordinates"
BAD_DATE = "unparseable_date"
FUTURE_DATE = "date_in_future"
MISSING_DATE = "missing_date"
NEGATIVE_COUNT = "negative_count"
BAD_NUMBER = "unparseable_number"
NUMBER_OUT_OF_RANGE = "out_of_range"
INCONSISTENT_DATES = "inconsistent_dates"
BAD_VOCAB = "unknown_vocabulary_value"
MISSING_GEOMETRY = "missing_geometry"
MISSING_FIELD = "missing_required_field"
WRONG_COLUMNS = "wrong_column_count"
INVALID_GEOMETRY = "invalid_geometry"
NOT_A_POINT = "not_a_point"
NOT_AN_AREA = "not_an_area"
UNREADABLE_FEATURE = "unreadable_feature"
FIELD_TOO_LONG = "field_too_long"
INCONSISTENT_FATALITIES = "inconsistent_fatalities"
TRUNCATED_RECORD = "truncated_record"
AMBIGUOUS_DATE = "ambiguous_date"

UNKNOWN_PLACE = "unknown_place_name"
AMBIGUOUS_PLACE = "ambiguous_place_name"
UNKNOWN_PCODE = "unknown_pcode"

SWAPPED_REPAIR = "swapped_lat_lon_repaired"
GEOCODED = "geocoded_from_gazetteer"
#: an accepted row's flag: outside the area of interest, loaded with --allow-outside
OUTSIDE_ALLOWED = "outside_area_of_interest_allowed"

#: The longest id taken (ids are indexed: PostgreSQL's index entries hold ~2,700 bytes).
MAX_ID_LENGTH = 256
#: The largest count an integer column holds (PostgreSQL's integer).
MAX_COUNT = 2**31 - 1
#: The largest aid quantity taken as written (more is a typo or an overflow, not a delivery).
MAX_QUANTITY = 1e12

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %B %Y", "%d-%b-%Y", "%Y/%m/%d", "%m/%d/%Y")


def text(value: Any) -> str | None:
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def key(value: Any) -> str | None:
    """An id or a look-up value (a pcode, a vocabulary value): the text without the characters
    that do not show (gazetteer.INVISIBLE), stripped; None when nothing is left."""
    if value is None:
        return None
    return text(INVISIBLE.sub("", str(value)))


def parse_datetime(value: Any, order: str = dates.AUTO) -> datetime | None:
    """ISO 8601 (date or date-time), d/m/y or m/d/y (in `order`: etl.transforms.dates), or a
    few common forms; Arabic-Indic and Persian digits read; naive means UTC."""
    raw = text(value)
    if raw is None:
        return None
    raw = dates.to_iso(raw, order)
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(raw)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_int(value: Any) -> int | None:
    """A whole number as written ("12", "12.0", "1e3"); ValueError for a fraction ("2.7": not
    rounded), a boolean, NaN or infinity. Its size is the caller's to check (MAX_COUNT)."""
    if isinstance(value, bool):
        raise ValueError(str(value))
    raw = text(value)
    if raw is None:
        return None
    try:
        number = Decimal(raw)  # exact: 1e-400 is not 0, as a float would make it
    except InvalidOperation:
        raise ValueError(raw) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(raw)
    return int(number)


def parse_float(value: Any) -> float | None:
    """A finite decimal ("5.5", or "5,5" with one comma); ValueError for a boolean, NaN or
    infinity."""
    if isinstance(value, bool):
        raise ValueError(str(value))
    raw = text(value)
    if raw is None:
        return None
    number = (float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw
              else float(raw))
    if not math.isfinite(number):
        raise ValueError(raw)
    return number


def _in_range(lon: float, lat: float) -> bool:
    return -180 <= lon <= 180 and -90 <= lat <= 90


class CoordinateTally:
    """What a run's coordinates looked like (ctx.options["coordinate_tally"]): how many rows had
    their point or area judged, how many lay beyond lon/lat or outside the area of interest, and
    some of those as written, so the runner can tell a file not in lon/lat (etl.transforms.crs)."""

    SAMPLES = 500

    def __init__(self) -> None:
        self.judged = 0
        self.out_of_range = 0
        self.outside = 0
        self.samples: list[tuple[float, float]] = []

    def add(self, lon: float, lat: float, reason: str | None) -> None:
        self.judged += 1
        if reason == OUT_OF_RANGE:
            self.out_of_range += 1
        elif reason == OUTSIDE_AOI:
            self.outside += 1
        else:
            return
        if len(self.samples) < self.SAMPLES and math.isfinite(lon) and math.isfinite(lat):
            self.samples.append((lon, lat))


def _tally(ctx: Context, lon: float, lat: float, reason: str | None) -> None:
    tally = ctx.options.get("coordinate_tally")
    if isinstance(tally, CoordinateTally):
        tally.add(lon, lat, reason)


def check_point(lon_raw: Any, lat_raw: Any, ctx: Context,
                reasons: list[str], repairs: list[str]) -> tuple[float, float] | None:
    """Validate a lon/lat pair against the area of interest (ctx.aoi; None: everywhere).

    Inside (the area buffered) is taken as given, unless it lies in the border band (outside
    the area itself) while its swap lies well inside (the area shrunk by the buffer): then the
    row is `ambiguous_coordinates`. Outside, a swap is repaired only when the swapped point is
    inside; otherwise `outside_area_of_interest` (beyond lon/lat: `coordinates_out_of_range`).
    With ctx.options["allow_outside"], a point outside (in lon/lat range) is loaded, flagged
    OUTSIDE_ALLOWED in `repairs` (the runner counts it as a flag, not a repair).
    ctx.options["crs_transform"] turns the pair into lon/lat first (--crs)."""
    if text(lon_raw) is None or text(lat_raw) is None:
        reasons.append(MISSING_COORDS)
        return None
    try:
        lon, lat = parse_float(lon_raw), parse_float(lat_raw)
    except ValueError:
        reasons.append(BAD_COORDS)
        return None
    assert lon is not None and lat is not None
    to_lon_lat = ctx.options.get("crs_transform")
    if callable(to_lon_lat):
        lon, lat = to_lon_lat(lon, lat)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            reasons.append(OUT_OF_RANGE)
            return None
    aoi = ctx.aoi
    given = _in_range(lon, lat) and (aoi is None or aoi.holds(lon, lat))
    if given:
        if aoi is not None and _in_range(lat, lon) and not aoi.holds(lon, lat, "core") \
                and aoi.holds(lat, lon, "inner"):
            reasons.append(AMBIGUOUS_COORDS)
            _tally(ctx, lon, lat, AMBIGUOUS_COORDS)
            return None
        _tally(ctx, lon, lat, None)
        return lon, lat
    if _in_range(lat, lon) and (aoi is None or aoi.holds(lat, lon)):
        repairs.append(SWAPPED_REPAIR)
        _tally(ctx, lon, lat, None)
        return lat, lon
    reason = OUTSIDE_AOI if _in_range(lon, lat) else OUT_OF_RANGE
    _tally(ctx, lon, lat, reason)
    if reason == OUTSIDE_AOI and ctx.options.get("allow_outside"):
        repairs.append(OUTSIDE_ALLOWED)
        return lon, lat
    reasons.append(reason)
    return None


def check_date(value: Any, ctx: Context, reasons: list[str], *, required: bool = True,
               future: bool = False) -> datetime | None:
    """`future`: a date after now is taken (an agreement's end), not quarantined."""
    if text(value) is None:
        if required:
            reasons.append(MISSING_DATE)
        return None
    order = ctx.options.get("date_order") or (ctx.options.get("date_orders") or {}).get(
        dates.key(str(value)), dates.AUTO)
    if order == dates.CONFLICT:
        reasons.append(AMBIGUOUS_DATE)
        return None
    try:
        parsed = parse_datetime(value, order)
    except ValueError:
        reasons.append(BAD_DATE)
        return None
    if parsed is not None and parsed > ctx.now and not future:
        reasons.append(FUTURE_DATE)
        return None
    return parsed


def check_when(value: Any, ctx: Context, reasons: list[str]
               ) -> tuple[datetime | None, datetime | None, str]:
    """An incident's date as (occurred_at, occurred_until, time_precision): a day is
    (its instant, None, "day"); a year or a month (etl.transforms.dates.period) is its first
    and last instant, "year" or "month" (the UCDP and ACLED convention)."""
    span = dates.period(str(value)) if text(value) is not None else None
    if span is None:
        return check_date(value, ctx, reasons), None, "day"
    occurred, until, precision = span
    if occurred > ctx.now:
        reasons.append(FUTURE_DATE)
    return occurred, until, precision


def _check_number(parse: Any, limit: float, value: Any, reasons: list[str]) -> Any:
    """`parse(value)` when it is a number from 0 to `limit`; else None and the reason."""
    try:
        number = parse(value)
    except ValueError:
        reasons.append(BAD_NUMBER)
        return None
    if number is not None and number < 0:
        reasons.append(NEGATIVE_COUNT)
        return None
    if number is not None and number > limit:
        reasons.append(NUMBER_OUT_OF_RANGE)
        return None
    return number


def check_count(value: Any, reasons: list[str]) -> int | None:
    number: int | None = _check_number(parse_int, MAX_COUNT, value, reasons)
    return number


def parse_decimal(value: Any) -> Decimal | None:
    """parse_float's rule, exactly: 12345678901.123456789 is not rounded through a float."""
    if parse_float(value) is None:  # the same refusals (booleans, NaN, infinity, words)
        return None
    raw = str(text(value))
    return Decimal(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw)


def check_quantity(value: Any, reasons: list[str]) -> Decimal | None:
    number: Decimal | None = _check_number(parse_decimal, MAX_QUANTITY, value, reasons)
    return number


def check_order(start: datetime | None, end: datetime | None, reasons: list[str]) -> None:
    """An end before its start is quarantined, not stored."""
    if start is not None and end is not None and end < start:
        reasons.append(INCONSISTENT_DATES)


def cut_warning(line: int) -> str:
    """The warning of a last record without a line end that passed every check."""
    return (f"line {line}, the last, has no line end: the file may have been cut there; the "
            "row was loaded as written (check its last value)")


def check_fatalities(low: int | None, best: int | None, high: int | None,
                     reasons: list[str]) -> None:
    """`low <= best <= high` among the counts given (a cut or mistyped count is quarantined as
    `inconsistent_fatalities`, not stored)."""
    given = [n for n in (low, best, high) if n is not None]
    if any(a > b for a, b in zip(given, given[1:], strict=False)):
        reasons.append(INCONSISTENT_FATALITIES)


def check_vocab(value: Any, allowed: tuple[str, ...], reasons: list[str],
                default: str | None = None) -> str | None:
    raw = key(value)
    if raw is None:
        if default is None:
            reasons.append(MISSING_FIELD)
        return default
    normalised = raw.lower().replace(" ", "_").replace("-", "_")
    if normalised not in allowed:
        reasons.append(BAD_VOCAB)
        return None
    return normalised


def check_polygon(wkb: bytes, ctx: Context, reasons: list[str], detail: dict[str, Any]) -> None:
    """With `--invalid-geometry reject` (ctx.options["invalid_geometry"]), an invalid polygon is
    rejected and `detail["invalid_reason"]` says why, as GEOS (PostGIS's ST_IsValidReason) does:
    'Self-intersection[36.85 34.85]'. The default, "repair", lets the loader's ST_MakeValid repair it
    (counted in the run's rows_repaired)."""
    if ctx.options.get("invalid_geometry", "repair") != "reject":
        return
    try:
        geom = shapely.from_wkb(wkb)
    except shapely.errors.ShapelyError as exc:
        reasons.append(INVALID_GEOMETRY)
        detail["invalid_reason"] = f"unreadable geometry: {exc}"
        return
    if not geom.is_valid:
        reasons.append(INVALID_GEOMETRY)
        detail["invalid_reason"] = shapely.is_valid_reason(geom)


def _lon_lat(geom: Any, srid: int | None) -> Any:
    """`geom` in lon/lat (the loader's ST_Transform, done here to check where it lies)."""
    if srid in (None, 4326):
        return geom
    from pyproj import Transformer

    transformer = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: _stacked(transformer, xy))


def _stacked(transformer: Any, xy: Any) -> Any:
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def check_area(wkb: bytes, srid: int | None, ctx: Context, reasons: list[str],
               detail: dict[str, Any], *, aoi: bool = True,
               flags: list[str] | None = None) -> bool:
    """A polygon feature is an area: a point, a line or a flat polygon (no area, which the loader
    would store as MULTIPOLYGON EMPTY) is `not_an_area`; an area beyond lon/lat
    `coordinates_out_of_range`; with `aoi`, an area not touching ctx.aoi (buffered)
    `outside_area_of_interest` (loaded with ctx.options["allow_outside"], flagged OUTSIDE_ALLOWED
    in `flags`). Whether it passed."""
    try:
        geom = shapely.from_wkb(wkb)
        area = 0.0 if geom.is_empty else float(shapely.make_valid(geom).area)
    except (shapely.errors.ShapelyError, ValueError) as exc:
        reasons.append(INVALID_GEOMETRY)
        detail["invalid_reason"] = f"unreadable geometry: {exc}"
        return False
    if not area > 0:
        reasons.append(NOT_AN_AREA)
        detail["geometry_type"] = geom.geom_type
        return False
    try:
        lon_lat = _lon_lat(geom, srid)
        minx, miny, maxx, maxy = (float(b) for b in lon_lat.bounds)
    except Exception:  # pyproj's errors: a CRS that cannot be turned into lon/lat
        lon_lat, minx = None, math.inf
        miny = maxx = maxy = math.inf
    point = geom.representative_point()
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        reasons.append(OUT_OF_RANGE)
        _tally(ctx, float(point.x), float(point.y), OUT_OF_RANGE)
        return False
    if aoi and ctx.aoi is not None and not ctx.aoi.geom("outer").intersects(lon_lat):
        inside = lon_lat.representative_point()
        _tally(ctx, float(inside.x), float(inside.y), OUTSIDE_AOI)
        if not ctx.options.get("allow_outside"):
            reasons.append(OUTSIDE_AOI)
            return False
        if flags is not None:
            flags.append(OUTSIDE_ALLOWED)
    else:
        _tally(ctx, minx, miny, None)
    return True


def feature_point(wkb: bytes | None, reasons: list[str], detail: dict[str, Any]
                  ) -> tuple[Any, Any]:
    """A feature's point geometry as (lon, lat); (None, None) when it has none. Any other
    geometry is quarantined as `not_a_point` (with its type in `detail`) rather than reduced to
    one of its points or replaced by the place name's point."""
    if wkb is None:
        return None, None
    geom = shapely.from_wkb(wkb)
    if geom.is_empty:
        return None, None
    if geom.geom_type != "Point":
        reasons.append(NOT_A_POINT)
        detail["geometry_type"] = geom.geom_type
        return None, None
    return geom.x, geom.y


def locate(lon_raw: Any, lat_raw: Any, place: Any, admin: Any, ctx: Context,
           reasons: list[str], repairs: list[str], detail: dict[str, Any]
           ) -> tuple[tuple[float, float] | None, bool]:
    """A point from the coordinates, or else from the gazetteer by place name.

    Returns (point, geocoded). With no coordinates and a name, the gazetteer in
    `ctx.options["gazetteer"]` must know exactly one place by that name (in that admin area when
    given); otherwise the reason says unknown or ambiguous and `detail` lists the candidates."""
    gazetteer = ctx.options.get("gazetteer")
    name = text(place)
    if text(lon_raw) is not None or text(lat_raw) is not None or name is None \
            or not isinstance(gazetteer, Gazetteer):
        return check_point(lon_raw, lat_raw, ctx, reasons, repairs), False
    found = gazetteer.candidates(name, text(admin))
    if len(found) == 1:
        repairs.append(GEOCODED)
        detail["gazetteer_id"] = found[0].id  # the settlement taken (settlement_id)
        return (found[0].lon, found[0].lat), True
    reasons.append(UNKNOWN_PLACE if not found else AMBIGUOUS_PLACE)
    detail["place"] = name
    detail["candidates"] = [p.as_detail() for p in found[:10]]
    return None, False
