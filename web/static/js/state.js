// The viewer's shareable state and its URL-hash form:
//   #map=6.00/35.0000/38.5000&t=2016-01-01/2016-12-31&layers=incidents,settlements&admin=1&colour=event_type
//   &event_type=state_based_violence&verification=confirmed&actor=IS&source=ucdp_ged&fatalities=5..100
// Every value is validated on the way in; anything unknown falls back to the default.

import { ADMIN_LEVELS, INITIAL_VIEW, LAYERS, LAYER_IDS } from "./config.js";
import { NO_FILTERS, formatFilters, parseFilters } from "./filters.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const COLOUR_BY = ["event_type", "verification_status"];

export function defaultState(timeRange) {
  return {
    zoom: INITIAL_VIEW.zoom,
    center: [...INITIAL_VIEW.center],
    time: { ...timeRange },
    layers: LAYERS.filter((l) => l.visible).map((l) => l.id),
    adminLevel: 1,
    colourBy: "event_type",
    filters: { ...NO_FILTERS },
  };
}

const safeDecode = (s) => {
  try { return decodeURIComponent(s); } catch { return ""; }
};
const finite = (s) => (s !== undefined && s !== "" && Number.isFinite(Number(s)) ? Number(s) : null);

/** Parse a hash over defaults; returns a new state. */
export function parseHash(hash, defaults) {
  const state = structuredClone(defaults);
  const params = new Map(
    hash.replace(/^#/, "").split("&").filter(Boolean).map((kv) => {
      const i = kv.indexOf("=");
      return i < 0 ? [kv, ""] : [kv.slice(0, i), safeDecode(kv.slice(i + 1))];
    }),
  );
  if (params.has("map")) {
    const [z, lat, lon] = params.get("map").split("/").map(finite);
    if (z !== null && lat !== null && lon !== null && z >= 0 && z <= 22 && Math.abs(lat) <= 85 && Math.abs(lon) <= 180) {
      state.zoom = z;
      state.center = [lon, lat];
    }
  }
  if (params.has("t")) {
    const [start, end] = params.get("t").split("/");
    if (DATE.test(start) && DATE.test(end) && start <= end) state.time = { start, end };
  }
  if (params.has("layers")) {
    state.layers = params.get("layers").split(",").filter((id) => LAYER_IDS.includes(id));
  }
  const level = finite(params.get("admin"));
  if (ADMIN_LEVELS.includes(level)) state.adminLevel = level;
  if (COLOUR_BY.includes(params.get("colour"))) state.colourBy = params.get("colour");
  state.filters = parseFilters(params);
  return state;
}

export function formatHash(state) {
  const [lon, lat] = state.center;
  return "#" + [
    `map=${state.zoom.toFixed(2)}/${lat.toFixed(4)}/${lon.toFixed(4)}`,
    `t=${state.time.start}/${state.time.end}`,
    `layers=${state.layers.join(",")}`,
    `admin=${state.adminLevel}`,
    `colour=${state.colourBy}`,
    ...formatFilters(state.filters),
  ].join("&");
}
