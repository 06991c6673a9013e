// The layer panel: a toggle, an opacity slider and a legend per layer, plus the per-layer options
// (admin level, what incidents are coloured by). Built with DOM calls, never innerHTML.

import {
  ADMIN_LEVELS, AGREEMENT_STATUSES, AID_METHODS, CARGO_TYPES, CLUSTER_COLOUR, EVENT_TYPES,
  EVENT_TYPE_OTHER, LAYERS, VERIFICATION_STATUSES,
} from "./config.js";
import { t } from "./i18n.js";
import { label as vocab } from "./vocab.js";

const title = (id) => t(`layer.${id}`);
/** Legend rows of a vocabulary table, labelled from the one vocabulary. */
const vocabRows = (field, table, shape) => table.map(([values, colour]) => legendRow(vocab(field, values[0]), colour, shape));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** One legend row: a swatch (`shape`: circle | ring | square | line) and a label. */
function legendRow(label, colour, shape = "circle") {
  const swatch = el("span", { class: `swatch ${shape}`, "aria-hidden": "true" });
  swatch.style.setProperty("--c", colour);
  return el("li", {}, swatch, el("span", { text: label }));
}

function legendFor(id, state) {
  switch (id) {
    case "incidents": {
      const byStatus = state.colourBy === "verification_status";
      const rows = byStatus ? vocabRows("verification_status", VERIFICATION_STATUSES)
        : vocabRows("event_type", EVENT_TYPES);
      if (!byStatus) rows.push(legendRow(t("legend.other"), EVENT_TYPE_OTHER));
      rows.push(legendRow(t("legend.cluster"), CLUSTER_COLOUR, "circle big"));
      return rows;
    }
    case "aid_deliveries":
      return [
        ...vocabRows("cargo_type", CARGO_TYPES),
        ...AID_METHODS.map(([[method], colour]) => legendRow(
          t("legend.method", { method: vocab("method", method), ring: t(`ring.${method}`) }), colour, "ring")),
      ];
    case "agreement_areas":
      return vocabRows("status", AGREEMENT_STATUSES, "square");
    case "settlements":
      return [legendRow(t("legend.settlement"), "#FFFFFF", "circle outlined")];
    case "admin_areas":
      return [legendRow(t("legend.boundary"), "#333333", "line")];
    case "population":
      return [legendRow(t("legend.population"), "#E31A1C", "square")];
    case "shaded_relief":
      return [legendRow(t("legend.relief"), "#B8B2A6", "square")];
    default:
      return [];
  }
}

function select(id, label, options, value, onChange) {
  const control = el("select", { id });
  for (const [optValue, optLabel] of options) {
    const option = el("option", { value: String(optValue), text: optLabel });
    if (String(optValue) === String(value)) option.selected = true;
    control.append(option);
  }
  control.addEventListener("change", () => onChange(control.value));
  return el("div", { class: "option" }, el("label", { for: id, text: label }), control);
}

/**
 * @param {HTMLElement} root
 * @param {object} state  initial state (layers, adminLevel, colourBy)
 * @param {object} on     callbacks: toggle(id, visible), opacity(id, value), adminLevel(n), colourBy(s)
 */
export function initPanel(root, state, on) {
  const legends = new Map();
  const list = el("ul", { class: "layers" });
  for (const layer of LAYERS) {
    const checkbox = el("input", { type: "checkbox", id: `layer-${layer.id}`, "data-layer": layer.id });
    checkbox.checked = state.layers.includes(layer.id);
    checkbox.addEventListener("change", () => on.toggle(layer.id, checkbox.checked));

    const opacity = el("input", {
      type: "range", id: `opacity-${layer.id}`, min: "0", max: "1", step: "0.05",
      value: String(layer.opacity), "aria-label": t("layers.opacity", { layer: title(layer.id) }),
    });
    opacity.addEventListener("input", () => on.opacity(layer.id, Number(opacity.value)));

    const legend = el("ul", { class: "legend", "aria-label": t("layers.legend", { layer: title(layer.id) }) }, ...legendFor(layer.id, state));
    legends.set(layer.id, legend);

    const item = el("li", { class: "layer", "data-layer": layer.id, id: `layer-item-${layer.id}` },
      el("div", { class: "layer-head" },
        checkbox, el("label", { for: checkbox.id, text: title(layer.id) }), opacity),
    );
    if (layer.id === "admin_areas") {
      item.append(select("admin-level", t("layers.level"), ADMIN_LEVELS.map((n) => [n, t(`admin_level.${n}`)]), state.adminLevel, (v) => on.adminLevel(Number(v))));
    }
    if (layer.id === "incidents") {
      item.append(select("incident-colour", t("layers.colour_by"),
        [["event_type", t("filters.event_type")], ["verification_status", t("filters.verification")]],
        state.colourBy, (v) => {
          on.colourBy(v);
          legend.replaceChildren(...legendFor("incidents", { colourBy: v }));
        }));
    }
    item.append(legend);
    item.hidden = Boolean(layer.catalogueKind); // until the catalogue has one (reveal)
    list.append(item);
  }
  root.querySelector("#layers-title").after(list);

  return {
    /** Show a catalogue layer's entry once the map has it. */
    reveal(id) {
      document.getElementById(`layer-item-${id}`).hidden = false;
    },
    /** Reflect state that arrived from elsewhere (a pasted link). */
    sync(newState) {
      for (const layer of LAYERS) {
        document.getElementById(`layer-${layer.id}`).checked = newState.layers.includes(layer.id);
      }
      document.getElementById("admin-level").value = String(newState.adminLevel);
      document.getElementById("incident-colour").value = newState.colourBy;
      legends.get("incidents").replaceChildren(...legendFor("incidents", newState));
    },
  };
}
