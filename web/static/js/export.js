// The export links. Without an API key they stay plain links (the browser downloads the public
// data itself). With a key, a click fetches the same URL with X-API-Key (a plain link cannot send
// a header, and the key never goes into a URL) and saves the answer as a file download.

import { apiKey, keyHeaders } from "./apikey.js";
import { t } from "./i18n.js";
import { showError } from "./status.js";

async function download(link) {
  const name = link.getAttribute("download") || "export";
  link.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(link.href, { headers: keyHeaders() });
    if (!response.ok) throw new Error(t("export.http", { status: response.status }));
    const url = URL.createObjectURL(await response.blob());
    const save = document.createElement("a");
    save.href = url;
    save.download = name;
    save.hidden = true;
    document.body.append(save);
    save.click();
    save.remove();
    // let the download start before the blob is released
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    showError(t("export.failed", { name, message: err.message }));
  } finally {
    link.removeAttribute("aria-busy");
  }
}

/** Wire the export links: keyed downloads when a key is in use for this tab. */
export function initExport(links) {
  for (const link of links) {
    if (!link) continue;
    link.addEventListener("click", (event) => {
      if (!apiKey()) return; // the plain link: public data
      event.preventDefault();
      if (link.getAttribute("aria-busy") !== "true") download(link);
    });
  }
}
