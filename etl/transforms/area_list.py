"""A CSV of settlements / P-codes that signed -> agreement areas resolved to geometry.

A row with a known P-code takes that admin area's polygon (sub-district, neighbourhood ...); a row
with a settlement name takes a buffer of `ctx.options["buffer_m"]` metres (default 2,000) around the
gazetteer point. The loader builds the polygon from `geom_pcode` or `lon`/`lat`/`buffer_m`."""

from __future__ import annotations

from typing import Any

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks
from .agreement_areas import KINDS, STATUSES, _parties


def to_agreement_area(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {k.lower(): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    repairs: list[str] = []
    detail: dict[str, Any] = {}
    pcode = checks.key(f.get("pcode") or f.get("admin_pcode"))
    name = checks.text(f.get("name") or f.get("settlement"))
    source_id = checks.key(f.get("source_id") or f.get("id")) or pcode or name
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    status = checks.check_vocab(f.get("status"), STATUSES, reasons, default="signed")
    kind = checks.check_vocab(f.get("kind"), KINDS, reasons, default="settlement")
    signed_at = checks.check_date(f.get("signed_at") or f.get("date"), ctx, reasons, required=False)
    point: tuple[float, float] | None = None
    known: set[str] = ctx.options.get("admin_pcodes") or set()
    if pcode is not None:
        if pcode not in known:
            reasons.append(checks.UNKNOWN_PCODE)
            detail["pcode"] = pcode
    elif name is not None:
        point, _ = checks.locate(f.get("lon") or f.get("longitude"), f.get("lat") or f.get("latitude"),
                                 name, f.get("admin") or f.get("admin1"), ctx, reasons, repairs,
                                 detail)
    else:
        reasons.append(checks.MISSING_FIELD)
    try:
        parties = _parties(f.get("parties"))
    except (ValueError, TypeError):
        reasons.append(checks.MISSING_FIELD)
        parties = []
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    return Accepted(
        {
            "source_id": source_id,
            "name": name or pcode,
            "kind": kind,
            "status": status,
            "signed_at": signed_at,
            "effective_from": signed_at,
            "effective_to": None,
            "parties": parties,
            "document_ref": checks.text(f.get("document_ref")),
            "admin_pcode": pcode,
            "notes": checks.text(f.get("notes")),
            "geom_pcode": pcode,
            "lon": point[0] if point else None,
            "lat": point[1] if point else None,
            "buffer_m": float(ctx.options.get("buffer_m") or 2000.0),
        },
        tuple(repairs),
    )
