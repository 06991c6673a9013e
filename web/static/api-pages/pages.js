// A small map of the features of an API HTML page (server/pages/html.py): the page's own
// features (a JSON data block, no request) over the server's admin boundaries. Offline: the
// MapLibre vendored under /static/vendor, the server's own vector tiles, no glyphs.
(function () {
  "use strict";
  const el = document.getElementById("map");
  const block = document.getElementById("features");
  if (!el || !block || !window.maplibregl) return;
  const data = JSON.parse(block.textContent);
  const features = data.type === "Feature" ? [data] : data.features || [];
  let bounds = null;
  const extend = (c) => {
    if (typeof c[0] === "number") {
      bounds = bounds ? [Math.min(bounds[0], c[0]), Math.min(bounds[1], c[1]),
                         Math.max(bounds[2], c[0]), Math.max(bounds[3], c[1])]
                      : [c[0], c[1], c[0], c[1]];
    } else c.forEach(extend);
  };
  features.forEach((f) => f.geometry && extend(f.geometry.coordinates));
  const map = new window.maplibregl.Map({
    container: el,
    attributionControl: { compact: true },
    style: {
      version: 8,
      sources: {
        admin: { type: "vector", tiles: [el.dataset.tiles], maxzoom: 14,
                 attribution: "Boundaries: OCHA/UNCS COD-AB" },
        features: { type: "geojson", data: { type: "FeatureCollection", features } },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#eef2f4" } },
        { id: "admin", type: "line", source: "admin", "source-layer": "admin_areas",
          paint: { "line-color": "#9a968c", "line-width": 0.7 } },
        { id: "areas", type: "fill", source: "features", filter: ["==", ["geometry-type"], "Polygon"],
          paint: { "fill-color": "#0072b2", "fill-opacity": 0.25, "fill-outline-color": "#0072b2" } },
        { id: "points", type: "circle", source: "features", filter: ["==", ["geometry-type"], "Point"],
          paint: { "circle-color": "#d55e00", "circle-radius": 5, "circle-stroke-color": "#fff",
                   "circle-stroke-width": 1 } },
      ],
    },
    bounds: bounds || [35.6, 32.3, 42.4, 37.4],
    fitBoundsOptions: { padding: 30, maxZoom: 12 },
  });
  map.on("load", () => el.setAttribute("data-ready", "true"));
})();
