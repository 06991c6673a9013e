// The violation report page (/report): a reporting party says where, when and what happened and
// sends it to POST /reports with its reporter key (kept in this tab's session, like the viewer's
// key). Checked here first, in the page's language: a place outside the area of interest or a
// time in the future is refused before anything is sent.

import { apiKey, keyHeaders } from "../js/apikey.js";
import { BASEMAP_SOURCE, GLYPHS, RTL_PLUGIN, basemapSource, regionLayers } from "../js/basemap.js";
import { AREA_OF_INTEREST, EVENT_TYPES, INITIAL_VIEW } from "../js/config.js";
import { dateTime, initI18n, initLanguageSwitch, lang, t } from "../js/i18n.js";
import { absoluteUrl } from "../js/layers.js";

const maplibregl = window.maplibregl;
const STORAGE = "truce.apiKey";
const $ = (id) => document.getElementById(id);

function renderKey() {
  const has = Boolean(apiKey());
  $("key-status").textContent = has ? t("violation.key_in_use") : t("violation.key_none");
  $("key-forget").hidden = !has;
}

function initKey() {
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    try { window.sessionStorage.setItem(STORAGE, key); } catch { /* no storage */ }
    $("key-input").value = "";
    renderKey();
  });
  $("key-forget").addEventListener("click", () => {
    try { window.sessionStorage.removeItem(STORAGE); } catch { /* no storage */ }
    renderKey();
  });
  renderKey();
}

function initMap() {
  if (!maplibregl || !$("report-map")) return null;
  if (maplibregl.getRTLTextPluginStatus?.() === "unavailable") {
    maplibregl.setRTLTextPlugin(absoluteUrl(RTL_PLUGIN), true).catch(() => {});
  }
  const base = regionLayers(lang);
  const map = new maplibregl.Map({
    container: "report-map",
    style: { version: 8, glyphs: absoluteUrl(GLYPHS), sources: { [BASEMAP_SOURCE]: basemapSource() },
      layers: [...base.below, ...base.lines, ...base.labels] },
    center: INITIAL_VIEW.center,
    zoom: INITIAL_VIEW.zoom - 0.5,
    minZoom: 4,
    maxZoom: 16,
    dragRotate: false,
    attributionControl: { compact: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  let marker = null;
  const place = (lon, lat) => {
    if (!marker) marker = new maplibregl.Marker({ color: "#D55E00" });
    marker.setLngLat([lon, lat]).addTo(map);
  };
  map.on("click", (e) => {
    $("lon").value = e.lngLat.lng.toFixed(5);
    $("lat").value = e.lngLat.lat.toFixed(5);
    place(e.lngLat.lng, e.lngLat.lat);
  });
  for (const id of ["lon", "lat"]) {
    $(id).addEventListener("change", () => {
      const lon = Number($("lon").value);
      const lat = Number($("lat").value);
      if ($("lon").value && $("lat").value && Number.isFinite(lon) && Number.isFinite(lat)) place(lon, lat);
    });
  }
  window.truceReportMap = map;
  return map;
}

function initTypes() {
  $("event-type").replaceChildren(...EVENT_TYPES.map(([values]) => {
    const option = document.createElement("option");
    option.value = values[0];
    option.textContent = t(`vocab.event_type.${values[0]}`);
    return option;
  }));
}

/** The form's report, or the reason (in the page's language) it cannot be sent. */
export function readForm(form, now = new Date()) {
  const value = (name) => (form.elements[name]?.value ?? "").trim();
  const lonText = value("lon");
  const latText = value("lat");
  const settlement = value("settlement");
  const body = { event_type: value("event_type"), description: value("description") };
  if (lonText || latText) {
    const lon = Number(lonText);
    const lat = Number(latText);
    if (!lonText || !latText || !Number.isFinite(lon) || !Number.isFinite(lat)) return { error: t("violation.error.both") };
    const [west, south, east, north] = AREA_OF_INTEREST;
    if (lon < west || lon > east || lat < south || lat > north) {
      return { error: t("violation.error.outside", { west, south, east, north }) };
    }
    Object.assign(body, { lon, lat });
  } else if (!settlement) {
    return { error: t("violation.error.where") };
  }
  if (settlement) body.settlement = settlement;
  const when = value("occurred");
  const occurred = when ? new Date(when) : null; // datetime-local: the browser's local time
  if (!occurred || Number.isNaN(occurred.getTime())) return { error: t("violation.error.when") };
  if (occurred.getTime() > now.getTime() + 5 * 60 * 1000) return { error: t("violation.error.future") };
  body.occurred_at = occurred.toISOString();
  if (body.description.length < 3) return { error: t("violation.error.description") };
  for (const [name, key] of [["reporting_party", "reporting_party"], ["contact", "contact"]]) {
    if (value(name)) body[key] = value(name);
  }
  const links = value("attachments").split(/\s+/).filter(Boolean);
  if (links.some((u) => !/^https?:\/\/\S+$/i.test(u))) return { error: t("violation.error.links") };
  if (links.length) body.attachments = links;
  return { body };
}

// The server's refusals that the page words itself, by the error's type in the answer.
const REFUSALS = { outside_area_of_interest: "violation.error.outside_area", future_time: "violation.error.future" };

/** Why the server refused the report, in the page's language where the page knows the reason. */
function refusal(answer, status) {
  const known = (answer.errors ?? []).map((e) => REFUSALS[e.type]).find(Boolean);
  return known ? t(known) : t("violation.error.server", { message: answer.description ?? `HTTP ${status}` });
}

function showError(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = !message;
}

async function showResult(created) {
  let report = null;
  try {
    const res = await fetch(`/reports/${encodeURIComponent(created.id)}`, { headers: { Accept: "application/json", ...keyHeaders() } });
    if (res.ok) report = await res.json();
  } catch { /* the id and status from the answer are enough */ }
  const status = report?.status ?? created.status;
  const box = $("result");
  const title = document.createElement("h2");
  title.textContent = t("violation.sent_title");
  const lines = [
    t("violation.sent_id", { id: created.id }),
    t("violation.sent_status", { status: t(`vocab.verification_status.${status}`) }),
    ...(report?.occurred_at ? [t("violation.sent_when", { when: dateTime(report.occurred_at) })] : []),
    t("violation.sent_next"),
  ];
  box.replaceChildren(title, ...lines.map((text) => {
    const p = document.createElement("p");
    p.textContent = text;
    return p;
  }));
  box.dataset.reportId = String(created.id);
  box.dataset.status = status;
  box.hidden = false;
}

function initForm() {
  const form = $("report-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    if (!apiKey()) {
      showError(t("violation.error.no_key"));
      $("key-input").focus();
      return;
    }
    const { body, error } = readForm(form);
    if (error) {
      showError(error);
      return;
    }
    $("send").disabled = true;
    try {
      const res = await fetch("/reports", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", ...keyHeaders() },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (res.status === 401 || res.status === 403) {
        showError(t("violation.error.key_refused"));
      } else if (!res.ok) {
        showError(refusal(answer, res.status));
      } else {
        form.reset();
        await showResult(answer);
      }
    } catch {
      showError(t("violation.error.offline"));
    } finally {
      $("send").disabled = false;
    }
  });
}

async function main() {
  await initI18n();
  initLanguageSwitch($("lang-select"));
  initKey();
  initTypes();
  initForm();
  initMap();
  document.body.dataset.ready = "1";
}

main();
