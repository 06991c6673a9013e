"""OCHA COD-AB features (any level, 2016-style column names) -> admin areas."""

from __future__ import annotations

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks


def _level(fields: dict[str, object], pcode: str) -> int:
    if pcode.startswith("N") or any(k.upper().startswith("ADM3_") for k in fields):
        return 4
    for level in (2, 1, 0):
        if any(k.upper() == f"ADM{level}_PCODE" for k in fields):
            return level + 1
    return 0


def to_admin_area(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {k.upper(): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    pcode = checks.key(f.get("PCODE") or f.get("ADMIN_PCODE"))
    name = checks.text(f.get("NAME_EN"))
    if pcode is None:
        reasons.append(checks.MISSING_ID)
    if name is None:
        reasons.append(checks.MISSING_FIELD)
    detail: dict[str, object] = {}
    if raw.geometry_wkb is None:
        reasons.append(checks.MISSING_GEOMETRY)
    elif checks.check_area(raw.geometry_wkb, raw.srid, ctx, reasons, detail, aoi=False):
        checks.check_polygon(raw.geometry_wkb, ctx, reasons, detail)
    if reasons:
        return Rejected(tuple(reasons), {"pcode": pcode, **detail})
    assert pcode is not None and raw.geometry_wkb is not None
    level = _level(f, pcode)
    parent = next((checks.key(f.get(f"ADM{n}_PCODE")) for n in (3, 2, 1, 0)
                   if n < level and checks.key(f.get(f"ADM{n}_PCODE"))), None)
    return Accepted(
        {
            "pcode": pcode,
            "source_id": pcode,
            "admin_level": level,
            "parent_pcode": parent,
            "name_en": name,
            "name_ar": checks.text(f.get("NAME_AR")),
            "geom_wkb": raw.geometry_wkb.hex(),
            "srid": raw.srid or 4326,
        }
    )
