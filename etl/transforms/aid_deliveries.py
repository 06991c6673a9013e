"""Generic CSV rows (lat/lon, date, method, cargo) -> aid deliveries."""

from __future__ import annotations

from etl.records import Accepted, Context, RawRecord, Rejected

from . import checks

METHODS = ("airdrop", "convoy", "handover")
CARGO_TYPES = ("food", "medical", "shelter", "water", "nfi", "mixed")
UNITS = ("tonnes", "kits", "people", "trucks", "items")


def to_aid_delivery(raw: RawRecord, ctx: Context) -> Accepted | Rejected:
    f = raw.fields
    reasons: list[str] = []
    repairs: list[str] = []
    source_id = checks.key(f.get("source_id") or f.get("id"))
    if source_id is None:
        reasons.append(checks.MISSING_ID)
    delivered_at = checks.check_date(f.get("delivered_at") or f.get("date"), ctx, reasons)
    method = checks.check_vocab(f.get("method"), METHODS, reasons)
    cargo = checks.check_vocab(f.get("cargo_type"), CARGO_TYPES, reasons)
    unit = checks.check_vocab(f.get("unit"), UNITS, reasons, default="")
    quantity = checks.check_quantity(f.get("quantity"), reasons)
    detail: dict[str, object] = {}
    lon, lat = f.get("longitude", f.get("lon")), f.get("latitude", f.get("lat"))
    point: tuple[float, float] | None = None
    if raw.geometry_wkb is not None and checks.text(lon) is None:
        lon, lat = checks.feature_point(raw.geometry_wkb, reasons, detail)
    if checks.NOT_A_POINT not in reasons:
        point, _ = checks.locate(lon, lat, f.get("location_name"), f.get("admin"), ctx,
                                 reasons, repairs, detail)
    if reasons:
        detail["source_id"] = source_id
        return Rejected(tuple(dict.fromkeys(reasons)), detail)
    assert point is not None
    return Accepted(
        {
            "source_id": source_id,
            "delivered_at": delivered_at,
            "method": method,
            "cargo_type": cargo,
            "quantity": quantity,
            "unit": unit or None,
            "organisation": checks.text(f.get("organisation") or f.get("org")),
            "location_name": checks.text(f.get("location_name")),
            "geonames_ref": checks.key(f.get("geonames_id")),
            "agreement_area_ref": checks.key(f.get("agreement_area")),
            "notes": checks.text(f.get("notes")),
            "gazetteer_ref": detail.get("gazetteer_id"),  # the settlement geocoding took
            "lon": point[0],
            "lat": point[1],
        },
        tuple(repairs),
    )
