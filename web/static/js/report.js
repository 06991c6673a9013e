// An agreement area's report in the details panel: status history, incidents inside and near
// (before/after signing, by type), compliance, aid deliveries and exposure, from
// /analysis/areas/{id}/report, plus the link to the folium situation-report map.

import { api } from "./config.js";
import { fetchJSON } from "./status.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const day = (s) => (s ? String(s).slice(0, 10) : "—");
const num = (v, digits = 0) => (v === null || v === undefined ? "—"
  : Number(v).toLocaleString("en", { maximumFractionDigits: digits }));

function pairs(rows) {
  return el("table", { class: "pairs" }, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {},
    el("th", { scope: "row", text: k }), el("td", { text: v === null || v === undefined || v === "" ? "—" : String(v) })))));
}

const byKey = (obj) => Object.entries(obj ?? {}).map(([k, n]) => `${k.replaceAll("_", " ")} ${n}`).join(", ") || "—";

function incidentsBlock(label, s) {
  if (!s) return [];
  return [el("h4", { text: label }), pairs([
    ["Incidents", `${num(s.total)} (${num(s.before_signing)} before signing, ${num(s.after_signing)} after)`],
    ["Fatalities", num(s.fatalities)],
    ["By type", byKey(s.by_event_type)],
    ["By verification", byKey(s.by_verification_status)],
  ])];
}

/** The sitrep map link for an area over the selected time range. */
/**
 * One history entry, dated when it took effect according to the data (the agreement's effective
 * or signing date); when the data does not say, by when Truce recorded it, marked as such.
 */
function historyItem(h) {
  const change = `${h.previous_status ? `${h.previous_status} → ` : ""}${h.status}${h.reason ? ` (${h.reason})` : ""}`;
  const when = h.effective_at ? day(h.effective_at) : `recorded ${day(h.changed_at)}`;
  return el("li", { text: `${when}: ${change}`, title: `recorded in Truce ${day(h.changed_at)}` });
}

export function sitrepHref(areaId, range) {
  const q = new URLSearchParams({ start: range.start, end: range.end });
  return `${api.sitrepMap(areaId)}?${q}`;
}

/**
 * Fill `container` with the report of area `areaId` as of the end of `range`.
 * Resolves when drawn; errors are shown in the container (and rethrown for the caller).
 */
export async function loadAreaReport(container, areaId, range, signal) {
  const link = el("a", {
    class: "sitrep", id: "sitrep-link", href: sitrepHref(areaId, range), download: `area-${areaId}-sitrep.html`,
    text: `Download the situation-report map (${range.start} to ${range.end})`,
  });
  container.replaceChildren(el("h3", { text: "Area report" }), el("p", { class: "note", text: "Loading the area report…" }), link);
  const q = new URLSearchParams({ at: `${range.end}T23:59:59Z`, distance_m: "5000" });
  let report;
  try {
    report = await fetchJSON(`${api.areaReport(areaId)}?${q}`, { what: `the report of area ${areaId}`, signal, quiet: true });
  } catch (err) {
    if (err.name !== "AbortError") {
      container.replaceChildren(el("h3", { text: "Area report" }),
        el("p", { class: "error", role: "alert", text: `The area report could not be loaded: ${err.message}` }), link);
    }
    throw err;
  }
  const area = report.area ?? {};
  const c = report.compliance ?? {};
  const history = report.history ?? [];
  const aid = report.aid_deliveries ?? [];
  const exposure = report.exposure ?? {};
  const parts = [
    el("h3", { text: `Area report as of ${day(report.at)}` }),
    pairs([
      ["Status then", area.status_at ?? area.status],
      ["Status now", area.status],
      ["Parties", (area.parties ?? []).join("; ")],
      ["Signed", day(area.signed_at)],
      ["Size", area.area_km2 ? `${num(area.area_km2, 1)} km²` : "—"],
    ]),
    el("h4", { text: "Compliance" }),
    pairs([
      ["Violations", `${num(c.violations_before)} in the weeks before signing, ${num(c.violations_after)} after`],
      ["Weekly rate", `${num(c.rate_before, 2)} before → ${num(c.rate_after, 2)} after`],
      ["Recent trend", `${c.trend ?? "—"} (${num(c.rate_recent, 2)} a week lately vs ${num(c.rate_prior, 2)})`],
      ["Last confirmed", c.last_confirmed_at ? `${day(c.last_confirmed_at)} (${num(c.days_since_last_confirmed)} days before)` : "none"],
      ["Risk score", num(c.risk, 2)],
    ]),
    ...incidentsBlock("Incidents inside", report.incidents?.inside),
    ...incidentsBlock(`Incidents within ${num(report.incidents?.distance_m)} m outside`, report.incidents?.near),
    el("h4", { text: `Aid deliveries (${aid.length})` }),
    aid.length
      ? el("ul", { class: "compact" }, ...aid.slice(0, 10).map((d) => el("li", {
        text: `${day(d.delivered_at)} · ${[d.cargo_type, d.method, d.organisation].filter(Boolean).join(", ")}`,
      })))
      : el("p", { class: "note", text: "None recorded." }),
    el("h4", { text: "People exposed" }),
    el("p", { text: exposure.people !== undefined ? `${num(exposure.people)} people live inside (population raster)` : (exposure.unavailable ?? "—") }),
    el("h4", { text: `Status history (${history.length})` }),
    el("ul", { class: "compact history" }, ...history.map(historyItem)),
    link,
  ];
  container.replaceChildren(...parts);
  return report;
}
