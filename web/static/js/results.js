// The "Spatial check" panel: the deconfliction answer (areas in force with status and distance,
// settlements, recent aid deliveries) and the incidents near the drawn geometry, as tables.
// Built with DOM calls and textContent only.

const GEOMETRY_NAMES = { Point: "a point", LineString: "a line", Polygon: "an area" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const metres = (m) => (m === null || m === undefined ? "—" : m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`);
const day = (s) => (s ? String(s).slice(0, 10) : "—");
const text = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

/**
 * A table: `columns` are [header, (row) => string | Node]. `empty` is shown when there are no rows.
 */
function table(id, caption, columns, rows, empty) {
  const section = el("section", { class: "result", id });
  section.append(el("h3", { text: `${caption} (${rows.length})` }));
  if (!rows.length) {
    section.append(el("p", { class: "empty", text: empty }));
    return section;
  }
  const head = el("tr", {}, ...columns.map(([h]) => el("th", { scope: "col", text: h })));
  const body = rows.map((row) => el("tr", {}, ...columns.map(([, cell]) => {
    const value = cell(row);
    return el("td", {}, value instanceof Node ? value : text(value));
  })));
  section.append(el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
  return section;
}

/**
 * @param {HTMLElement} root  the #analysis aside
 * @param {{openArea: (id: number, name: string) => void, close: () => void}} on
 */
export function initResults(root, on) {
  const title = root.querySelector("h2");
  const meta = root.querySelector(".meta");
  const body = root.querySelector(".body");
  root.querySelector(".close").addEventListener("click", () => on.close());

  function open(geometry, distanceM, at) {
    root.hidden = false;
    delete root.dataset.loaded;
    delete root.dataset.failed;
    title.textContent = `Check of ${GEOMETRY_NAMES[geometry.type] ?? "a shape"}`;
    meta.textContent = `In force on ${day(at)}; areas within ${metres(distanceM)}. Checking…`;
    body.replaceChildren(el("p", { class: "empty", role: "status", text: "Asking the API…" }));
  }

  function fail(message) {
    root.dataset.failed = "1";
    meta.textContent = "The check failed.";
    body.replaceChildren(el("p", { class: "error", role: "alert", text: message }));
  }

  function show(answer, near) {
    const areaName = (a) => {
      const b = el("button", { type: "button", class: "link", text: a.name, title: "Open the area report" });
      b.addEventListener("click", () => on.openArea(a.id, a.name));
      return b;
    };
    const sections = [
      table("result-areas", "Agreement areas in force", [
        ["Area", areaName],
        ["Status", (a) => a.current_status && a.current_status !== a.status ? `${a.status} (now ${a.current_status})` : a.status],
        ["Distance", (a) => (a.inside ? "inside" : metres(a.distance_m))],
        ["Signed", (a) => day(a.signed_at)],
      ], answer.areas ?? [], "No agreement area in force touches this (within the distance)."),
      table("result-settlements", "Settlements nearby", [
        ["Name", (s) => [s.name, s.name_ar].filter(Boolean).join(" · ")],
        ["Population", (s) => (s.population ? Number(s.population).toLocaleString("en") : "—")],
        ["Distance", (s) => metres(s.distance_m)],
      ], answer.settlements ?? [], `No settlement within ${metres(answer.nearby_m)}.`),
      table("result-deliveries", `Aid deliveries in the last ${answer.recent_days ?? "?"} days`, [
        ["Date", (d) => day(d.delivered_at)],
        ["Cargo", (d) => [d.cargo_type, d.method].filter(Boolean).join(", ")],
        ["By", (d) => d.organisation],
        ["Distance", (d) => metres(d.distance_m)],
      ], answer.aid_deliveries ?? [], `No delivery within ${metres(answer.nearby_m)}.`),
    ];
    if (near) {
      const shown = near.features.slice(0, 50);
      const more = near.more ? `${near.features.length}+` : String(near.features.length);
      const section = table("result-incidents", `Incidents within ${metres(near.distanceM)} in the time range`, [
        ["Date", (f) => day(f.properties.occurred_at)],
        ["Type", (f) => f.properties.event_type],
        ["Deaths", (f) => f.properties.fatalities],
        ["Status", (f) => f.properties.verification_status],
      ], shown, "None (with the current filters).");
      section.querySelector("h3").textContent = `Incidents within ${metres(near.distanceM)}, in range and filters (${more})`;
      if (near.features.length > shown.length) section.append(el("p", { class: "empty", text: `Showing the latest ${shown.length}.` }));
      sections.push(section);
    }
    meta.textContent = `In force on ${day(answer.at)}; areas within ${metres(answer.distance_m)}; places within ${metres(answer.nearby_m)}.`;
    const rule = el("details", { class: "rule" }, el("summary", { text: "How “in force” is decided" }), el("p", { text: answer.rule ?? "" }));
    body.replaceChildren(...sections, rule);
    root.dataset.loaded = "1";
    title.focus();
  }

  function hide() {
    root.hidden = true;
    body.replaceChildren();
  }

  return { open, show, fail, hide };
}
