// Spatial questions on the map: "Check here" (a point), a line or an area drawn by clicking
// vertices. Double-click or Enter finishes, Escape cancels, Backspace removes the last vertex. With
// the keyboard: focus the map, move it with the arrow keys and press Space to add the point under
// the cross-hair in the middle. No draw library: one GeoJSON source and three style layers.

import { PALETTE } from "./config.js";
import { t } from "./i18n.js";

const SOURCE = "truce-draw";
// [mode, catalogue key of its button, hint and title]
const TOOLS = [["point", "draw.point"], ["line", "draw.line"], ["polygon", "draw.area"]];
const MIN_VERTICES = { point: 1, line: 2, polygon: 3 };
const HINT_KEYS = { point: "draw.hint_point", line: "draw.hint_line", polygon: "draw.hint_area" };
const hintOf = (mode) => t(HINT_KEYS[mode]);

/** A polygon approximating a circle of `metres` around [lon, lat] (for showing the distance). */
export function circle([lon, lat], metres, steps = 64) {
  const ring = [];
  const dLat = metres / 111_320;
  const dLon = metres / (111_320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= steps; i += 1) {
    const a = (i / steps) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: "Polygon", coordinates: [ring] };
}

/** The GeoJSON geometry of a finished drawing. */
export function toGeometry(mode, vertices) {
  if (mode === "point") return { type: "Point", coordinates: vertices[0] };
  if (mode === "line") return { type: "LineString", coordinates: vertices };
  return { type: "Polygon", coordinates: [[...vertices, vertices[0]]] };
}

/** WKT of a geometry (for a CQL2 S_DWITHIN filter). */
export function toWkt(geometry) {
  const pt = ([x, y]) => `${x.toFixed(6)} ${y.toFixed(6)}`;
  if (geometry.type === "Point") return `POINT(${pt(geometry.coordinates)})`;
  if (geometry.type === "LineString") return `LINESTRING(${geometry.coordinates.map(pt).join(", ")})`;
  return `POLYGON(${geometry.coordinates.map((r) => `(${r.map(pt).join(", ")})`).join(", ")})`;
}

const feature = (geometry, role) => ({ type: "Feature", geometry, properties: { role } });
const near = (a, b) => Math.abs(a[0] - b[0]) < 1e-9 && Math.abs(a[1] - b[1]) < 1e-9;

/**
 * @param map  the MapLibre map (style loaded)
 * @param {{onGeometry: (geometry: object, distanceM: number) => void, onClear: () => void}} on
 * @returns {{handled: (e) => boolean, showResult: (geometry, distanceM, places) => void, element}}
 */
export function initDraw(map, on) {
  let mode = null;
  let vertices = [];
  let cursor = null;
  let drawn = []; // features left on the map after a check

  map.addSource(SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({
    id: "draw-fill", type: "fill", source: SOURCE, filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": PALETTE.blue, "fill-opacity": ["match", ["get", "role"], "buffer", 0.08, 0.18] },
  });
  map.addLayer({
    id: "draw-buffer", type: "line", source: SOURCE, filter: ["==", ["get", "role"], "buffer"],
    paint: { "line-color": PALETTE.blue, "line-width": 1.5, "line-dasharray": [2, 2] },
  });
  map.addLayer({
    id: "draw-line", type: "line", source: SOURCE,
    filter: ["all", ["!=", ["geometry-type"], "Point"], ["!=", ["get", "role"], "buffer"]],
    paint: { "line-color": PALETTE.blue, "line-width": 2.5 },
  });
  map.addLayer({
    id: "draw-point", type: "circle", source: SOURCE, filter: ["==", ["geometry-type"], "Point"],
    paint: {
      "circle-radius": ["match", ["get", "role"], "settlement", 6, "delivery", 6, 5],
      "circle-color": ["match", ["get", "role"], "settlement", PALETTE.white, "delivery", PALETTE.yellow, PALETTE.blue],
      "circle-stroke-color": ["match", ["get", "role"], "settlement", PALETTE.blue, PALETTE.white],
      "circle-stroke-width": 2,
    },
  });

  // --- the toolbar (a map control, so it sits on the map and moves with it) ----------------
  const element = document.createElement("div");
  element.className = "maplibregl-ctrl maplibregl-ctrl-group draw-tools";
  element.setAttribute("role", "toolbar");
  element.setAttribute("aria-label", t("draw.toolbar"));
  const buttons = new Map();
  for (const [id, key] of TOOLS) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `draw-${id}`;
    b.textContent = t(key);
    b.title = t(`${key}_title`);
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => (mode === id ? cancel() : start(id)));
    buttons.set(id, b);
    element.append(b);
  }
  const distanceLabel = document.createElement("label");
  distanceLabel.className = "distance";
  distanceLabel.textContent = `${t("draw.within")} `;
  const distance = document.createElement("input");
  distance.type = "number";
  distance.id = "draw-distance";
  distance.min = "0";
  distance.max = "50000";
  distance.step = "100";
  distance.value = "2000";
  distance.setAttribute("aria-label", t("draw.distance"));
  distanceLabel.append(distance, ` ${t("draw.m")}`);
  const clearButton = document.createElement("button");
  clearButton.type = "button";
  clearButton.id = "draw-clear";
  clearButton.textContent = t("draw.clear");
  clearButton.title = t("draw.clear_title");
  clearButton.addEventListener("click", clear);
  const hint = document.createElement("p");
  hint.className = "draw-hint";
  hint.setAttribute("aria-live", "polite");
  element.append(distanceLabel, clearButton, hint);
  map.addControl({ onAdd: () => element, onRemove: () => element.remove() }, "top-left");

  const distanceM = () => {
    const n = Number(distance.value);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, 50_000) : 0;
  };

  function render() {
    const features = [...drawn];
    if (mode && vertices.length) {
      const preview = cursor ? [...vertices, cursor] : vertices;
      if (mode === "polygon" && preview.length >= 3) features.push(feature(toGeometry("polygon", preview), "drawing"));
      else if (preview.length >= 2) features.push(feature({ type: "LineString", coordinates: preview }, "drawing"));
      for (const v of vertices) features.push(feature({ type: "Point", coordinates: v }, "vertex"));
    }
    map.getSource(SOURCE).setData({ type: "FeatureCollection", features });
  }

  function setMode(next) {
    mode = next;
    vertices = [];
    cursor = null;
    for (const [id, b] of buttons) b.setAttribute("aria-pressed", String(id === mode));
    hint.textContent = mode ? hintOf(mode) : "";
    document.body.dataset.drawing = mode ?? "";
    map.getCanvas().style.cursor = mode ? "crosshair" : "";
    if (mode) map.doubleClickZoom.disable();
    else setTimeout(() => map.doubleClickZoom.enable(), 0); // after the finishing double-click
    render();
  }

  function start(id) {
    setMode(id);
    map.getCanvas().focus();
  }
  function cancel() {
    setMode(null);
  }
  function clear() {
    drawn = [];
    setMode(null);
    on.onClear();
  }

  function finish() {
    const pts = vertices.filter((v, i) => i === 0 || !near(v, vertices[i - 1]));
    if (!mode || pts.length < MIN_VERTICES[mode]) {
      hint.textContent = mode ? t("draw.too_few", { n: MIN_VERTICES[mode], hint: hintOf(mode) }) : "";
      return;
    }
    const geometry = toGeometry(mode, pts);
    const d = distanceM();
    setMode(null);
    drawn = [feature(geometry, "query")];
    if (geometry.type === "Point" && d > 0) drawn.unshift(feature(circle(geometry.coordinates, d), "buffer"));
    render();
    on.onGeometry(geometry, d);
  }

  function add(lngLat) {
    vertices.push([Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))]);
    if (mode === "point") finish();
    else render();
  }

  map.on("click", (e) => {
    if (!mode) return;
    e.truceHandled = true; // app.js: no details panel for this click
    add(e.lngLat);
  });
  map.on("dblclick", (e) => {
    if (!mode) return;
    e.preventDefault();
    finish();
  });
  map.on("mousemove", (e) => {
    if (!mode || !vertices.length) return;
    cursor = [e.lngLat.lng, e.lngLat.lat];
    render();
  });
  document.addEventListener("keydown", (e) => {
    if (!mode) return;
    const inField = e.target instanceof HTMLElement && e.target.matches("input, select, textarea");
    if (e.key === "Escape") {
      cancel();
      e.stopPropagation();
    } else if (e.key === "Enter" && !inField && !(e.target instanceof HTMLButtonElement)) {
      e.preventDefault();
      finish();
    } else if (e.key === "Backspace" && !inField && vertices.length) {
      e.preventDefault();
      vertices.pop();
      render();
    } else if (e.key === " " && e.target === map.getCanvas()) {
      e.preventDefault();
      add(map.getCenter());
    }
  }, true);

  /** Show what a check found: settlements and deliveries as points next to the drawing. */
  function showPlaces(settlements, deliveries) {
    drawn = drawn.filter((f) => f.properties.role === "query" || f.properties.role === "buffer");
    for (const s of settlements) drawn.push(feature({ type: "Point", coordinates: [s.lon, s.lat] }, "settlement"));
    for (const d of deliveries) drawn.push(feature({ type: "Point", coordinates: [d.lon, d.lat] }, "delivery"));
    render();
  }

  return {
    element,
    active: () => mode !== null,
    showPlaces,
    /** Remove the drawing (without telling onClear). */
    reset: () => { drawn = []; setMode(null); },
    distanceM,
  };
}
