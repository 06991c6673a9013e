"""GeoNames-style gazetteer rows -> settlements (a settlement already known from another gazetteer,
same name key within `merge_within_m` metres, default 5 km, is merged: not loaded twice)."""

from __future__ import annotations

from etl.gazetteer import Gazetteer
from etl.place_names import arabic_name, capitals, russian_name
from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks


def to_settlement(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    name = checks.text(f.get("name"))
    if name is None:
        reasons.append(checks.MISSING_FIELD)
    geonames_id = checks.text(f.get("geonameid"))
    source_id = geonames_id or (f"{name}@{f.get('lat') or f.get('latitude')}" if name else None)
    point = checks.check_point(f.get("longitude", f.get("lon")), f.get("latitude", f.get("lat")),
                               ctx, reasons, repairs)
    population = checks.check_count(f.get("population"), reasons)
    if reasons:
        return Rejected(tuple(dict.fromkeys(reasons)), {"name": name})
    assert point is not None
    gazetteer = ctx.options.get("gazetteer")
    if isinstance(gazetteer, Gazetteer) and name and gazetteer.near(
            name, point[0], point[1], float(ctx.options.get("merge_within_m") or 5000.0),
            other_than_source=ctx.source):
        return Accepted({"source_id": source_id}, merged=True)  # already known from another source
    alternates_raw = f.get("alternatenames") or ""
    alternates = [a.strip() for a in str(alternates_raw).split("|") if a.strip()]
    capital = capitals().get(geonames_id or "")
    arabic = arabic_name(alternates, official=capital["name_ar"] if capital else None, main=name or "")
    russian = russian_name(alternates, official=capital["name_ru"] if capital else None,
                           main=name or "")
    return Accepted(
        {
            "source_id": source_id,
            "name": name,
            "name_ar": arabic,
            "name_ru": russian,
            "alternate_names": alternates,
            "geonames_id": int(geonames_id) if geonames_id and geonames_id.isdecimal() else None,
            "population": population or None,
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
