// Small builders, one per layer kind: MapLibre sources, style layers and tile URLs.
// Pure functions of their arguments; the map itself is handled in app.js.

import {
  AGREEMENT_STATUSES, AID_METHODS, CARGO_TYPES, CLUSTER_COLOUR, EVENT_TYPES, EVENT_TYPE_OTHER,
  PALETTE, VERIFICATION_STATUSES, api, layerById,
} from "./config.js";

/**
 * Absolute same-origin URL for a root-relative path. MapLibre fetches tiles in a blob: worker, where
 * relative URLs fail. Not `new URL()`: that would percent-encode the `{z}` placeholders.
 */
export const absoluteUrl = (path) => `${window.location.origin}${path}`;

/**
 * The multi-layer tile URL template: `params` as query parameters (`collections`, `datetime`,
 * per-layer filters `{collection}.{name}`), encoded; the `{z}/{y}/{x}` placeholders stay literal
 * for MapLibre to fill.
 */
export function multiTileUrl(params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const qs = query.toString();
  return absoluteUrl(api.multiTiles) + (qs ? `?${qs}` : "");
}

/** `YYYY-MM-DD` pair -> ISO 8601 interval covering both whole days (UTC); `..` for an open end. */
export function datetimeParam({ start, end }) {
  const from = start ? `${start}T00:00:00Z` : "..";
  const to = end ? `${end}T23:59:59Z` : "..";
  return `${from}/${to}`;
}

/** A `match` expression over a (lower-cased) string property, from a legend table. */
function matchExpr(property, table, fallback) {
  const expr = ["match", ["downcase", ["to-string", ["get", property]]]];
  for (const [values, colour] of table) expr.push(values, colour);
  expr.push(fallback);
  return expr;
}

const isCluster = [">", ["to-number", ["coalesce", ["get", "point_count"], 1], 1], 1];

/**
 * `value` for every feature, written as a per-feature expression. MapLibre compiles one shader
 * program per layer type and per set of paint properties that vary by feature; a layer that
 * states a property as a constant needs its own program. Software WebGL (this project's headless
 * Chromium, SwiftShader) spends long compiling each one, on the main thread, before the first
 * frame: stating these per feature lets the circle layers share one program, and the fill and
 * line layers one each (bench/viewer.py counts them).
 */
export const perFeature = (value) => ["case", ["has", "__never"], value, value];

/** Circle colour of incidents: clusters in one colour, single incidents by the chosen attribute. */
export function incidentColour(colourBy) {
  const single = colourBy === "verification_status"
    ? matchExpr("verification_status", VERIFICATION_STATUSES, EVENT_TYPE_OTHER)
    : matchExpr("event_type", EVENT_TYPES, EVENT_TYPE_OTHER);
  return ["case", isCluster, CLUSTER_COLOUR, single];
}

function incidentRadius() {
  const clusterRadius = [
    "interpolate", ["linear"], ["to-number", ["get", "point_count"], 2],
    2, 6, 100, 11, 1000, 16, 10000, 22, 100000, 30,
  ];
  const at = (single) => ["case", isCluster, clusterRadius, single];
  // A zoom interpolation must be the outermost expression.
  return ["interpolate", ["linear"], ["zoom"], 5, at(2.5), 9, at(4), 13, at(7)];
}

/** Where a catalogue entry's style layers read from: its source, and its layer in the tiles. */
const from = (id) => (layerById(id).kind === "raster" ? { source: layerById(id).source }
  : { source: layerById(id).source, "source-layer": id });

const admin = (id, level) => [
  {
    id: `${id}-fill`, type: "fill", ...from(id),
    filter: ["==", ["to-number", ["get", "admin_level"]], level],
    // There to be clicked, not seen: at opacity 0 MapLibre never draws it (a blended fill over
    // the whole view on every frame, in software WebGL) but still finds it under the pointer.
    // No antialiased edge: the line layer draws the boundary.
    paint: { "fill-color": perFeature(PALETTE.black), "fill-opacity": 0, "fill-antialias": false },
  },
  {
    id: `${id}-line`, type: "line", ...from(id),
    filter: ["==", ["to-number", ["get", "admin_level"]], level],
    paint: { "line-color": perFeature("#333333"), "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.6, 10, 1.6], "line-opacity": 0.7 },
  },
];

/**
 * The style layers of one catalogue entry. `opts` carries what the panel controls:
 * `adminLevel`, `colourBy`.
 */
export function styleLayers(id, opts) {
  switch (id) {
    // No fade-in: each raster tile would redraw the whole map for the length of the fade (in
    // software WebGL, every one of those frames is costly).
    case "shaded_relief":
      return [{ id: "shaded_relief", type: "raster", ...from(id), paint: { "raster-opacity": RELIEF, "raster-fade-duration": 0 } }];
    case "population":
      return [{ id: "population", type: "raster", ...from(id), paint: { "raster-opacity": 0.6, "raster-fade-duration": 0 } }];
    case "admin_areas":
      return admin(id, opts.adminLevel);
    case "agreement_areas":
      return [
        {
          id: `${id}-fill`, type: "fill", ...from(id),
          // the line layer below draws the outline (no antialiased edge: one shader program less)
          paint: { "fill-color": matchExpr("status", AGREEMENT_STATUSES, PALETTE.grey), "fill-opacity": 0.35, "fill-antialias": false },
        },
        {
          id: `${id}-line`, type: "line", ...from(id),
          paint: { "line-color": matchExpr("status", AGREEMENT_STATUSES, PALETTE.grey), "line-width": 1.5, "line-opacity": 0.9 },
        },
      ];
    case "settlements":
      return [{
        id: `${id}-circle`, type: "circle", ...from(id),
        paint: {
          "circle-color": perFeature(PALETTE.white),
          "circle-stroke-color": perFeature(PALETTE.black),
          "circle-stroke-width": perFeature(1),
          "circle-radius": [
            "interpolate", ["linear"], ["zoom"],
            5, ["interpolate", ["linear"], ["to-number", ["get", "population"], 0], 0, 1.5, 1000000, 5],
            11, ["interpolate", ["linear"], ["to-number", ["get", "population"], 0], 0, 3, 1000000, 10],
          ],
          "circle-opacity": 1,
          "circle-stroke-opacity": 1,
        },
      }];
    case "aid_deliveries":
      return [{
        id: `${id}-circle`, type: "circle", ...from(id),
        paint: {
          "circle-color": matchExpr("cargo_type", CARGO_TYPES, PALETTE.grey),
          "circle-stroke-color": matchExpr("method", AID_METHODS, PALETTE.black),
          "circle-stroke-width": perFeature(2),
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 5, perFeature(3.5), 10, perFeature(6), 14, perFeature(9)],
          "circle-opacity": 1,
          "circle-stroke-opacity": 1,
        },
      }];
    case "incidents":
      return [{
        id: `${id}-circle`, type: "circle", ...from(id),
        paint: {
          "circle-color": incidentColour(opts.colourBy),
          "circle-radius": incidentRadius(),
          "circle-stroke-color": perFeature(PALETTE.white),
          "circle-stroke-width": ["case", isCluster, 1.5, 0.5],
          "circle-opacity": 1,
          "circle-stroke-opacity": 1,
        },
      }];
    default:
      throw new Error(`unknown layer ${id}`);
  }
}

/** The relief is a subtle layer over the basemap's land (at the slider's full opacity). */
const RELIEF = 0.35;

/** Paint properties scaled by a layer's opacity slider, with their full-opacity values. */
export const OPACITY_PAINT = {
  shaded_relief: [["shaded_relief", "raster-opacity", RELIEF]],
  population: [["population", "raster-opacity", 1]],
  admin_areas: [["admin_areas-line", "line-opacity", 1]],
  agreement_areas: [["agreement_areas-fill", "fill-opacity", 0.45], ["agreement_areas-line", "line-opacity", 1]],
  settlements: [["settlements-circle", "circle-opacity", 1], ["settlements-circle", "circle-stroke-opacity", 1]],
  aid_deliveries: [["aid_deliveries-circle", "circle-opacity", 1], ["aid_deliveries-circle", "circle-stroke-opacity", 1]],
  incidents: [["incidents-circle", "circle-opacity", 1], ["incidents-circle", "circle-stroke-opacity", 1]],
};

/** Style layer ids of a catalogue entry (what visibility toggles act on). */
export const styleLayerIds = (id) => styleLayers(id, { adminLevel: 1, colourBy: "event_type" }).map((l) => l.id);

/**
 * The style layers of the first picture: the agreement areas' fill and the incidents. Every other
 * switched-on layer (the relief, area outlines, admin boundaries, settlements, aid deliveries) is
 * shown right after that picture is drawn: MapLibre compiles each kind of layer's shader program
 * before drawing it (costly in software WebGL; the relief's raster program and its clipping
 * masks as well) and uploads the relief's textures.
 */
export const FIRST_PICTURE = ["agreement_areas-fill", "incidents-circle"];

/** Layers a click can pick, most specific first. */
export const CLICKABLE = [
  ["incidents-circle", "incidents"],
  ["aid_deliveries-circle", "aid_deliveries"],
  ["settlements-circle", "settlements"],
  ["agreement_areas-fill", "agreement_areas"],
  ["admin_areas-fill", "admin_areas"],
];

/**
 * The MapLibre source spec of one of config's SOURCES; `url` is a raster's TileJSON (its bounds and
 * native zooms: MapLibre stretches the last zoom's tiles rather than asking for upsampled ones) or
 * a vector tile URL template. `tileJson`: a raster's TileJSON already fetched, put in the spec
 * (MapLibre then asks for its tiles at once instead of fetching `url` first).
 */
export function sourceSpec(src, url, tileJson = null) {
  if (src.kind === "raster") {
    if (!tileJson?.tiles?.length) return { type: "raster", url, tileSize: 256, attribution: src.attribution };
    const { tiles, minzoom, maxzoom, bounds } = tileJson;
    return {
      type: "raster", tiles, tileSize: 256, attribution: src.attribution,
      ...(minzoom !== undefined ? { minzoom } : {}), ...(maxzoom !== undefined ? { maxzoom } : {}),
      ...(bounds ? { bounds } : {}),
    };
  }
  return { type: "vector", tiles: [url], minzoom: 0, maxzoom: 14, attribution: src.attribution };
}

/**
 * A style with no sprite; glyphs (when given) from this host, like everything else: `sources`
 * (id -> spec) and `layers` as given. No background layer: the map's container paints that colour
 * (style.css), which saves MapLibre a shader program. Paint changes (opacity) apply at once: a
 * fading transition would redraw the map for its whole duration.
 */
export function style(sources = {}, layers = [], glyphs = undefined) {
  return { version: 8, sources, layers, ...(glyphs ? { glyphs } : {}), transition: { duration: 0, delay: 0 } };
}
