"""All tables, one module per layer, on one MetaData (what Alembic compares against)."""

from .accounts import api_keys
from .admin_areas import admin_areas
from .agreement_areas import agreement_area_history, agreement_areas
from .aid_deliveries import aid_deliveries
from .alerts import alert_cursor, alert_deliveries, alert_subscriptions, alerts
from .audit import audit_blocks, audit_log, audit_seals
from .base import metadata
from .etl_runs import etl_repairs, etl_runs, quarantine, quarantine_reviews
from .history import (
    agreement_areas_history,
    aid_deliveries_history,
    incidents_history,
    settlements_history,
)
from .incident_duplicates import event_type_classes, incident_duplicates
from .incidents import incidents
from .parties import parties
from .rasters import rasters
from .reports import reports, verification_steps
from .settlements import settlements
from .summaries import (
    admin_area_parts,
    area_incident_days,
    incident_tile_cells,
    incident_tile_kinds,
    layer_versions,
)

__all__ = [
    "admin_area_parts",
    "admin_areas",
    "api_keys",
    "audit_blocks",
    "audit_log",
    "audit_seals",
    "agreement_areas_history",
    "aid_deliveries_history",
    "incidents_history",
    "settlements_history",
    "agreement_area_history",
    "agreement_areas",
    "area_incident_days",
    "aid_deliveries",
    "alert_cursor",
    "alert_deliveries",
    "alert_subscriptions",
    "alerts",
    "etl_repairs",
    "etl_runs",
    "event_type_classes",
    "incident_duplicates",
    "incident_tile_cells",
    "incident_tile_kinds",
    "incidents",
    "layer_versions",
    "metadata",
    "parties",
    "quarantine",
    "quarantine_reviews",
    "rasters",
    "reports",
    "settlements",
    "verification_steps",
]
