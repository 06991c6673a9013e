"""Polygon features (any vector format) -> agreement areas."""

from __future__ import annotations

import json
from typing import Any

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

KINDS = ("settlement", "region", "zone")
STATUSES = ("signed", "pending", "suspended", "violated", "withdrawn")


def _parties(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    raw = checks.text(value)
    if raw is None:
        return []
    if raw.startswith("["):
        return [str(v) for v in json.loads(raw)]
    return [p.strip() for p in raw.replace(";", "|").split("|") if p.strip()]


def to_agreement_area(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = {k.lower(): v for k, v in raw.fields.items()}
    reasons: list[str] = []
    name = checks.text(f.get("name"))
    source_id = checks.key(f.get("source_id") or f.get("id")) or name
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    if name is None:
        reasons.append(checks.MISSING_FIELD)
    kind = checks.check_vocab(f.get("kind"), KINDS, reasons, default="region")
    status = checks.check_vocab(f.get("status"), STATUSES, reasons,
                                default=ctx.options.get("default_status", "pending"))
    signed_at = checks.check_date(f.get("signed_at"), ctx, reasons, required=False)
    eff_from = checks.check_date(f.get("effective_from"), ctx, reasons, required=False)
    eff_to = checks.check_date(f.get("effective_to"), ctx, reasons, required=False,
                               future=True)
    checks.check_order(eff_from, eff_to, reasons)
    detail: dict[str, Any] = {}
    flags: list[str] = []  # loaded outside the area of interest (--allow-outside)
    if raw.geometry_wkb is None:
        reasons.append(checks.MISSING_GEOMETRY)
    elif checks.check_area(raw.geometry_wkb, raw.srid, ctx, reasons, detail, flags=flags):
        checks.check_polygon(raw.geometry_wkb, ctx, reasons, detail)
    try:
        parties = _parties(f.get("parties"))
    except (ValueError, TypeError):
        reasons.append(checks.MISSING_FIELD)
        parties = []
    if reasons:
        return Rejected(tuple(dict.fromkeys(reasons)), {"source_id": source_id, **detail})
    assert raw.geometry_wkb is not None
    return Accepted(
        {
            "source_id": source_id,
            "name": name,
            "kind": kind,
            "status": status,
            "signed_at": signed_at,
            "effective_from": eff_from,
            "effective_to": eff_to,
            "parties": parties,
            "document_ref": checks.text(f.get("document_ref")),
            "admin_pcode": checks.key(f.get("admin_pcode")),
            "notes": checks.text(f.get("notes") or f.get("description")),
            "geom_wkb": raw.geometry_wkb.hex(),
            "srid": raw.srid or 4326,
        },
        tuple(flags),
    )
