"""Small settings classes, one per concern (env prefix TRUCE_). Built only at entry points."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.outbound import AllowList


class DatabaseSettings(BaseSettings):
    """Where PostGIS is. `TRUCE_DATABASE_URL` points everything at an existing instance."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_DATABASE_")

    url: str = Field(description="SQLAlchemy URL, e.g. postgresql+psycopg2://user:pw@host:5432/db")
    statement_timeout_ms: int = Field(
        15_000, ge=100, description="every statement's timeout, and the time budget of an API "
        "request (a request over it gets 503 query_timeout; its statements are cancelled)")
    analysis_timeout_ms: int = Field(
        15_000, ge=100, description="the same budget for /analysis/ requests")
    pool_size: int = Field(8, ge=1, le=100)
    read_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="hot standbys of the primary (comma-separated URLs): "
        "reads that do not need the primary go to a healthy one (see docs/replicas.md)")
    max_replica_lag_seconds: float = Field(
        5.0, gt=0, description="a replica further behind the primary than this takes no reads")
    read_your_writes_seconds: float | None = Field(
        None, ge=0, description="after a write, the same key's (or address's) reads go to the "
        "primary this long (None: the lag limit plus one replica check)")
    replica_check_seconds: float = Field(
        1.0, gt=0, le=60, description="how often each replica's health and lag are checked")

    @field_validator("read_urls", mode="before")
    @classmethod
    def _url_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("read_urls")
    @classmethod
    def _read_urls(cls, value: list[str]) -> list[str]:
        return [cls._postgres_only(url) for url in value]

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
            raise ValueError("TRUCE_DATABASE_URL must be a postgresql:// URL")
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg2://" + value.removeprefix("postgresql://")
        return value

    def ryw_seconds(self) -> float:
        """How long a writer's reads stay on the primary after its write."""
        if self.read_your_writes_seconds is not None:
            return self.read_your_writes_seconds
        return self.max_replica_lag_seconds + self.replica_check_seconds


class ApiSettings(BaseSettings):
    """The HTTP API: where it listens and how much it answers at once."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_API_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    default_limit: int = Field(10, ge=1)
    max_limit: int = Field(10_000, ge=1)
    tile_max_zoom: int = Field(22, ge=0, le=24)
    tile_feature_cap: int = Field(20_000, ge=100)
    tile_point_cap: int = Field(3_000, ge=10, description="points in a tile before it aggregates")
    tile_cache_mb: int = Field(64, ge=0, description="in-process tile cache; 0 disables it")
    export_max_features: int = Field(
        10_000, ge=1, description="features in one download (CSV, HXL, GeoPackage, FlatGeobuf): "
        "an export matching more is refused with 400 unless `limit` asks for the first N")
    export_max_bbox_km2: float | None = Field(
        1_000_000, gt=0, description="largest bbox of a download (2.5x Syria's bounding box); None: no cap")
    compress_min_bytes: int = Field(1024, ge=0, description="smaller bodies go uncompressed")
    gzip_level: int = Field(1, ge=1, le=9, description="gzip level (1: speed over ratio)")
    brotli_quality: int = Field(4, ge=0, le=11, description="brotli quality for `br` clients (4: "
                                "the CPU of gzip level 1, a third smaller)")
    root_path: str = ""
    web_dir: str | None = Field(None, description="the viewer's static files, served at /")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins whose browser pages may call the API "
        "(CORS): comma-separated or a JSON list, e.g. https://maps.example.org; *: any; "
        "empty: CORS off")
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="a request's headers must arrive whole within this time "
        "of its first byte (or of the connection); else 408 and the connection is closed")
    body_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="a request body must arrive whole within this time of "
        "its headers; else 408 and the connection is closed")
    keep_alive_seconds: int = Field(5, ge=1, le=300, description="an idle connection is closed "
                                                                 "after this time")
    max_connections: int | None = Field(
        None, ge=1, description="open connections in all; more are answered 503 (None: no cap)")
    max_connections_per_client: int | None = Field(
        100, ge=1, description="open connections from one client address; more are answered 429 "
        "and closed (None: no cap). Behind a proxy every client has the proxy's address")

    metrics_access: Literal["admin_or_loopback", "admin", "open"] = Field(
        "admin_or_loopback", description="who may read /metrics: an admin key or a direct call "
        "from this machine (not through a proxy), an admin key only, or anyone")
    ready_cache_seconds: float = Field(
        5.0, ge=0, le=60, description="/health/ready reuses its last check this long")
    workers: int = Field(
        1, ge=1, le=64, description="API processes serving together (`truce serve --workers`); "
        "each applies 1/workers of the rate limits and holds its own admission budgets")
    max_in_flight: int = Field(
        128, ge=1, description="requests of any kind (the viewer's files too; not the probes) "
        "one process answers at once; past it 503 at once, with Retry-After")
    max_in_progress: int = Field(
        8, ge=1, description="light requests (route cost 0-1) one process works on at once; "
        "more wait in a short queue")
    max_queued: int = Field(
        16, ge=0, description="light requests waiting for a place; more are refused at once "
        "with 503 and Retry-After")
    max_heavy_in_progress: int = Field(
        2, ge=1, description="heavy requests (route cost over 1: exports, analysis, situation "
        "maps, large pages) one process works on at once, apart from the light ones")
    max_heavy_queued: int = Field(
        2, ge=0, description="heavy requests waiting for a place; more are refused with 503")
    max_queue_wait_seconds: float = Field(
        0.1, gt=0, le=60, description="longest wait in either queue; a request still waiting "
        "then is refused with 503 and Retry-After")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else \
                [o.strip() for o in text.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin.rstrip("/")):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port]) nor '*'")
        return value


class RasterSettings(BaseSettings):
    """Where raster files (COGs) live."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_RASTER_")

    directory: str = ".data/rasters"
    sources: dict[str, str] = Field(default_factory=dict, description="raster name -> file path")


class BasemapSettings(BaseSettings):
    """Where basemaps added with `truce basemap add` (PMTiles files) are kept."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_BASEMAP_")

    directory: str = ".data/basemaps"


class AnalysisSettings(BaseSettings):
    """Limits and defaults of the /analysis/ questions."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_ANALYSIS_")

    max_batch: int = Field(1_000, ge=1, description="geometries in one deconfliction request")
    max_vertices: int = Field(10_000, ge=4, description="vertices in one input geometry")
    max_total_vertices: int = Field(200_000, ge=4, description="vertices in one request")
    max_distance_m: float = Field(100_000, gt=0, description="largest search distance")
    nearby_m: float = Field(5_000, ge=0, description="default radius for nearby settlements/aid")
    recent_aid_days: int = Field(14, ge=1, description="deliveries this recent are 'recent'")
    max_rows: int = Field(10_000, ge=1, description="rows in one table answer")
    max_exposure_incidents: int = Field(
        5_000, ge=1, description="incidents whose buffers make one exposure zone")
    max_buckets: int = Field(
        10_000, ge=1, description="periods in one time series (datetime window / step)")
    max_area_pairs: int = Field(
        25_000, ge=1, description="(area, incident) pairs one /analysis/areas answer may count "
        "live: the ring of distance_m around the chosen areas, and the areas themselves for "
        "callers under release rules")
    population_raster: str | None = Field(None, description="default population raster name")


class EtlSettings(BaseSettings):
    """Loads from URLs, and how incidents from two sources are matched as one event."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_ETL_")

    url_max_bytes: int = Field(2 * 1024**3, ge=1, description="larger downloads are refused")
    url_timeout_seconds: float = Field(60.0, gt=0, description="connect / between-bytes timeout")
    url_allow: list[str] = Field(
        default_factory=list,
        description="internal addresses a URL may load from: `host` (any port), `host:port`, "
                    "`[v6]:port` or a CIDR; everything not publicly routable is refused otherwise")
    duplicate_distance_m: float = Field(
        5_000, ge=0, description="incidents of two sources this close (and in time) are one event")
    duplicate_hours: float = Field(
        24, ge=0, description="largest gap between the two reports' time spans, in hours")
    max_field_chars: int = Field(
        10_000, ge=256, description="a row or feature with a longer value (any field) is "
                                    "quarantined as field_too_long, whatever the load path")
    area_of_interest: str = Field(
        "", description="where loaded rows must lie: unset, the loaded admin level 0 areas; admin "
                        "P-codes (`SY,LB`); a GeoJSON polygon file; or `everywhere`")
    area_of_interest_buffer_km: float = Field(
        5.0, ge=0, description="the area of interest grows by this much: a point this close to "
                               "its border is inside")
    statement_timeout_seconds: float = Field(
        3600, ge=0, description="a load's statement running longer is cancelled and the run "
                                "fails, rolled back (0: no limit)")
    idle_timeout_seconds: float = Field(
        600, ge=0, description="a load's transaction left idle this long (its client hung) is "
                               "ended by the server and rolled back (0: no limit)")
    client_check_seconds: float = Field(
        5, ge=0, description="how often the server checks, during a load's statement, that the "
                             "loader is still connected; a killed loader's statement is then "
                             "cancelled and rolled back (0: never)")

    @field_validator("url_allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        if any(entry.strip().startswith("*") for entry in value):
            raise ValueError("TRUCE_ETL_URL_ALLOW: a wildcard never admits an internal address; "
                             "list the host, host:port or CIDR")
        AllowList.parse(value)
        return value


#: a page of items with more rows than this is in the route group "large_pages"
LARGE_PAGE = 1_000
#: tokens one request costs, per route group (first match, by path): a vector, raster or grid
#: tile, or anything not named below ("default": features, metadata, writes) costs 1; a page
#: of features costs little itself and is charged for its rows once known (`row_tokens`); the
#: heavy questions cost more
ROUTE_COSTS: dict[str, float] = {
    "tiles": 1,  # /collections/{id}/tiles/..., /tiles/..., /rasters/{name}/tiles/..., grid tiles
    "pages": 0.05,  # GET /collections/{id}/items as GeoJSON (its rows: row_tokens)
    "analysis": 5,  # /analysis/*
    "raster_statistics": 5,  # POST /rasters/{name}/statistics
    "exports": 10,  # /collections/{id}/items as CSV, HXL, GeoPackage or FlatGeobuf
    "large_pages": 5,  # /collections/{id}/items (GeoJSON) with a limit over LARGE_PAGE rows
    "situation_maps": 10,  # /reports/areas/{id}/map.html
    "probes": 0,  # /health/live and /health/ready: a probe is never refused for its rate
    "default": 1,
}
#: route groups costing more than this are heavy: admission control (server.admission) gives
#: them a budget of their own, apart from the light ones
LIGHT_COST = 1


class SecuritySettings(BaseSettings):
    """Keys, request limits and release rules (what public and partners see, and how precisely)."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_SECURITY_")

    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="larger bodies get 413")
    rate_per_second: float = Field(
        20.0, gt=0, description="tokens a verified key regains per second (see route_costs)")
    rate_burst: int = Field(200, ge=1, description="tokens a verified key may spend at once")
    anonymous_rate_per_second: float = Field(
        20.0, gt=0, description="the same per client address, for requests without a key "
        "or with a key not verified yet (a wrong one included)")
    anonymous_burst: int = Field(400, ge=1, description="tokens a client address may spend at "
                                 "once (the viewer fetches many tiles together)")
    route_costs: dict[str, float] = Field(
        default_factory=lambda: dict(ROUTE_COSTS),
        description="tokens one request of each route group costs; groups left out keep "
        "their default (see ROUTE_COSTS)")
    row_tokens: float = Field(
        1.0, ge=0, description="tokens charged per 1,000 features a page returned, once it "
        "is answered (on top of its route group's cost)")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="CIDRs of reverse proxies: only when the direct peer "
        "is one of them is the right-most X-Forwarded-For address not in them the client's")
    public_grid_degrees: float | None = Field(
        0.1, gt=0, description="public/reporter incident coordinates snap to this grid")
    partner_grid_degrees: float | None = Field(None, gt=0, description="the same for partners")
    public_location_method: Literal["grid", "admin_centroid", "settlement"] = Field(
        "grid", description="how public/reporter incident points are obfuscated: snapped to "
        "the grid, moved to the centroid of the admin area containing them, or to the nearest "
        "settlement (both fall back to the grid, or 0.1 degrees, where none is found)")
    partner_location_method: Literal["grid", "admin_centroid", "settlement"] = Field(
        "grid", description="the same for partners (grid with no partner grid: exact)")
    obfuscation_admin_level: int = Field(
        3, ge=0, le=4, description="admin_centroid: the admin level (1 governorate, 2 district, "
        "3 sub-district, 4 neighbourhood)")
    settlement_max_degrees: float = Field(
        0.25, gt=0, le=5, description="settlement: the nearest settlement within this distance")
    public_time_bucket: str | None = Field("day", pattern="^(hour|day|week|month)$")
    partner_time_bucket: str | None = Field(None, pattern="^(hour|day|week|month)$")
    min_released_count: int | None = Field(
        None, ge=2, description="public/partner aggregates (grid cells, clusters, time-series "
        "buckets, area counts) with fewer incidents are suppressed; None: no suppression")
    webhook_secret: str = Field("development-webhook-secret",
                                description="HMAC key signing alert webhooks")
    audit_head_key: str = Field(
        "development-audit-head-key", min_length=16,
        description="HMAC key signing published audit heads (`truce audit publish-head`); "
                    "keep a copy off the machine, with the head log")
    require_if_match: bool = Field(
        False, description="Part 4 writes (PUT, PATCH, DELETE) without If-Match get 428; "
        "off: If-Match is checked when sent (412 on a stale ETag)")

    @field_validator("route_costs")
    @classmethod
    def _known_groups(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(ROUTE_COSTS))
        if unknown:
            raise ValueError(f"unknown route group(s) {', '.join(unknown)}; one of "
                             f"{', '.join(ROUTE_COSTS)}")
        if any(cost < 0 for cost in value.values()):
            raise ValueError("a route cost is a number of tokens, 0 or more")
        return {**ROUTE_COSTS, **value}

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an address or CIDR, e.g. 10.0.0.0/8") from None
        return value


class AlertSettings(BaseSettings):
    """Alert webhooks: which hosts they may reach, and how hard delivery tries."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_ALERTS_")

    webhook_hosts: list[str] = Field(
        default_factory=list,
        description="hosts webhook URLs may name: `host`, `host:port` (that port only), a CIDR, "
                    "or '*.example.org' for subdomains; a host resolving to an internal "
                    "(loopback, private, link-local ...) address must be listed itself, "
                    "preferably as host:port (a wildcard never admits one)")
    max_attempts: int = Field(8, ge=1, le=20, description="POSTs per alert before it fails")
    backoff_seconds: float = Field(
        30.0, ge=0, le=3600,
        description="after failed attempt n the alert waits b*2^(n-1) s (capped) for a later run")
    backoff_max_seconds: float = Field(3600.0, ge=0, le=86_400, description="the backoff cap")
    timeout_seconds: float = Field(5.0, gt=0, le=60, description="whole POST, `truce alerts run`")
    max_buffer_m: float = Field(100_000, gt=0, description="largest area buffer, metres")
    batch: int = Field(500, ge=1, description="alerts delivered per run")
    after_write_timeout_seconds: float = Field(
        2.0, gt=0, le=10, description="whole POST, when delivering right after an API write")
    after_write_budget_seconds: float = Field(
        5.0, gt=0, le=30, description="delivery time after an API write; the rest waits for "
                                      "`truce alerts run`")
    after_write_batch: int = Field(20, ge=0, description="alerts delivered after an API write")

    @field_validator("webhook_hosts")
    @classmethod
    def _host_entries(cls, value: list[str]) -> list[str]:
        AllowList.parse(value)
        return value


class Settings(BaseSettings):
    """Everything the API needs, composed from the small classes above."""

    model_config = SettingsConfigDict(env_prefix="TRUCE_")

    environment: str = Field("development", pattern="^(development|test|production)$")
    # read from TRUCE_DATABASE_URL etc. when not given, so `Settings()` (the app factory called
    # with no arguments, as `uvicorn server.main:create_app --factory` does) works from the env
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    raster: RasterSettings = Field(default_factory=RasterSettings)
    basemap: BasemapSettings = Field(default_factory=BasemapSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        for name in ("webhook_secret", "audit_head_key"):
            if getattr(self.security, name).startswith("development"):
                raise ValueError(f"set TRUCE_SECURITY_{name.upper()}: the placeholder secret "
                                 "is refused outside development")
        return self
