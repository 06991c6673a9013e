// The error banner, the loading indicator and the one JSON fetch helper that reports to both.

import { keyHeaders } from "./apikey.js";
import { t } from "./i18n.js";

const banner = () => document.getElementById("error-banner");
const loading = () => document.getElementById("loading");

let pendingFetches = 0;
let mapBusy = false;

function renderLoading() {
  const busy = pendingFetches > 0 || mapBusy;
  loading().hidden = !busy;
  document.body.dataset.loading = busy ? "1" : "0";
}

export function setMapBusy(busy) {
  mapBusy = busy;
  renderLoading();
}

const MAX_SHOWN = 3;
const messages = new Set(); // distinct messages since the banner was last dismissed

/** Show a message a person can act on. `retry` (optional) adds a Retry button. */
export function showError(message, retry) {
  const el = banner();
  messages.add(message);
  const shown = [...messages].slice(0, MAX_SHOWN);
  const more = messages.size - shown.length;
  el.querySelector(".message").textContent = shown.join("\n") + (more > 0 ? ` ${t("banner.more", { n: more })}` : "");
  const retryButton = el.querySelector(".retry");
  if (retry) {
    retryButton.hidden = false;
    retryButton.onclick = () => { hideError(); retry(); };
  }
  el.hidden = false;
}

export function hideError() {
  messages.clear();
  banner().hidden = true;
  banner().querySelector(".retry").hidden = true;
}

export function initStatus() {
  banner().querySelector(".dismiss").addEventListener("click", hideError);
  renderLoading();
}

/** The message in an API error body (`{"detail": ...}` or `{"message": ...}`), if any. */
async function errorDetail(response) {
  try {
    const body = await response.json();
    const detail = body.detail ?? body.message ?? body.description;
    return typeof detail === "string" ? detail : JSON.stringify(detail);
  } catch {
    return response.statusText;
  }
}

/**
 * Fetch JSON from the API (POST `body` as JSON when given); on failure show the banner and rethrow.
 * `started`: the same GET already in flight (a Promise of its Response), taken instead of a new one.
 */
export async function fetchJSON(path, { what = path, signal, quiet = false, body, started } = {}) {
  pendingFetches += 1;
  renderLoading();
  try {
    let response;
    try {
      const init = body === undefined
        ? { headers: { Accept: "application/json", ...keyHeaders() }, signal }
        : { method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json", ...keyHeaders() }, body: JSON.stringify(body), signal };
      response = await (started ?? fetch(path, init));
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error(t("error.unreachable", { what }));
    }
    if (!response.ok) {
      throw new Error(t("error.http", { what, status: response.status, detail: await errorDetail(response) }).trim());
    }
    return await response.json();
  } catch (err) {
    if (err.name !== "AbortError" && !quiet) showError(err.message);
    throw err;
  } finally {
    pendingFetches -= 1;
    renderLoading();
  }
}
