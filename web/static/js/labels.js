// Settlement names as HTML labels at higher zooms. The style has no glyphs (fonts would have to be
// served as PBF ranges), so names are drawn by the browser instead, for at most MAX_LABELS places.

import { placeName } from "./vocab.js";

const MIN_ZOOM = 9;
const MAX_LABELS = 150;

export function initSettlementLabels(map, maplibregl, isVisible) {
  const markers = new Map(); // settlement id -> Marker

  function update() {
    const wanted = new Map();
    if (isVisible() && map.getZoom() >= MIN_ZOOM && map.getLayer("settlements-circle")) {
      const features = map.queryRenderedFeatures({ layers: ["settlements-circle"] });
      features.sort((a, b) => (Number(b.properties.population) || 0) - (Number(a.properties.population) || 0));
      for (const f of features) {
        const id = String(f.properties.id ?? f.id);
        if (!wanted.has(id) && f.properties.name) wanted.set(id, f);
        if (wanted.size >= MAX_LABELS) break;
      }
    }
    for (const [id, marker] of markers) {
      if (!wanted.has(id)) {
        marker.remove();
        markers.delete(id);
      }
    }
    for (const [id, f] of wanted) {
      if (markers.has(id)) continue;
      const label = document.createElement("div");
      label.className = "settlement-label";
      label.textContent = placeName(f.properties);
      label.lang = f.properties[`name_${document.documentElement.lang}`] ? document.documentElement.lang : "en";
      const marker = new maplibregl.Marker({ element: label, anchor: "left", offset: [7, 0] })
        .setLngLat(f.geometry.coordinates)
        .addTo(map);
      markers.set(id, marker);
    }
  }

  map.on("idle", update);
  return { update };
}
