// The basemap: vector tiles served by Truce (/basemaps), drawn under the data layers, with labels
// in the viewer's language (English where a place has no name in it) on top. The shipped basemap
// ("region") has its own style; a basemap an operator added (`truce basemap add`, e.g. an
// OpenStreetMap extract) is drawn by a generic style from the layer list its TileJSON gives.
// Glyphs and the right-to-left text plugin are served from this host too.

import { absoluteUrl, perFeature } from "./layers.js";

export const BASEMAP_SOURCE = "basemap";
export const SHIPPED = "region";
export const GLYPHS = "/basemaps/fonts/{fontstack}/{range}.pbf";
export const RTL_PLUGIN = "/static/vendor/mapbox-gl-rtl-text/0.2.3/mapbox-gl-rtl-text.min.js";
const REGULAR = ["DejaVu Sans"];
const BOLD = ["DejaVu Sans Bold"];
const STORAGE = "truce.basemap";

export const SEA = "#b7d0e3";
const LAND = "#efebe2";
const HOME = "#f8f6f0";
const WATER_LINE = "#7fa9cc";
const BORDER = "#7d6f8e";
const GOVERNORATE = "#a397b2";
const TEXT = "#3d3a35";
const TEXT_ABROAD = "#6f6a72";
const HALO = "rgba(255,255,255,0.9)";

/** The label text: the name in `lang`, else the English one (else any name the feature has). */
export function labelText(lang) {
  const names = lang === "en" ? [] : [["get", `name_${lang}`], ["get", `name:${lang}`]];
  return ["coalesce", ...names, ["get", "name_en"], ["get", "name:en"], ["get", "name"], ""];
}

const ATTRIBUTION = "Natural Earth · WDB II, GSHHG · OCHA COD-AB · GeoNames";

/** The shipped basemap's tiles are named at once (no TileJSON round trip before the first tile). */
export function basemapSource(name = SHIPPED) {
  if (name === SHIPPED) {
    return { type: "vector", tiles: [absoluteUrl(`/basemaps/${SHIPPED}/tiles/{z}/{x}/{y}.mvt`)],
      minzoom: 0, maxzoom: 10, bounds: [24, 26, 52, 44], attribution: ATTRIBUTION };
  }
  return { type: "vector", url: absoluteUrl(`/basemaps/${encodeURIComponent(name)}/tilejson.json`) };
}

/** The basemap a person chose before (if the server still has it), else the shipped one. */
export function chosenBasemap(available = [SHIPPED]) {
  try {
    const kept = window.localStorage.getItem(STORAGE);
    if (kept && available.includes(kept)) return kept;
  } catch { /* no storage */ }
  return SHIPPED;
}

export function rememberBasemap(name) {
  try { window.localStorage.setItem(STORAGE, name); } catch { /* no storage */ }
}

const src = { source: BASEMAP_SOURCE };

/**
 * Style layers of the shipped basemap: `below` goes under everything (sea, land), `lines` above the
 * relief (water, borders), `labels` above the data layers.
 */
export function regionLayers(lang) {
  const text = labelText(lang);
  // No background layer: the map's container is painted the sea's colour (style.css). Colours are
  // stated per feature, like the data layers', so that all fills share one shader program and all
  // lines another (see perFeature in layers.js); no dashes (a program of its own).
  const below = [
    { id: "basemap-land", type: "fill", ...src, "source-layer": "countries",
      paint: { "fill-color": ["case", ["==", ["get", "name_en"], "Syria"], HOME, LAND], "fill-antialias": false } },
  ];
  const lines = [
    { id: "basemap-lakes", type: "fill", ...src, "source-layer": "water", paint: { "fill-color": perFeature(SEA), "fill-antialias": false } },
    { id: "basemap-rivers", type: "line", ...src, "source-layer": "rivers",
      paint: { "line-color": perFeature(WATER_LINE), "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.6, 10, 1.6, 14, 3] } },
    { id: "basemap-governorates", type: "line", ...src, "source-layer": "governorates", minzoom: 4,
      paint: { "line-color": perFeature(GOVERNORATE), "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.5, 10, 1.2] } },
    { id: "basemap-borders", type: "line", ...src, "source-layer": "borders",
      paint: { "line-color": perFeature(BORDER), "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.8, 10, 2] } },
  ];
  const labels = [
    { id: "basemap-governorate-labels", type: "symbol", ...src, "source-layer": "governorate_labels", minzoom: 7,
      layout: { "text-field": text, "text-font": REGULAR, "text-size": 11, "text-letter-spacing": 0.05,
        "text-max-width": 8, "text-padding": 4 },
      paint: { "text-color": "#7a6f88", "text-halo-color": HALO, "text-halo-width": 1.2 } },
    { id: "basemap-places", type: "symbol", ...src, "source-layer": "places",
      layout: {
        "text-field": text,
        "text-font": ["case", ["==", ["get", "capital"], 1], ["literal", BOLD], ["literal", REGULAR]],
        "text-size": ["interpolate", ["linear"], ["zoom"],
          4, ["case", ["==", ["get", "capital"], 1], 11, 9],
          10, ["case", ["==", ["get", "capital"], 1], 15, [">=", ["get", "population"], 50000], 13, 11]],
        "symbol-sort-key": ["-", 0, ["+", ["*", ["get", "capital"], 100000000], ["get", "population"]]],
        "text-variable-anchor": ["left", "right", "top", "bottom"],
        "text-radial-offset": 0.5,
        "text-justify": "auto",
        "text-padding": 3,
        "text-max-width": 9,
      },
      // the neighbouring countries' cities in a softer colour than Syria's own places
      paint: { "text-color": ["case", ["==", ["get", "abroad"], 1], TEXT_ABROAD, TEXT], "text-halo-color": HALO, "text-halo-width": 1.4 } },
    { id: "basemap-country-labels", type: "symbol", ...src, "source-layer": "country_labels",
      layout: { "text-field": text, "text-font": BOLD, "text-size": ["interpolate", ["linear"], ["zoom"], 3, 11, 8, 16],
        "text-max-width": 7, "text-padding": 6, "text-letter-spacing": 0.08 },
      paint: { "text-color": "#5f5668", "text-halo-color": HALO, "text-halo-width": 1.5 } },
  ];
  return { below, lines, labels };
}

/**
 * A generic style for an added basemap: each of its layers drawn by geometry type (polygons faint,
 * lines thin, points as labels), water and roads recognised by layer name.
 */
export function genericLayers(vectorLayers, lang) {
  const text = labelText(lang);
  const below = [{ id: "basemap-background", type: "background", paint: { "background-color": LAND } }];
  const lines = [];
  const labels = [];
  for (const name of vectorLayers) {
    const lower = name.toLowerCase();
    const water = /water|ocean|sea|lake|river/.test(lower);
    const road = /road|transport|street|highway/.test(lower);
    const building = /building/.test(lower);
    const id = `basemap-${name}`;
    const base = { ...src, "source-layer": name };
    below.push({ id: `${id}-fill`, type: "fill", ...base, filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": water ? SEA : building ? "#dcd5c8" : "#e6e1d6", "fill-opacity": water ? 1 : 0.6 } });
    lines.push({ id: `${id}-line`, type: "line", ...base, filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": water ? WATER_LINE : road ? "#ffffff" : "#b9b0a3",
        "line-width": road ? ["interpolate", ["linear"], ["zoom"], 10, 0.8, 16, 6] : 0.8 } });
    if (road) {
      lines.unshift({ id: `${id}-casing`, type: "line", ...base, filter: ["==", ["geometry-type"], "LineString"],
        paint: { "line-color": "#c9bfae", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.6, 16, 8] } });
    }
    labels.push({ id: `${id}-label`, type: "symbol", ...base,
      layout: { "text-field": text, "text-font": REGULAR, "text-size": 11, "text-padding": 3,
        "symbol-placement": road ? "line" : "point", "text-max-width": 9 },
      paint: { "text-color": TEXT, "text-halo-color": HALO, "text-halo-width": 1.2 } });
  }
  return { below, lines, labels };
}

export const isBasemapLayer = (id) => id.startsWith("basemap-");
