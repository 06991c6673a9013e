// The side panel that shows one feature's attributes, fetched from /collections/{id}/items/{fid}.

import { api, layerById } from "./config.js";
import { loadAreaReport } from "./report.js";
import { fetchJSON } from "./status.js";

const TITLES = {
  incidents: (p) => [p.event_type, p.location_name].filter(Boolean).join(" · "),
  aid_deliveries: (p) => [p.cargo_type, p.method, p.location_name].filter(Boolean).join(" · "),
  agreement_areas: (p) => p.name,
  settlements: (p) => [p.name, p.name_ar].filter(Boolean).join(" · "),
  admin_areas: (p) => [p.name_en, p.name_ar].filter(Boolean).join(" · "),
};

function formatValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function geometrySummary(geometry) {
  if (!geometry) return null;
  if (geometry.type === "Point") {
    const [lon, lat] = geometry.coordinates;
    return `Point ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  }
  return geometry.type;
}

/** `range()` gives the selected time range (an area's report is as of its end). */
export function initDetails(root, range) {
  const title = root.querySelector("h2");
  const subtitle = root.querySelector(".subtitle");
  const body = root.querySelector("tbody");
  const note = root.querySelector(".note");
  const link = root.querySelector("a.raw");
  const extra = root.querySelector(".report");
  let controller = null;

  function close() {
    controller?.abort();
    root.hidden = true;
    delete document.body.dataset.detail;
  }
  root.querySelector(".close").addEventListener("click", close);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !root.hidden) close();
  });

  function render(collectionId, properties, geometry) {
    const layer = layerById(collectionId);
    title.textContent = (TITLES[collectionId]?.(properties) || `${layer?.title ?? collectionId} ${properties.id ?? ""}`).trim();
    subtitle.textContent = layer?.title ?? collectionId;
    const rows = Object.entries(properties).map(([key, value]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = key;
      const td = document.createElement("td");
      td.textContent = formatValue(value);
      tr.append(th, td);
      return tr;
    });
    const where = geometrySummary(geometry);
    if (where) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = "geometry";
      const td = document.createElement("td");
      td.textContent = where;
      tr.append(th, td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  /** Open the panel for a feature; show the tile's attributes at once, then the full record. */
  async function show(collectionId, featureId, tileProperties = {}) {
    controller?.abort();
    controller = new AbortController();
    root.hidden = false;
    delete root.dataset.loaded;
    delete root.dataset.report;
    extra.replaceChildren();
    document.body.dataset.detail = `${collectionId}/${featureId}`;
    render(collectionId, tileProperties, null);
    note.textContent = "Loading the full record…";
    link.href = api.item(collectionId, featureId);
    title.focus();
    if (collectionId === "agreement_areas") {
      const mine = controller;
      loadAreaReport(extra, featureId, range(), mine.signal)
        .then(() => { if (mine === controller) root.dataset.report = "1"; })
        .catch(() => { if (mine === controller && !mine.signal.aborted) root.dataset.report = "failed"; });
    }
    try {
      const feature = await fetchJSON(api.item(collectionId, featureId), {
        what: `${collectionId} ${featureId}`, signal: controller.signal,
      });
      render(collectionId, { id: feature.id ?? featureId, ...feature.properties }, feature.geometry);
      note.textContent = "";
      root.dataset.loaded = "1";
    } catch (err) {
      if (err.name === "AbortError") return;
      note.textContent = "Showing the attributes in the map tile; the full record could not be loaded.";
    }
  }

  return { show, close };
}
