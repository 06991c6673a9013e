// The layer panel: a toggle, an opacity slider and a legend per layer, plus the per-layer options
// (admin level, what incidents are coloured by). Built with DOM calls, never innerHTML.

import {
  ADMIN_LEVELS, AGREEMENT_STATUSES, AID_METHODS, CARGO_TYPES, CLUSTER_COLOUR, EVENT_TYPES,
  EVENT_TYPE_OTHER, LAYERS, VERIFICATION_STATUSES,
} from "./config.js";

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
      const table = state.colourBy === "verification_status" ? VERIFICATION_STATUSES : EVENT_TYPES;
      const rows = table.map(([, label, colour]) => legendRow(label, colour));
      if (state.colourBy !== "verification_status") rows.push(legendRow(...EVENT_TYPE_OTHER));
      rows.push(legendRow("Cluster (size = number of incidents)", CLUSTER_COLOUR, "circle big"));
      return rows;
    }
    case "aid_deliveries":
      return [
        ...CARGO_TYPES.map(([, label, colour]) => legendRow(label, colour)),
        ...AID_METHODS.map(([, label, colour]) => legendRow(label, colour, "ring")),
      ];
    case "agreement_areas":
      return AGREEMENT_STATUSES.map(([, label, colour]) => legendRow(label, colour, "square"));
    case "settlements":
      return [legendRow("Settlement (size = population)", "#FFFFFF", "circle outlined")];
    case "admin_areas":
      return [legendRow("Boundary", "#333333", "line")];
    case "population":
      return [legendRow("People per cell, light to dark (yellow-orange-red)", "#E31A1C", "square")];
    case "shaded_relief":
      return [legendRow("Terrain, lit from the north-west", "#B8B2A6", "square")];
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
      value: String(layer.opacity), "aria-label": `Opacity of ${layer.title}`,
    });
    opacity.addEventListener("input", () => on.opacity(layer.id, Number(opacity.value)));

    const legend = el("ul", { class: "legend", "aria-label": `Legend: ${layer.title}` }, ...legendFor(layer.id, state));
    legends.set(layer.id, legend);

    const item = el("li", { class: "layer", "data-layer": layer.id, id: `layer-item-${layer.id}` },
      el("div", { class: "layer-head" },
        checkbox, el("label", { for: checkbox.id, text: layer.title }), opacity),
    );
    if (layer.id === "admin_areas") {
      item.append(select("admin-level", "Level", ADMIN_LEVELS, state.adminLevel, (v) => on.adminLevel(Number(v))));
    }
    if (layer.id === "incidents") {
      item.append(select("incident-colour", "Colour by",
        [["event_type", "Event type"], ["verification_status", "Verification status"]],
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
