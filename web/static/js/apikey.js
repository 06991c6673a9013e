// The API key box: a key typed here is kept in sessionStorage (this tab only, gone when it
// closes) and sent as X-API-Key on every API fetch and on MapLibre's tile and TileJSON requests
// to this server (never to another origin). Without a key the viewer shows what the public may
// see: released incidents, located to a grid and dated to the day.

import { t } from "./i18n.js";

const STORAGE = "truce.apiKey";

export function apiKey() {
  try {
    return window.sessionStorage.getItem(STORAGE) || "";
  } catch {
    return "";
  }
}

/** Headers to add to a request to this server. */
export function keyHeaders() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

function sameOrigin(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

/** MapLibre's transformRequest: the key on requests to this server only. */
export function transformRequest(url) {
  const key = apiKey();
  if (!key || !sameOrigin(url)) return { url };
  return { url, headers: { "X-API-Key": key } };
}

/** Wire the form: saving or forgetting a key reloads the viewer so every layer is re-read. */
export function initKeyBox(form) {
  if (!form) return;
  const input = form.querySelector("input[name='api-key']");
  const status = form.querySelector(".key-status");
  const forget = form.querySelector("button[name='forget']");
  const render = () => {
    const has = Boolean(apiKey());
    status.textContent = has ? t("key.in_use") : t("key.none");
    forget.hidden = !has;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    window.sessionStorage.setItem(STORAGE, key);
    input.value = "";
    window.location.reload();
  });
  forget.addEventListener("click", () => {
    window.sessionStorage.removeItem(STORAGE);
    window.location.reload();
  });
  render();
}
