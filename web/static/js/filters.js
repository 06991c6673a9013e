// Incident filters: event type, verification status, actor (text), source, fatalities range.
// Equality filters go as plain property parameters (`event_type=...`); actor and fatalities as one
// CQL2 text `filter`. The same filters feed the tiles, the export, and the histogram and its count
// (/analysis/timeseries, with the source in its CQL2 filter).

import { EVENT_TYPES, INCIDENT_SOURCES, VERIFICATION_STATUSES } from "./config.js";
import { t } from "./i18n.js";
import { label as vocab } from "./vocab.js";

export const NO_FILTERS = Object.freeze({
  eventType: "", verification: "", actor: "", source: "", fatMin: null, fatMax: null,
});

const TOKEN = /^[a-z0-9_\-.]{1,64}$/i; // what a vocabulary value or a source id looks like

/** A CQL2 string literal: quotes cannot be escaped in the server's grammar, so they match any one character. */
const likeText = (s) => `'%${s.replace(/[\\'%_]/g, "_")}%'`;

/** CQL2 text for what plain property parameters cannot say (actor substring, fatalities range). */
export function cqlFilter(f) {
  const parts = [];
  const actor = f.actor.trim().slice(0, 100);
  if (actor) {
    const pattern = likeText(actor);
    parts.push(`(casei(actor1) LIKE casei(${pattern}) OR casei(actor2) LIKE casei(${pattern}))`);
  }
  if (Number.isInteger(f.fatMin)) parts.push(`fatalities >= ${f.fatMin}`);
  if (Number.isInteger(f.fatMax)) parts.push(`fatalities <= ${f.fatMax}`);
  return parts.join(" AND ");
}

/** Query parameters for /collections/incidents/items and .../tiles. */
export function incidentParams(f) {
  const params = {};
  if (f.eventType) params.event_type = f.eventType;
  if (f.verification) params.verification_status = f.verification;
  if (f.source) params.source = f.source;
  const cql = cqlFilter(f);
  if (cql) params.filter = cql;
  return params;
}

/**
 * CQL2 text for /analysis/timeseries: what `incidentParams` sends beyond event type and
 * verification status (which the series takes as parameters), the source included.
 */
export function seriesFilter(f) {
  const parts = [cqlFilter(f)];
  if (f.source) parts.push(`source = '${f.source}'`); // a TOKEN: no quote can be in it
  return parts.filter(Boolean).join(" AND ");
}

export const isFiltered = (f) => Boolean(f.eventType || f.verification || f.actor.trim() || f.source
  || f.fatMin !== null || f.fatMax !== null);

const count = (s) => {
  if (s === undefined || s === null || String(s).trim() === "") return null;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 && n <= 1_000_000 ? n : null;
};

/** Filters from URL-hash parameters (a Map of decoded values); unknown or malformed values are dropped. */
export function parseFilters(params) {
  const f = { ...NO_FILTERS };
  const token = (key) => (TOKEN.test(params.get(key) ?? "") ? params.get(key) : "");
  f.eventType = token("event_type");
  f.verification = token("verification");
  f.source = token("source");
  f.actor = (params.get("actor") ?? "").slice(0, 100);
  const [min, max] = (params.get("fatalities") ?? "").split("..");
  f.fatMin = count(min);
  f.fatMax = count(max);
  return f;
}

/** `key=value` hash parts for the active filters (values encoded). */
export function formatFilters(f) {
  const parts = [];
  const put = (key, value) => { if (value) parts.push(`${key}=${encodeURIComponent(value)}`); };
  put("event_type", f.eventType);
  put("verification", f.verification);
  put("actor", f.actor.trim());
  put("source", f.source);
  if (f.fatMin !== null || f.fatMax !== null) parts.push(`fatalities=${f.fatMin ?? ""}..${f.fatMax ?? ""}`);
  return parts;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function field(id, label, control) {
  control.id = id;
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control);
}

function choice(field, options) {
  const select = el("select");
  select.append(el("option", { value: "", text: t("filters.any") }));
  for (const [[value]] of options) select.append(el("option", { value, text: vocab(field, value) }));
  return select;
}

/**
 * The filter form. `onChange(filters)` is called (debounced for typing) with a new filters object.
 * Returns `sync(filters)` to reflect filters from a pasted link, and `setCount(text)`.
 */
export function initFilters(root, initial, onChange) {
  const eventType = choice("event_type", EVENT_TYPES);
  const verification = choice("verification_status", VERIFICATION_STATUSES);
  const actor = el("input", { type: "search", placeholder: t("filters.actor_example"), maxlength: "100" });
  const source = el("input", { type: "text", list: "filter-source-list", placeholder: t("filters.source_any"), maxlength: "64" });
  const sourceList = el("datalist", { id: "filter-source-list" },
    ...INCIDENT_SOURCES.map((s) => el("option", { value: s, label: vocab("source", s) })));
  const fatMin = el("input", { type: "number", min: "0", step: "1", inputmode: "numeric", placeholder: t("filters.fat_min"), "aria-label": t("filters.fat_min_label") });
  const fatMax = el("input", { type: "number", min: "0", step: "1", inputmode: "numeric", placeholder: t("filters.fat_max"), "aria-label": t("filters.fat_max_label") });
  const clear = el("button", { type: "button", id: "filter-clear", text: t("filters.clear") });
  const summary = el("p", { id: "filter-count", class: "count", "aria-live": "polite" });

  const fatalities = el("fieldset", { class: "field range" },
    el("legend", { text: t("filters.fatalities") }), fatMin, el("span", { "aria-hidden": "true", text: "–" }), fatMax);
  fatMin.id = "filter-fat-min";
  fatMax.id = "filter-fat-max";

  const form = el("form", { class: "filters", "aria-label": t("filters.title") },
    field("filter-event-type", t("filters.event_type"), eventType),
    field("filter-verification", t("filters.verification"), verification),
    field("filter-actor", t("filters.actor"), actor),
    field("filter-source", t("filters.source"), source), sourceList,
    fatalities,
    el("div", { class: "filter-foot" }, clear),
    summary,
  );
  form.addEventListener("submit", (e) => e.preventDefault());
  root.append(form);

  function read() {
    const src = source.value.trim();
    return {
      eventType: eventType.value,
      verification: verification.value,
      actor: actor.value,
      source: TOKEN.test(src) ? src : "",
      fatMin: count(fatMin.value),
      fatMax: count(fatMax.value),
    };
  }
  function sync(f) {
    eventType.value = f.eventType;
    verification.value = f.verification;
    actor.value = f.actor;
    source.value = f.source;
    fatMin.value = f.fatMin ?? "";
    fatMax.value = f.fatMax ?? "";
    form.dataset.active = isFiltered(f) ? "1" : "0";
  }
  let timer = null;
  function changed(delay) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const f = read();
      form.dataset.active = isFiltered(f) ? "1" : "0";
      onChange(f);
    }, delay);
  }
  for (const c of [eventType, verification]) c.addEventListener("change", () => changed(0));
  for (const c of [actor, source, fatMin, fatMax]) {
    c.addEventListener("input", () => changed(500));
    c.addEventListener("change", () => changed(0));
  }
  clear.addEventListener("click", () => {
    sync(NO_FILTERS);
    changed(0);
  });
  sync(initial);
  return { sync, setCount: (text) => { summary.textContent = text; } };
}
