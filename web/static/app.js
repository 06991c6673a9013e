// Truce viewer: wires the map, the layer panel, the time range, the detail panel and the URL hash.
// Plain ES module, no build step. Every request goes to this origin.

import { DEFAULT_TIME_RANGE, LAYERS, PALETTE, SOURCES, api, layerById } from "./js/config.js";
import { initDetails } from "./js/details.js";
import { initDraw, toWkt } from "./js/draw.js";
import { initExport } from "./js/export.js";
import { cqlFilter, incidentParams, initFilters, seriesFilter } from "./js/filters.js";
import { initHistogram } from "./js/histogram.js";
import { date as dateOf, initI18n, initLanguageSwitch, lang, num, t } from "./js/i18n.js";
import {
  BASEMAP_SOURCE, GLYPHS, RTL_PLUGIN, SHIPPED, basemapSource, chosenBasemap, genericLayers, isBasemapLayer,
  regionLayers, rememberBasemap,
} from "./js/basemap.js";
import {
  CLICKABLE, FIRST_PICTURE, OPACITY_PAINT, absoluteUrl, datetimeParam, incidentColour, multiTileUrl, perFeature,
  sourceSpec, style, styleLayerIds, styleLayers,
} from "./js/layers.js";
import { initKeyBox, transformRequest } from "./js/apikey.js";
import { initPanel } from "./js/panel.js";
import { initResults } from "./js/results.js";
import { initSearch } from "./js/search.js";
import { defaultState, formatHash, parseHash } from "./js/state.js";
import { fetchJSON, initStatus, setMapBusy, showError } from "./js/status.js";
import { initTimeline } from "./js/timeline.js";
import { placeName, label as vocab } from "./js/vocab.js";

const maplibregl = window.maplibregl;
// MapLibre's own worker count (half the cores: one on a two-core machine), started now, while
// /collections is fetched, not when the map is created. A second worker on two cores competed with
// the main thread and the renderer (docs/BENCHMARKS.md, the viewer).
maplibregl.prewarm();

/** The period the time-aware collections cover, from their temporal extents. */
function timeBounds(collections) {
  const starts = [];
  const ends = [];
  for (const c of collections) {
    if (!layerById(c.id)?.timeAware) continue;
    for (const [start, end] of c.extent?.temporal?.interval ?? []) {
      if (start) starts.push(start.slice(0, 10));
      if (end) ends.push(end.slice(0, 10));
    }
  }
  starts.sort();
  ends.sort();
  return {
    start: starts[0] ?? DEFAULT_TIME_RANGE.start,
    end: ends[ends.length - 1] ?? DEFAULT_TIME_RANGE.end,
  };
}

async function loadCollections() {
  try {
    // index.html started this request while the scripts were loading (window.truceEarly).
    const body = await fetchJSON(api.collections, {
      what: t("error.collections"), quiet: true, started: window.truceEarly?.collections,
    });
    return body.collections ?? [];
  } catch (err) {
    showError(t("error.no_data", { message: err.message }), () => window.location.reload());
    return [];
  }
}

/**
 * The tile URL of a source: for a multi-layer source, its shown collections (none shown: MapLibre
 * asks for no tile anyway), the time range unless it is the whole period (none chosen yet, or one
 * covering the time `bounds` of the data: one cache key for every whole-period tile) and each
 * layer's filters as `{collection}.{name}`.
 */
function sourceUrl(src, state, bounds) {
  if (src.kind === "raster") return absoluteUrl(api.rasterTileJson(src.id));
  const shown = src.layers.filter((id) => state.layers.includes(id));
  const ids = shown.length ? shown : src.layers;
  const params = { collections: ids.join(",") };
  const whole = !state.time.start || (bounds && state.time.start <= bounds.start && state.time.end >= bounds.end);
  if (!whole && ids.some((id) => layerById(id).timeAware)) params.datetime = datetimeParam(state.time);
  if (ids.includes("admin_areas")) params["admin_areas.admin_level"] = state.adminLevel;
  if (ids.includes("incidents")) {
    for (const [key, value] of Object.entries(incidentParams(state.filters))) params[`incidents.${key}`] = value;
  }
  return multiTileUrl(params);
}

/** The map view as a bbox parameter (lon/lat, clamped to the world). */
function viewBbox(map) {
  const b = map.getBounds();
  const clampLon = (x) => Math.max(-180, Math.min(180, x));
  const clampLat = (y) => Math.max(-85, Math.min(85, y));
  return [clampLon(b.getWest()), clampLat(b.getSouth()), clampLon(b.getEast()), clampLat(b.getNorth())]
    .map((v) => v.toFixed(4)).join(",");
}

/** Web Mercator: lon/lat -> world position in [0, 1). */
function mercator([lon, lat]) {
  const sin = Math.sin((lat * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)];
}

/**
 * The tiles of the first view, asked for now: MapLibre asks only once it has drawn a first
 * frame (hundreds of ms later with software WebGL). Tiles are cacheable (max-age), so its own
 * requests for the same URLs, with the same headers, are answered from the browser's cache (or
 * wait for these). Tiles as MapLibre covers a view: vector tiles 512 px, zoom rounded down; raster
 * tiles (`tileSize` 256, `round`) at the rounded zoom, within the source's zooms and `bounds`.
 */
function prefetchTiles(templates, center, zoom, container,
  { tileSize = 512, round = false, minzoom = 0, maxzoom = 14, bounds = null } = {}) {
  const ideal = zoom + Math.log2(512 / tileSize);
  const z = Math.min(maxzoom, Math.max(minzoom, round ? Math.round(ideal) : Math.floor(ideal)));
  const n = 2 ** z;
  const size = tileSize * 2 ** (ideal - z); // a tile on screen, in px
  const [mx, my] = mercator(center);
  const [w, h] = [container.clientWidth / 2, container.clientHeight / 2];
  const range = (c, half) => [Math.max(0, Math.floor((c * n * size - half) / size)),
    Math.min(n - 1, Math.floor((c * n * size + half) / size))];
  let [x0, x1] = range(mx, w);
  let [y0, y1] = range(my, h);
  if (bounds) { // [west, south, east, north]: no tile outside (MapLibre asks for none there)
    const [west, north] = mercator([bounds[0], bounds[3]]);
    const [east, south] = mercator([bounds[2], bounds[1]]);
    x0 = Math.max(x0, Math.floor(west * n));
    x1 = Math.min(x1, Math.floor(east * n));
    y0 = Math.max(y0, Math.floor(north * n));
    y1 = Math.min(y1, Math.floor(south * n));
  }
  for (const template of templates) {
    for (let x = x0; x <= x1; x += 1) {
      for (let y = y0; y <= y1; y += 1) {
        const url = template.replace("{z}", z).replace("{x}", x).replace("{y}", y);
        fetch(url, { headers: transformRequest(url).headers ?? {} }).catch(() => {}); // MapLibre reports errors
      }
    }
  }
}

/**
 * A raster source's TileJSON, if index.html has already asked for it (window.truceEarly) and it
 * answers within `waitMs`; else null (the style then names the TileJSON's URL, and MapLibre
 * fetches it and reports a failure).
 */
async function earlyTileJson(sourceId, waitMs = 1500) {
  const started = window.truceEarly?.[sourceId];
  if (!started) return null;
  const body = started.then((r) => (r.ok ? r.clone().json() : null)).catch(() => null);
  return Promise.race([body, new Promise((resolve) => { setTimeout(() => resolve(null), waitMs); })]);
}

/**
 * Loading indicator, errors and performance marks (read by bench/viewer.py: style ready, first frame
 * with data, all loaded), from the moment the map exists.
 */
function watchMap(map) {
  map.once("style.load", () => performance.mark("truce:style-load"));
  // Data: a vector tile (incidents, areas...), not the relief, which may come first.
  const vector = SOURCES.filter((src) => src.kind === "vector").map((src) => src.id);
  map.on("sourcedata", function firstData(e) {
    if (!e.tile || !vector.includes(e.sourceId)) return;
    map.off("sourcedata", firstData);
    map.once("render", () => performance.mark("truce:first-data-render"));
  });
  map.once("idle", () => performance.mark("truce:idle"));
  map.on("dataloading", () => setMapBusy(true));
  map.on("idle", () => setMapBusy(false));
  map.on("error", (e) => {
    const status = e.error?.status;
    if (e.error?.name === "AbortError" || e.error?.message === "AbortError") return; // superseded request
    if (status === 404 && e.sourceId) return; // no tile there: nothing to draw
    const known = SOURCES.some((src) => src.id === e.sourceId);
    const what = e.sourceId ? (known ? t(`source.${e.sourceId}`) : e.sourceId) : t("error.the_map");
    const why = status ? `HTTP ${status}` : (e.error?.message || t("error.network"));
    showError(t(status ? "error.tiles" : "error.tiles_offline", { what, why }));
    console.warn("map error", e.error); // eslint-disable-line no-console
    map.triggerRepaint(); // MapLibre may not render again after a failed tile, and so never go idle
  });
}

// The order of the style's sources, which is the order MapLibre asks its one worker for their tiles:
// the incidents first (points, quick to parse), the reference layers' polygons and lines last
// (their tiles take the worker much longer, and the first frame with data waited for them).
const LOAD_ORDER = ["events", "shaded_relief", "reference"];
const byLoadOrder = (a, b) => LOAD_ORDER.indexOf(a.id) - LOAD_ORDER.indexOf(b.id);

/**
 * Compile the shader programs of `layers` ([style layer id, MapLibre program name]) now, while this
 * thread waits for the worker, instead of in the frame that first draws them: software WebGL spends
 * long on each, on this thread. MapLibre compiles a program when a layer is first drawn; this
 * builds it the way that draw would (its painter's cache, keyed by the layer's paint properties)
 * from an empty bucket of the layer. Internals of the vendored MapLibre 4.7.1: on any other version,
 * or if anything is missing, it does nothing and MapLibre compiles the program when it draws.
 */
function compilePrograms(map, layers) {
  if (maplibregl.getVersion?.() !== "4.7.1" || !map.painter?.useProgram) return;
  for (const [layerId, program] of layers) {
    try {
      const layer = map.style?._layers?.[layerId];
      if (!layer?.paint) continue;
      if (layer.type === "raster") {
        map.painter.useProgram(program);
        continue;
      }
      const bucket = layer.createBucket({ index: 0, layers: [layer], zoom: Math.floor(map.getZoom()), overscaling: 1 });
      map.painter.useProgram(program, bucket.programConfigurations.get(layer.id));
    } catch (err) {
      console.warn(`could not compile the program of ${layerId} early`, err); // eslint-disable-line no-console
    }
  }
}

/**
 * The basemap choice: shown when the server has more than the shipped basemap (an operator added
 * one with `truce basemap add`); the choice is remembered in this browser.
 */
async function initBasemapChoice(map) {
  let listed = [];
  try {
    const res = await fetch("/basemaps", { headers: { Accept: "application/json" } });
    if (res.ok) listed = (await res.json()).basemaps ?? [];
  } catch { /* offline: the shipped one stays */ }
  const select = document.getElementById("basemap-select");
  const names = listed.map((b) => b.name);
  if (!select || names.length < 2) return;
  select.replaceChildren(...listed.map((b) => {
    const option = document.createElement("option");
    option.value = b.name;
    option.textContent = b.name === SHIPPED ? t("basemap.shipped") : b.name;
    return option;
  }));
  select.closest("[hidden]")?.removeAttribute("hidden");
  function use(name) {
    const entry = listed.find((b) => b.name === name);
    if (!entry) return;
    const style = map.getStyle();
    const firstData = style.layers.find((l) => !isBasemapLayer(l.id))?.id;
    for (const layer of style.layers) if (isBasemapLayer(layer.id)) map.removeLayer(layer.id);
    map.removeSource(BASEMAP_SOURCE);
    map.addSource(BASEMAP_SOURCE, basemapSource(name));
    const next = name === SHIPPED ? regionLayers(lang) : genericLayers(entry.vector_layers ?? [], lang);
    for (const layer of next.below) map.addLayer(layer, firstData);
    const relief = map.getLayer("shaded_relief") ? style.layers[style.layers.findIndex((l) => l.id === "shaded_relief") + 1]?.id : firstData;
    for (const layer of next.lines) map.addLayer(layer, map.getLayer(relief) ? relief : undefined);
    for (const layer of next.labels) map.addLayer(layer);
    select.value = name;
    rememberBasemap(name);
  }
  select.addEventListener("change", () => use(select.value));
  const kept = chosenBasemap(names);
  select.value = kept;
  if (kept !== SHIPPED) use(kept);
}

async function main() {
  await initI18n(); // the catalogues were asked for when i18n.js was read
  initLanguageSwitch(document.getElementById("lang-select"));
  initStatus();
  // The map does not wait for /collections, whose temporal extents the time slider and the
  // histogram need: a link without a time range asks for the whole period, which needs no bounds.
  const collectionsLoaded = loadCollections();
  const state = parseHash(window.location.hash, defaultState(null)); // time: {} unless in the link
  let bounds = null;

  // The whole style (sources, layers, visibility, opacity) goes into the constructor: tiles are
  // asked for as soon as the style is parsed, with one layer update sent to the worker.
  const opacity = Object.fromEntries(LAYERS.map((l) => [l.id, l.opacity]));
  const sources = {};
  const shown = (src) => src.layers.some((id) => state.layers.includes(id));
  const container = document.getElementById("map");
  prefetchTiles(SOURCES.filter((src) => src.kind === "vector" && shown(src))
    .sort(byLoadOrder)
    .map((src) => sourceUrl(src, state, bounds)), state.center, state.zoom, container);
  for (const src of [...SOURCES].sort(byLoadOrder)) {
    const tileJson = src.kind === "raster" ? await earlyTileJson(src.id) : null;
    sources[src.id] = sourceSpec(src, sourceUrl(src, state, bounds), tileJson);
    if (tileJson && shown(src)) {
      prefetchTiles(sources[src.id].tiles, state.center, state.zoom, container, { tileSize: 256, round: true, ...tileJson });
    }
  }
  const layers = [];
  for (const entry of [...LAYERS].reverse()) {
    if (entry.catalogueKind) continue; // added once the catalogue says it exists
    const own = styleLayers(entry.id, state);
    for (const layer of own) {
      layer.layout = { ...layer.layout, visibility: state.layers.includes(entry.id) ? "visible" : "none" };
    }
    for (const [layerId, prop, full] of OPACITY_PAINT[entry.id]) {
      own.find((l) => l.id === layerId).paint[prop] = full * opacity[entry.id];
    }
    layers.push(...own);
  }
  // The style layers outside the first picture start at opacity 0 (parsed from the tiles with the
  // others, but not drawn: MapLibre skips a layer with nothing to show, and compiles no shader for
  // it yet); `held`: the catalogue entries whose opacity comes back once that picture is drawn.
  let held = new Set();
  for (const entry of LAYERS) {
    for (const [layerId, prop] of OPACITY_PAINT[entry.id] ?? []) {
      const layer = layers.find((l) => l.id === layerId);
      if (!layer || FIRST_PICTURE.includes(layerId)) continue;
      layer.paint[prop] = 0;
      held.add(entry.id);
    }
  }
  layers.push({
    id: "agreement_areas-highlight", type: "line", source: "reference", "source-layer": "agreement_areas",
    layout: { visibility: "none" },
    filter: ["in", ["to-number", ["coalesce", ["get", "id"], ["id"]]], ["literal", []]],
    paint: { "line-color": perFeature(PALETTE.blue), "line-width": 4, "line-opacity": 0.95 },
  });

  // The basemap: sea and land under everything, water and borders above the relief, labels on top.
  const base = regionLayers(lang);
  sources[BASEMAP_SOURCE] = basemapSource(SHIPPED);
  const aboveRelief = layers.findIndex((l) => l.id === "shaded_relief") + 1;
  layers.splice(aboveRelief, 0, ...base.lines);
  layers.unshift(...base.below);
  layers.push(...base.labels);
  // Arabic labels need shaping and right-to-left ordering: MapLibre's plugin, from this host, loaded
  // when a label first needs it.
  if (maplibregl.getRTLTextPluginStatus?.() === "unavailable") {
    maplibregl.setRTLTextPlugin(absoluteUrl(RTL_PLUGIN), true).catch((err) => console.warn("RTL text plugin", err)); // eslint-disable-line no-console
  }

  const map = new maplibregl.Map({
    container: "map",
    style: style(sources, layers, absoluteUrl(GLYPHS)),
    center: state.center,
    zoom: state.zoom,
    minZoom: 3,
    maxZoom: 18,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    transformRequest,
  });
  window.truceMap = map;
  initKeyBox(document.getElementById("api-key-form"));
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  watchMap(map);
  function showHeld() {
    const ids = held;
    held = new Set();
    for (const id of ids) applyOpacity(id);
  }
  // The first picture is on screen once both vector sources have drawn their tiles (the relief
  // may still be on its way).
  const VECTOR_SOURCES = SOURCES.filter((src) => src.kind === "vector").map((src) => src.id);
  let vectorData = false;
  let firstDataDrawn;
  const firstData = new Promise((resolve) => { firstDataDrawn = resolve; });
  map.on("sourcedata", function firstTile(e) {
    if (!e.tile || !VECTOR_SOURCES.includes(e.sourceId)) return;
    map.off("sourcedata", firstTile);
    vectorData = true;
    map.once("render", firstDataDrawn); // that tile drawn
  });
  map.on("render", function firstPicture() {
    if (!vectorData || !VECTOR_SOURCES.every((id) => map.isSourceLoaded(id))) return;
    map.off("render", firstPicture);
    showHeld();
  });
  map.once("idle", showHeld); // in case no tile ever came
  const styleReady = new Promise((resolve) => { map.once("style.load", resolve); });
  // the incidents' program in the frame that asks the worker for their tiles
  styleReady.then(() => map.once("render", () => compilePrograms(map, [["incidents-circle", "circle"]])));
  const firstIdle = new Promise((resolve) => { map.once("idle", resolve); });

  // The panel, time line, filters, histogram and draw tool are built once the map has drawn its
  // first data: built in the frame that asks the worker for the first tiles, they kept the main
  // thread busy while the worker's first tiles came back, and the frame that draws them waited
  // (software WebGL, two cores); built before the style, they held it back.
  await Promise.race([
    firstData,
    firstIdle, // a map with no data to draw
    new Promise((resolve) => { setTimeout(resolve, 3000); }), // a map that never renders
  ]);
  // the programs of the layers shown next, while the worker parses the reference layers' tiles
  compilePrograms(map, [["agreement_areas-fill", "fill"], ["agreement_areas-line", "line"], ["shaded_relief", "raster"]]);
  bounds = timeBounds(await collectionsLoaded);
  if (!state.time.start) state.time = { ...bounds };

  // --- the URL hash -------------------------------------------------------------------------
  let writtenHash = "";
  function writeHash() {
    const c = map.getCenter();
    state.center = [c.lng, c.lat];
    state.zoom = map.getZoom();
    writtenHash = formatHash(state);
    if (window.location.hash !== writtenHash) window.history.replaceState(null, "", writtenHash);
  }

  // --- layer operations ---------------------------------------------------------------------
  function applyVisibility(id) {
    const visible = state.layers.includes(id) ? "visible" : "none";
    for (const layerId of styleLayerIds(id)) if (map.getLayer(layerId)) map.setLayoutProperty(layerId, "visibility", visible);
  }
  function applyOpacity(id) {
    held.delete(id);
    for (const [layerId, prop, full] of OPACITY_PAINT[id]) {
      if (map.getLayer(layerId)) map.setPaintProperty(layerId, prop, full * opacity[id]);
    }
  }
  /** Point a source at the tiles the state asks for (MapLibre refetches only if the URL changed). */
  function refreshSource(sourceId) {
    const src = SOURCES.find((s) => s.id === sourceId);
    if (!src || src.kind === "raster") return; // a raster's TileJSON never changes with the state
    const url = sourceUrl(src, state, bounds);
    const current = map.getSource(sourceId);
    if (current && current.tiles?.[0] !== url) current.setTiles([url]);
  }
  const refreshLayer = (id) => refreshSource(layerById(id).source);

  const details = initDetails(document.getElementById("details"), () => state.time);
  const panel = initPanel(document.getElementById("layer-panel"), state, {
    toggle(id, visible) {
      state.layers = LAYERS.map((l) => l.id).filter((l) => (l === id ? visible : state.layers.includes(l)));
      applyVisibility(id);
      refreshLayer(id); // the source's tiles carry only its shown layers
      writeHash();
    },
    opacity(id, value) {
      opacity[id] = value;
      applyOpacity(id);
    },
    adminLevel(level) {
      state.adminLevel = level;
      for (const layerId of styleLayerIds("admin_areas")) {
        map.setFilter(layerId, ["==", ["to-number", ["get", "admin_level"]], level]);
      }
      refreshLayer("admin_areas");
      writeHash();
    },
    colourBy(value) {
      state.colourBy = value;
      map.setPaintProperty("incidents-circle", "circle-color", incidentColour(value));
      writeHash();
    },
  });

  const whenIdle = () => new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    map.once("idle", () => { clearTimeout(timer); resolve(); });
  });
  const timeline = initTimeline({
    bounds,
    initial: state.time,
    onChange(range) {
      state.time = range;
      for (const src of SOURCES) refreshSource(src.id);
      histogram.setRange(range);
      updateExport();
      writeHash();
    },
    afterStep: whenIdle,
  });
  state.time = timeline.range; // clamped to the data's period

  // --- filters, the histogram, counts and export ------------------------------------------------
  let lastTotal = null;
  function showCount() {
    if (!state.layers.includes("incidents")) {
      filters.setCount("");
      return;
    }
    if (lastTotal !== null) filters.setCount(t("filters.count", { n: num(lastTotal) }));
  }
  // The histogram counts the selected range (from the link, say), not the whole period.
  const histogram = initHistogram(document.getElementById("histogram"), bounds, ({ total }) => {
    lastTotal = total;
    showCount();
  }, state.time);
  initExport([document.getElementById("export-geojson"), document.getElementById("export-csv")]);
  function updateExport() {
    const base = { bbox: viewBbox(map), datetime: datetimeParam(state.time), ...incidentParams(state.filters) };
    const href = (f) => `${api.items("incidents")}?${new URLSearchParams({ ...base, f, limit: "10000" })}`;
    document.getElementById("export-geojson").href = href("json");
    document.getElementById("export-csv").href = href("csv");
  }
  /** The histogram and the count: the incidents in view that every filter of the map lets through. */
  function updateCounts(delay) {
    const params = { bbox: viewBbox(map) };
    if (state.filters.eventType) params.event_type = state.filters.eventType;
    if (state.filters.verification) params.verification_status = state.filters.verification;
    const filter = seriesFilter(state.filters);
    if (filter) params.filter = filter;
    histogram.update(params, delay);
    updateExport();
  }
  const filters = initFilters(document.getElementById("filters"), state.filters, (next) => {
    state.filters = next;
    refreshLayer("incidents");
    updateCounts(0);
    writeHash();
  });

  // --- once the style is ready: the draw tool; the histogram once the map has drawn -----------------
  // ("load" would wait for every tile as well: the style carries its sources from the start.)
  styleReady.then(() => {
    for (const src of SOURCES) refreshSource(src.id); // changes nothing unless the link's range was clamped
    draw = initDraw(map, { onGeometry: check, onClear: clearCheck });
    writeHash();
  });
  firstIdle.then(() => updateCounts(0)); // a whole-period count is slow: the map comes first

  /** Catalogue rasters (population) as overlays above the relief, once the map has drawn. */
  async function addCatalogueLayers() {
    let rasters;
    try {
      rasters = (await fetchJSON(api.rasters, { what: t("error.rasters"), quiet: true })).rasters ?? [];
    } catch {
      return; // an optional overlay: the map stands without it
    }
    for (const entry of LAYERS.filter((l) => l.catalogueKind)) {
      const found = rasters.find((r) => r.kind === entry.catalogueKind);
      if (!found || map.getSource(entry.source)) continue;
      const src = { kind: "raster", attribution: `${t(`layer.${entry.id}`)}: ${found.name}` };
      map.addSource(entry.source, sourceSpec(src, absoluteUrl(api.rasterTileJson(found.name))));
      for (const layer of styleLayers(entry.id, state)) map.addLayer(layer, "admin_areas-fill");
      applyVisibility(entry.id);
      applyOpacity(entry.id);
      panel.reveal(entry.id);
    }
  }
  firstIdle.then(addCatalogueLayers);

  // --- spatial check: deconfliction + incidents near ---------------------------------------------
  let draw = null;
  let checkController = null;
  function highlightAreas(ids) {
    if (!map.getLayer("agreement_areas-highlight")) return;
    map.setFilter("agreement_areas-highlight", ["in", ["to-number", ["coalesce", ["get", "id"], ["id"]]], ["literal", ids]]);
    map.setLayoutProperty("agreement_areas-highlight", "visibility", ids.length ? "visible" : "none");
  }
  function clearCheck() {
    checkController?.abort();
    highlightAreas([]);
    results.hide();
  }
  const results = initResults(document.getElementById("analysis"), {
    openArea: (id, name) => details.show("agreement_areas", id, { id, name }),
    close: () => { clearCheck(); draw?.reset(); },
  });
  async function incidentsNear(geometry, distanceM, signal) {
    const radius = distanceM > 0 ? distanceM : 1000;
    const spatial = `S_DWITHIN(geom, ${toWkt(geometry)}, ${radius}, meters)`;
    const extra = cqlFilter(state.filters);
    const params = { ...incidentParams(state.filters), f: "json", limit: "201", sortby: "-occurred_at",
      properties: "occurred_at,event_type,fatalities,verification_status",
      datetime: datetimeParam(state.time), filter: extra ? `${spatial} AND ${extra}` : spatial };
    const body = await fetchJSON(`${api.items("incidents")}?${new URLSearchParams(params)}`, {
      what: t("error.near"), signal, quiet: true,
    });
    const features = body.features ?? [];
    return { features: features.slice(0, 200), more: features.length > 200, distanceM: radius };
  }
  async function check(geometry, distanceM) {
    checkController?.abort();
    checkController = new AbortController();
    const { signal } = checkController;
    const at = `${state.time.end}T23:59:59Z`;
    details.close(); // a new check replaces what the side column showed, the details included
    results.open(geometry, distanceM, at);
    highlightAreas([]);
    try {
      const [answer, near] = await Promise.all([
        fetchJSON(api.deconfliction, { what: t("error.check"), signal, quiet: true, body: { geometry, at, distance_m: distanceM } }),
        incidentsNear(geometry, distanceM, signal).catch((err) => {
          if (err.name === "AbortError") throw err;
          return null; // the check still stands without the incident list
        }),
      ]);
      highlightAreas((answer.areas ?? []).map((a) => Number(a.id)));
      draw.showPlaces(answer.settlements ?? [], answer.aid_deliveries ?? []);
      results.show(answer, near);
    } catch (err) {
      if (err.name === "AbortError") return;
      results.fail(err.message);
      showError(err.message);
    }
  }

  // --- hover and click -----------------------------------------------------------------------
  const clickable = () => CLICKABLE.filter(([layerId]) => map.getLayer(layerId));
  function pick(point) {
    const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
    for (const [layerId, collectionId] of clickable()) {
      const [feature] = map.queryRenderedFeatures(box, { layers: [layerId] });
      if (feature) return { feature, collectionId };
    }
    return null;
  }
  const hover = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "hover-popup", offset: 8 });
  function hoverText({ feature, collectionId }) {
    const p = feature.properties;
    if (Number(p.point_count) > 1) return t("hover.cluster", { n: num(p.point_count) });
    const day = (s) => (s ? dateOf(s) : "");
    const word = (field, code) => (code ? vocab(field, code) : "");
    switch (collectionId) {
      case "incidents": return [day(p.occurred_at), word("event_type", p.event_type), p.location_name].filter(Boolean).join(" · ");
      case "aid_deliveries": return [day(p.delivered_at), word("cargo_type", p.cargo_type), word("method", p.method), p.location_name]
        .filter(Boolean).join(" · ");
      case "settlements": return placeName(p);
      case "agreement_areas": return [p.name, word("status", p.status)].filter(Boolean).join(" · ");
      case "admin_areas": return placeName(p);
      default: return "";
    }
  }
  map.on("mousemove", (e) => {
    if (draw?.active()) {
      hover.remove();
      return;
    }
    const hit = pick(e.point);
    if (!hit) {
      map.getCanvas().style.cursor = "";
      hover.remove();
      return;
    }
    map.getCanvas().style.cursor = "pointer";
    hover.setLngLat(e.lngLat).setText(hoverText(hit) || "").addTo(map);
  });
  map.getCanvas().addEventListener("mouseleave", () => hover.remove());
  map.on("click", (e) => {
    if (draw?.active()) return; // the draw tool takes this click
    const hit = pick(e.point);
    if (!hit) return;
    const p = hit.feature.properties;
    if (Number(p.point_count) > 1) {
      map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 14) });
      return;
    }
    const featureId = p.id ?? hit.feature.id;
    if (featureId !== undefined && featureId !== null) details.show(hit.collectionId, featureId, p);
  });

  // --- search, view changes, pasted links ----------------------------------------------------
  initBasemapChoice(map);
  initSearch(document.getElementById("search"), (place) => {
    map.flyTo({ center: place.coordinates, zoom: Math.max(map.getZoom(), 11) });
    details.show("settlements", place.id, { name: place.name, name_ar: place.nameAr, name_ru: place.nameRu, population: place.population });
  });
  map.on("moveend", () => {
    writeHash();
    updateCounts(400);
  });
  window.addEventListener("hashchange", () => {
    if (window.location.hash === writtenHash) return;
    const next = parseHash(window.location.hash, defaultState(bounds));
    Object.assign(state, { layers: next.layers, adminLevel: next.adminLevel, colourBy: next.colourBy, filters: next.filters });
    panel.sync(state);
    filters.sync(state.filters);
    if (map.isStyleLoaded()) {
      for (const entry of LAYERS) applyVisibility(entry.id);
      map.setPaintProperty("incidents-circle", "circle-color", incidentColour(state.colourBy));
      for (const layerId of styleLayerIds("admin_areas")) {
        map.setFilter(layerId, ["==", ["to-number", ["get", "admin_level"]], state.adminLevel]);
      }
      for (const src of SOURCES) refreshSource(src.id);
    }
    updateCounts(0);
    timeline.setRange(next.time); // refreshes time-aware tiles and writes the hash
    map.jumpTo({ center: next.center, zoom: next.zoom });
  });
  firstIdle.then(() => { document.body.dataset.ready = "1"; }); // drawn, and every control wired
}

main().catch((err) => {
  showError(t("app.failed", { message: err.message }));
  throw err;
});
