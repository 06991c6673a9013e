"""The published collections: which table, which properties (the whitelist for every filter,
sort and property selection), which time column. Identifiers in SQL come only from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: str
    geometry_type: str
    properties: dict[str, str]  # name -> JSON Schema-ish type: string|integer|number|datetime|array
    time_column: str | None = None
    id_column: str = "id"

    @property
    def is_point(self) -> bool:
        return self.geometry_type == "Point"


_PROVENANCE = {"source": "string", "etl_run_id": "integer", "updated_at": "datetime"}

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in [
        Collection(
            "incidents", "Incidents",
            "Reported violations and conflict events (UCDP GED, ACLED, HXL, field reports).",
            "incidents", "Point",
            {"source_id": "string", "occurred_at": "datetime", "occurred_until": "datetime",
             "time_precision": "string", "event_type": "string", "sub_event_type": "string",
             "actor1": "string", "actor2": "string", "fatalities": "integer",
             "fatalities_low": "integer", "fatalities_high": "integer",
             "geo_precision": "string", "location_name": "string", "admin1_pcode": "string",
             "notes": "string", "verification_status": "string", **_PROVENANCE},
            time_column="occurred_at",
        ),
        Collection(
            "agreement_areas", "Agreement areas",
            "Settlements, regions and zones covered by a cessation-of-hostilities agreement.",
            "agreement_areas", "MultiPolygon",
            {"source_id": "string", "name": "string", "kind": "string", "status": "string",
             "signed_at": "datetime", "effective_from": "datetime", "effective_to": "datetime",
             "parties": "array", "document_ref": "string", "admin_pcode": "string",
             "notes": "string", **_PROVENANCE},
            time_column="signed_at",
        ),
        Collection(
            "aid_deliveries", "Aid deliveries",
            "Humanitarian deliveries (convoys, airdrops, handovers) and where they reached.",
            "aid_deliveries", "Point",
            {"source_id": "string", "delivered_at": "datetime", "method": "string",
             "cargo_type": "string", "quantity": "number", "unit": "string",
             "organisation": "string", "location_name": "string", "settlement_id": "integer",
             "agreement_area_id": "integer", "admin1_pcode": "string", **_PROVENANCE},
            time_column="delivered_at",
        ),
        Collection(
            "settlements", "Settlements",
            "Populated places gazetteer (GeoNames), used for labels and geocoding.",
            "settlements", "Point",
            {"source_id": "string", "name": "string", "name_ar": "string",
             "alternate_names": "array", "geonames_id": "integer", "population": "integer",
             **_PROVENANCE},
        ),
        Collection(
            "admin_areas", "Administrative areas",
            "OCHA COD-AB boundaries: country, governorates, districts, sub-districts, "
            "neighbourhoods.",
            "admin_areas", "MultiPolygon",
            {"pcode": "string", "admin_level": "integer", "parent_pcode": "string",
             "name_en": "string", "name_ar": "string", **_PROVENANCE},
        ),
    ]
}
