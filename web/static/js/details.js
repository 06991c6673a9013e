// The side panel that shows one feature, fetched from /collections/{id}/items/{fid}: what an
// analyst reads first (date and precision, type, actors, fatalities, place, admin areas, source,
// verification) in the chosen language, and the technical fields (ids, run, timestamps, the raw
// record) under a collapsed "More".

import { api } from "./config.js";
import { date, num, t } from "./i18n.js";
import { loadAreaReport } from "./report.js";
import { fetchJSON } from "./status.js";
import { placeName, label as vocab } from "./vocab.js";

const TITLES = {
  incidents: (p) => [p.event_type && vocab("event_type", p.event_type), p.location_name].filter(Boolean).join(" · "),
  aid_deliveries: (p) => [p.cargo_type && vocab("cargo_type", p.cargo_type), p.method && vocab("method", p.method),
    p.location_name].filter(Boolean).join(" · "),
  agreement_areas: (p) => p.name,
  settlements: placeName,
  admin_areas: placeName,
};

const join = (...parts) => parts.filter((x) => x !== null && x !== undefined && x !== "").join(" · ");

function when(from, until, precision) {
  const day = date(from);
  const span = until && date(until) !== day ? t("details.until", { from: day, to: date(until) }) : day;
  return precision && precision !== "day" ? join(span, t("details.precision", { p: vocab("time_precision", precision) })) : span;
}

function fatalities(p) {
  if (p.fatalities === null || p.fatalities === undefined) return t("details.unknown");
  const low = p.fatalities_low;
  const high = p.fatalities_high;
  if ((low ?? null) !== null && (high ?? null) !== null && (low !== p.fatalities || high !== p.fatalities)) {
    return t("details.fat_range", { n: num(p.fatalities), low: num(low), high: num(high) });
  }
  return num(p.fatalities);
}

const versus = (a, b) => (a && b ? t("details.versus", { a, b }) : a || b || "");

/** [label key, value, properties used] rows per collection. */
const ROWS = {
  incidents: (p, admin) => [
    ["details.date", when(p.occurred_at, p.occurred_until, p.time_precision), ["occurred_at", "occurred_until", "time_precision"]],
    ["details.type", p.event_type ? vocab("event_type", p.event_type) : "", ["event_type"]],
    ["details.sub_type", p.sub_event_type, ["sub_event_type"]],
    ["details.actors", versus(p.actor1, p.actor2), ["actor1", "actor2"]],
    ["details.fatalities", fatalities(p), ["fatalities", "fatalities_low", "fatalities_high"]],
    ["details.place", join(p.location_name, p.geo_precision && t("details.place_precision", { p: vocab("geo_precision", p.geo_precision) })),
      ["location_name", "geo_precision"]],
    ["details.admin", admin, ["admin1_pcode", "admin2_pcode", "admin3_pcode"]],
    ["details.source", join(p.source && vocab("source", p.source), p.reported_at && t("details.reported") + " " + date(p.reported_at)),
      ["source", "reported_at"]],
    ["details.verification", p.verification_status ? vocab("verification_status", p.verification_status) : "", ["verification_status"]],
    ["details.notes", p.notes, ["notes"]],
  ],
  aid_deliveries: (p) => [
    ["details.date", date(p.delivered_at), ["delivered_at"]],
    ["details.cargo", p.cargo_type ? vocab("cargo_type", p.cargo_type) : "", ["cargo_type"]],
    ["details.method", p.method ? vocab("method", p.method) : "", ["method"]],
    ["details.quantity", p.quantity !== null && p.quantity !== undefined ? join(num(p.quantity, 2), p.unit && vocab("unit", p.unit)) : "",
      ["quantity", "unit"]],
    ["details.organisation", p.organisation, ["organisation"]],
    ["details.place", p.location_name, ["location_name"]],
    ["details.source", p.source && vocab("source", p.source), ["source"]],
    ["details.notes", p.notes, ["notes"]],
  ],
  agreement_areas: (p) => [
    ["details.name", p.name, ["name"]],
    ["details.status", p.status ? vocab("status", p.status) : "", ["status"]],
    ["details.kind", p.kind ? vocab("kind", p.kind) : "", ["kind"]],
    ["details.signed", p.signed_at ? date(p.signed_at) : "", ["signed_at"]],
    ["details.effective", p.effective_from ? t("details.until", { from: date(p.effective_from), to: p.effective_to ? date(p.effective_to) : "…" }) : "",
      ["effective_from", "effective_to"]],
    ["details.parties", Array.isArray(p.parties) ? p.parties.join("; ") : p.parties, ["parties"]],
    ["details.notes", p.notes, ["notes"]],
  ],
  settlements: (p) => [
    ["details.name", p.name, ["name"]],
    ["details.name_ar", p.name_ar, ["name_ar"]],
    ["details.name_ru", p.name_ru, ["name_ru"]],
    ["details.population", p.population ? num(p.population) : "", ["population"]],
  ],
  admin_areas: (p) => [
    ["details.name", p.name_en, ["name_en"]],
    ["details.name_ar", p.name_ar, ["name_ar"]],
    ["details.level", p.admin_level !== undefined && p.admin_level !== null ? t(`admin_level.${p.admin_level}`) : "", ["admin_level"]],
  ],
};

function formatValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function row(label, value) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = label;
  const td = document.createElement("td");
  td.textContent = value;
  tr.append(th, td);
  return tr;
}

function geometrySummary(geometry) {
  if (!geometry) return null;
  if (geometry.type === "Point") {
    const [lon, lat] = geometry.coordinates;
    return t("details.point", { lat: num(lat, 5), lon: num(lon, 5) });
  }
  return geometry.type;
}

const ADMIN_PROPERTIES = "pcode,name_en,name_ar,admin_level";
// Admin areas by pcode, asked for once each.
const adminByCode = new Map();
function adminArea(pcode) {
  if (!adminByCode.has(pcode)) {
    const q = new URLSearchParams({ f: "json", pcode, limit: "1", skipGeometry: "true", properties: ADMIN_PROPERTIES });
    adminByCode.set(pcode, fetchJSON(`${api.items("admin_areas")}?${q}`, { what: pcode, quiet: true })
      .then((body) => body.features?.[0]?.properties ?? null)
      .catch(() => null));
  }
  return adminByCode.get(pcode);
}

/** The admin areas (governorate and below) at a point, largest first; [] if none or on error. */
async function adminAreasAt([lon, lat]) {
  const e = 1e-5;
  const q = new URLSearchParams({ f: "json", limit: "10", skipGeometry: "true", properties: ADMIN_PROPERTIES,
    bbox: [lon - e, lat - e, lon + e, lat + e].map((v) => v.toFixed(6)).join(",") });
  try {
    const body = await fetchJSON(`${api.items("admin_areas")}?${q}`, { what: "admin_areas", quiet: true });
    return (body.features ?? []).map((f) => f.properties)
      .filter((p) => Number(p.admin_level) >= 1)
      .sort((a, b) => Number(a.admin_level) - Number(b.admin_level));
  } catch {
    return [];
  }
}

/** `range()` gives the selected time range (an area's report is as of its end). */
export function initDetails(root, range) {
  const title = root.querySelector("h2");
  const subtitle = root.querySelector(".subtitle");
  const body = root.querySelector("tbody");
  const note = root.querySelector(".note");
  const link = root.querySelector("a.raw");
  const more = root.querySelector("details.more");
  const moreBody = more.querySelector("tbody");
  const raw = more.querySelector("pre");
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

  function render(collectionId, properties, geometry, admin = "") {
    const layerTitle = t(`layer.${collectionId}`);
    title.textContent = (TITLES[collectionId]?.(properties) || `${layerTitle} ${properties.id ?? ""}`).trim();
    subtitle.textContent = layerTitle;
    const used = new Set(["id"]);
    const rows = [];
    for (const [key, value, keys] of ROWS[collectionId]?.(properties, admin) ?? []) {
      for (const k of keys) used.add(k);
      if (value !== null && value !== undefined && value !== "") rows.push(row(t(key), String(value)));
    }
    body.replaceChildren(...rows);
    // Technical fields, in the data's own words.
    const technical = [row("id", formatValue(properties.id))];
    for (const [key, value] of Object.entries(properties)) {
      if (!used.has(key)) technical.push(row(key, formatValue(value)));
    }
    const where = geometrySummary(geometry);
    if (where) technical.push(row("geometry", where));
    moreBody.replaceChildren(...technical);
    raw.textContent = JSON.stringify({ id: properties.id, properties, geometry }, null, 2);
  }

  /** Governorate › district › sub-district: where its point lies, else from the record's
   * pcodes (a collection may publish only some of the three). */
  async function admins(p, geometry) {
    if (geometry?.type === "Point") {
      const names = (await adminAreasAt(geometry.coordinates)).map(placeName).filter(Boolean);
      if (names.length) return names.join(" › ");
    }
    const codes = [p.admin1_pcode, p.admin2_pcode, p.admin3_pcode].filter(Boolean);
    if (codes.length) {
      const names = await Promise.all(codes.map(async (code) => {
        const area = await adminArea(code);
        return area ? placeName(area) || code : code;
      }));
      return names.join(" › ");
    }
    return "";
  }

  /** Open the panel for a feature; show the tile's attributes at once, then the full record. */
  async function show(collectionId, featureId, tileProperties = {}) {
    controller?.abort();
    controller = new AbortController();
    const mine = controller;
    root.hidden = false;
    delete root.dataset.loaded;
    delete root.dataset.report;
    extra.replaceChildren();
    more.open = false;
    document.body.dataset.detail = `${collectionId}/${featureId}`;
    render(collectionId, tileProperties, null);
    note.textContent = t("details.loading");
    link.href = api.item(collectionId, featureId);
    title.focus();
    if (collectionId === "agreement_areas") {
      loadAreaReport(extra, featureId, range(), mine.signal)
        .then(() => { if (mine === controller) root.dataset.report = "1"; })
        .catch(() => { if (mine === controller && !mine.signal.aborted) root.dataset.report = "failed"; });
    }
    try {
      const feature = await fetchJSON(api.item(collectionId, featureId), {
        what: t("error.record", { layer: t(`layer.${collectionId}`), id: featureId }), signal: mine.signal,
      });
      const properties = { id: feature.id ?? featureId, ...feature.properties };
      const admin = collectionId === "incidents" ? await admins(properties, feature.geometry) : "";
      if (mine !== controller) return;
      render(collectionId, properties, feature.geometry, admin);
      note.textContent = "";
      root.dataset.loaded = "1";
    } catch (err) {
      if (err.name === "AbortError") return;
      note.textContent = t("details.tile_only");
    }
  }

  return { show, close };
}
