// The "Spatial check" panel: the deconfliction answer (areas in force with status and distance,
// settlements, recent aid deliveries) and the incidents near the drawn geometry, as tables.
// Built with DOM calls and textContent only.

import { date, metres, num, t } from "./i18n.js";
import { placeName, label as vocab } from "./vocab.js";

const TITLES = { Point: "check.title_point", LineString: "check.title_line", Polygon: "check.title_area" };

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
const text = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

/**
 * A table: `columns` are [header, (row) => string | Node]. `empty` is shown when there are no rows.
 */
function table(id, caption, columns, rows, empty) {
  const section = el("section", { class: "result", id });
  section.append(el("h3", { text: t("check.caption", { caption, n: num(rows.length) }) }));
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
    title.textContent = t(TITLES[geometry.type] ?? "check.title_shape");
    meta.textContent = t("check.pending", { date: day(at), distance: metres(distanceM) });
    body.replaceChildren(el("p", { class: "empty", role: "status", text: t("check.asking") }));
  }

  function fail(message) {
    root.dataset.failed = "1";
    meta.textContent = t("check.failed");
    body.replaceChildren(el("p", { class: "error", role: "alert", text: message }));
  }

  function show(answer, near) {
    const areaName = (a) => {
      const b = el("button", { type: "button", class: "link", text: a.name, title: t("check.open_area") });
      b.addEventListener("click", () => on.openArea(a.id, a.name));
      return b;
    };
    const sections = [
      table("result-areas", t("check.areas"), [
        [t("check.area"), areaName],
        [t("check.status"), (a) => (a.current_status && a.current_status !== a.status
          ? t("check.status_now", { then: vocab("status", a.status), now: vocab("status", a.current_status) })
          : vocab("status", a.status))],
        [t("check.distance"), (a) => (a.inside ? t("check.inside") : metres(a.distance_m))],
        [t("check.signed"), (a) => day(a.signed_at)],
      ], answer.areas ?? [], t("check.no_areas")),
      table("result-settlements", t("check.settlements"), [
        [t("check.name"), (s) => placeName(s)],
        [t("check.population"), (s) => (s.population ? num(s.population) : "—")],
        [t("check.distance"), (s) => metres(s.distance_m)],
      ], answer.settlements ?? [], t("check.no_settlements", { distance: metres(answer.nearby_m) })),
      table("result-deliveries", t("check.deliveries", { n: answer.recent_days ?? "?" }), [
        [t("check.date"), (d) => day(d.delivered_at)],
        [t("check.cargo"), (d) => [d.cargo_type && vocab("cargo_type", d.cargo_type), d.method && vocab("method", d.method)].filter(Boolean).join(", ")],
        [t("check.by"), (d) => d.organisation],
        [t("check.distance"), (d) => metres(d.distance_m)],
      ], answer.aid_deliveries ?? [], t("check.no_deliveries", { distance: metres(answer.nearby_m) })),
    ];
    if (near) {
      const shown = near.features.slice(0, 50);
      const more = near.more ? `${num(near.features.length)}+` : num(near.features.length);
      const section = table("result-incidents", "", [
        [t("check.date"), (f) => day(f.properties.occurred_at)],
        [t("check.type"), (f) => vocab("event_type", f.properties.event_type)],
        [t("check.deaths"), (f) => num(f.properties.fatalities)],
        [t("check.status"), (f) => vocab("verification_status", f.properties.verification_status)],
      ], shown, t("check.no_incidents"));
      section.querySelector("h3").textContent = t("check.incidents", { distance: metres(near.distanceM), n: more });
      if (near.features.length > shown.length) section.append(el("p", { class: "empty", text: t("check.latest", { n: num(shown.length) }) }));
      sections.push(section);
    }
    meta.textContent = t("check.meta", { date: day(answer.at), distance: metres(answer.distance_m), nearby: metres(answer.nearby_m) });
    const rule = el("details", { class: "rule" }, el("summary", { text: t("check.rule") }), el("p", { text: answer.rule ?? "" }));
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
