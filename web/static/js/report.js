// An agreement area's report in the details panel: status history, incidents inside and near
// (before/after signing, by type), compliance, aid deliveries and exposure, from
// /analysis/areas/{id}/report, plus the link to the folium situation-report map.

import { api } from "./config.js";
import { date, lang, num as number, t } from "./i18n.js";
import { fetchJSON } from "./status.js";
import { label as vocab } from "./vocab.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const day = (s) => (s ? date(s) : "—");
const num = (v, digits = 0) => number(v, digits);

function pairs(rows) {
  return el("table", { class: "pairs" }, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {},
    el("th", { scope: "row", text: k }), el("td", { text: v === null || v === undefined || v === "" ? "—" : String(v) })))));
}

const byKey = (field, obj) => Object.entries(obj ?? {}).map(([k, n]) => `${vocab(field, k)} ${num(n)}`).join(", ") || "—";

function incidentsBlock(label, s) {
  if (!s) return [];
  return [el("h4", { text: label }), pairs([
    [t("report.incidents"), t("report.incidents_text", { total: num(s.total), before: num(s.before_signing), after: num(s.after_signing) })],
    [t("report.fatalities"), num(s.fatalities)],
    [t("report.by_type"), byKey("event_type", s.by_event_type)],
    [t("report.by_verification"), byKey("verification_status", s.by_verification_status)],
  ])];
}

/** The sitrep map link for an area over the selected time range. */
/**
 * One history entry, dated when it took effect according to the data (the agreement's effective
 * or signing date); when the data does not say, by when Truce recorded it, marked as such.
 */
function historyItem(h) {
  const change = `${h.previous_status ? `${vocab("status", h.previous_status)} → ` : ""}${vocab("status", h.status)}${h.reason ? ` (${h.reason})` : ""}`;
  const when = h.effective_at ? day(h.effective_at) : t("report.recorded", { date: day(h.changed_at) });
  return el("li", { text: `${when}: ${change}`, title: t("report.recorded_title", { date: day(h.changed_at) }) });
}

export function sitrepHref(areaId, range) {
  const q = new URLSearchParams({ start: range.start, end: range.end });
  if (lang !== "en") q.set("lang", lang);
  return `${api.sitrepMap(areaId)}?${q}`;
}

/**
 * Fill `container` with the report of area `areaId` as of the end of `range`.
 * Resolves when drawn; errors are shown in the container (and rethrown for the caller).
 */
export async function loadAreaReport(container, areaId, range, signal) {
  const link = el("a", {
    class: "sitrep", id: "sitrep-link", href: sitrepHref(areaId, range), download: `area-${areaId}-sitrep.html`,
    text: t("report.download", { start: day(range.start), end: day(range.end) }),
  });
  container.replaceChildren(el("h3", { text: t("report.title") }), el("p", { class: "note", text: t("report.loading") }), link);
  const q = new URLSearchParams({ at: `${range.end}T23:59:59Z`, distance_m: "5000" });
  let report;
  try {
    report = await fetchJSON(`${api.areaReport(areaId)}?${q}`, { what: t("error.area_report", { id: areaId }), signal, quiet: true });
  } catch (err) {
    if (err.name !== "AbortError") {
      container.replaceChildren(el("h3", { text: t("report.title") }),
        el("p", { class: "error", role: "alert", text: t("report.failed", { message: err.message }) }), link);
    }
    throw err;
  }
  const area = report.area ?? {};
  const c = report.compliance ?? {};
  const history = report.history ?? [];
  const aid = report.aid_deliveries ?? [];
  const exposure = report.exposure ?? {};
  const parts = [
    el("h3", { text: t("report.as_of", { date: day(report.at) }) }),
    pairs([
      [t("report.status_then"), vocab("status", area.status_at ?? area.status)],
      [t("report.status_now"), vocab("status", area.status)],
      [t("report.parties"), (area.parties ?? []).join("; ")],
      [t("report.signed"), day(area.signed_at)],
      [t("report.size"), area.area_km2 ? t("report.km2", { n: num(area.area_km2, 1) }) : "—"],
    ]),
    el("h4", { text: t("report.compliance") }),
    pairs([
      [t("report.violations"), t("report.violations_text", { before: num(c.violations_before), after: num(c.violations_after) })],
      [t("report.weekly"), t("report.weekly_text", { before: num(c.rate_before, 2), after: num(c.rate_after, 2) })],
      [t("report.trend"), t("report.trend_text", { trend: c.trend ? vocab("trend", c.trend) : "—", recent: num(c.rate_recent, 2), prior: num(c.rate_prior, 2) })],
      [t("report.last_confirmed"), c.last_confirmed_at
        ? t("report.last_confirmed_text", { date: day(c.last_confirmed_at), n: num(c.days_since_last_confirmed) }) : t("report.none")],
      [t("report.risk"), num(c.risk, 2)],
    ]),
    ...incidentsBlock(t("report.inside"), report.incidents?.inside),
    ...incidentsBlock(t("report.near", { n: num(report.incidents?.distance_m) }), report.incidents?.near),
    el("h4", { text: t("report.aid", { n: num(aid.length) }) }),
    aid.length
      ? el("ul", { class: "compact" }, ...aid.slice(0, 10).map((d) => el("li", {
        text: `${day(d.delivered_at)} · ${[d.cargo_type && vocab("cargo_type", d.cargo_type), d.method && vocab("method", d.method), d.organisation].filter(Boolean).join(", ")}`,
      })))
      : el("p", { class: "note", text: t("report.none_recorded") }),
    el("h4", { text: t("report.exposed") }),
    el("p", { text: exposure.people !== undefined ? t("report.exposed_text", { n: num(exposure.people) }) : (exposure.unavailable ?? "—") }),
    el("h4", { text: t("report.history", { n: num(history.length) }) }),
    el("ul", { class: "compact history" }, ...history.map(historyItem)),
    link,
  ];
  container.replaceChildren(...parts);
  return report;
}
