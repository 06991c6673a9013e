// Constants the viewer is built from: API paths, the palette and the layer catalogue.
// Nothing here touches the DOM or the map.

/** Okabe-Ito: a palette that stays distinguishable for the common colour-vision deficiencies. */
export const PALETTE = Object.freeze({
  black: "#000000",
  orange: "#E69F00",
  skyBlue: "#56B4E9",
  green: "#009E73",
  yellow: "#F0E442",
  blue: "#0072B2",
  vermillion: "#D55E00",
  purple: "#CC79A7",
  grey: "#999999",
  white: "#FFFFFF",
});

export const INITIAL_VIEW = Object.freeze({ center: [38.5, 35.0], zoom: 6 });

/** The area of interest [west, south, east, north] (the ETL's SYRIA_AOI): reports outside it are refused. */
export const AREA_OF_INTEREST = Object.freeze([35.4, 32.1, 42.6, 37.5]);

/** Used when /collections does not say (or cannot be reached). */
export const DEFAULT_TIME_RANGE = Object.freeze({ start: "2016-01-01", end: "2016-12-31" });

export const api = Object.freeze({
  collections: "/collections?f=json",
  health: "/health",
  item: (collectionId, featureId) =>
    `/collections/${encodeURIComponent(collectionId)}/items/${encodeURIComponent(featureId)}?f=json`,
  items: (collectionId) => `/collections/${encodeURIComponent(collectionId)}/items`,
  // Several collections in one vector tile (one MVT layer each), OGC order: row (y) before column
  // (x). The placeholders are filled in by MapLibre.
  multiTiles: "/tiles/WebMercatorQuad/{z}/{y}/{x}",
  // XYZ order.
  // TileJSON: tile URLs, bounds and the zooms the raster really has (none past its native zoom).
  rasterTileJson: (rasterId) => `/rasters/${encodeURIComponent(rasterId)}/tilejson.json`,
  rasters: "/rasters",
  deconfliction: "/analysis/deconfliction",
  timeseries: "/analysis/timeseries",
  areaReport: (areaId) => `/analysis/areas/${encodeURIComponent(areaId)}/report`,
  sitrepMap: (areaId) => `/reports/areas/${encodeURIComponent(areaId)}/map.html`,
});

/** Incident sources offered in the filter (free text is accepted too). */
export const INCIDENT_SOURCES = ["ucdp_ged", "acled", "partner"];

// Legend entries: [value(s) in the data, colour]. The first value is the canonical one, whose label
// is `vocab.<field>.<value>` in the catalogues (web/static/i18n); the others are spellings from other
// sources (UCDP GED types, ACLED event types), matched lower-cased.
export const EVENT_TYPES = [
  [["state_based_violence", "state_based", "state-based", "state based", "1", "battles"], PALETTE.vermillion],
  [["non_state_violence", "non_state", "non-state", "non state", "2", "explosions_remote_violence", "explosions/remote violence"], PALETTE.orange],
  [["one_sided_violence", "one_sided", "one-sided", "one sided", "3", "violence_against_civilians", "violence against civilians"], PALETTE.purple],
  [["protests", "riots", "protest", "riot"], PALETTE.skyBlue],
  [["strategic_developments", "strategic developments", "strategic_development"], PALETTE.blue],
];
export const EVENT_TYPE_OTHER = PALETTE.grey;

export const VERIFICATION_STATUSES = [
  [["confirmed"], PALETTE.green],
  [["under_review"], PALETTE.skyBlue],
  [["reported"], PALETTE.orange],
  [["rejected"], PALETTE.vermillion],
  [["duplicate"], PALETTE.grey],
];

// Clusters are aggregates of every type: a neutral dark grey, distinct from all type colours.
export const CLUSTER_COLOUR = "#4D4D4D";

export const AGREEMENT_STATUSES = [
  [["signed"], PALETTE.green],
  [["pending"], PALETTE.yellow],
  [["suspended"], PALETTE.orange],
  [["violated"], PALETTE.vermillion],
  [["withdrawn"], PALETTE.grey],
];

export const CARGO_TYPES = [
  [["food"], PALETTE.orange],
  [["medical"], PALETTE.purple],
  [["shelter"], PALETTE.blue],
  [["water"], PALETTE.skyBlue],
  [["nfi"], PALETTE.yellow],
  [["mixed"], PALETTE.green],
];

export const AID_METHODS = [
  [["convoy"], PALETTE.black],
  [["airdrop"], PALETTE.white],
  [["handover"], PALETTE.grey],
];

/** Admin levels; labelled `admin_level.<n>` in the catalogues. */
export const ADMIN_LEVELS = [0, 1, 2, 3];

/**
 * The layer catalogue, top of the panel first (= drawn last, on top).
 * `timeAware` layers get the `datetime` parameter on their tile URLs. `source`: the MapLibre source
 * the layer is drawn from. Vector layers share multi-layer tile sources (one request per tile for
 * several collections): `events` change with time and filters, `reference` layers hardly ever.
 */
export const LAYERS = [
  { id: "incidents", title: "Incidents", kind: "vector", source: "events", timeAware: true, visible: true, opacity: 0.85 },
  { id: "aid_deliveries", title: "Aid deliveries", kind: "vector", source: "events", timeAware: true, visible: true, opacity: 0.9 },
  { id: "settlements", title: "Settlements", kind: "vector", source: "reference", visible: true, opacity: 1 },
  { id: "agreement_areas", title: "Agreement areas", kind: "vector", source: "reference", visible: true, opacity: 0.8 },
  { id: "admin_areas", title: "Admin boundaries", kind: "vector", source: "reference", visible: true, opacity: 0.7 },
  // Shown when the raster catalogue (/rasters) has a raster of this kind; added to the map then.
  { id: "population", title: "Population", kind: "raster", source: "population", catalogueKind: "population", visible: false, opacity: 0.6 },
  { id: "shaded_relief", title: "Shaded relief", kind: "raster", source: "shaded_relief", visible: true, opacity: 1 },
];

/** The MapLibre sources, drawn bottom first; `layers`: the catalogue entries each one carries. */
export const SOURCES = [
  { id: "shaded_relief", kind: "raster", title: "Shaded relief", attribution: "Shaded relief" },
  { id: "reference", kind: "vector", title: "Boundaries, areas and places",
    attribution: "Boundaries: OCHA/UNCS COD-AB · Places: GeoNames" },
  { id: "events", kind: "vector", title: "Incidents and aid deliveries",
    attribution: "Incidents: UCDP GED and partner reports" },
].map((s) => ({ ...s, layers: LAYERS.filter((l) => l.source === s.id).map((l) => l.id) }));

export const LAYER_IDS = LAYERS.map((l) => l.id);
export const layerById = (id) => LAYERS.find((l) => l.id === id);
