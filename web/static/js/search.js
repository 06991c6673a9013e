// Settlement search (English, Arabic, Russian or any alternate name the gazetteer has). The gazetteer is small (hundreds of places), so it is
// fetched once, on first use, from the settlements collection and searched in the browser.

import { api } from "./config.js";
import { t } from "./i18n.js";
import { fetchJSON } from "./status.js";
import { placeName } from "./vocab.js";

const MAX_RESULTS = 10;
// Accent- and hamza-insensitive, like the ETL's name key: drop Latin accents, Arabic diacritics and
// tatweel, unify alef forms (so "ادلب" finds "إدلب"), ta marbuta and alif maqsura; drop spaces,
// hyphens and apostrophes and collapse doubled letters (so "Deir Ezzor" finds "Deir ez-Zor").
const normalise = (s) => String(s ?? "")
  .toLowerCase()
  .normalize("NFKD")
  .replace(/[\u0300-\u036f\u064b-\u065f\u0670\u0640]/g, "")
  .replace(/[\u0622\u0623\u0625\u0671]/g, "\u0627")
  .replace(/\u0629/g, "\u0647")
  .replace(/\u0649/g, "\u064a")
  .replace(/[\s'’‘ʿʾ`´".,()_-]+/g, "")
  .replace(/(.)\1+/gu, "$1");

function alternates(props) {
  const value = props.alternate_names;
  if (Array.isArray(value)) return value;
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value);
      return Array.isArray(parsed) ? parsed : [value];
    } catch {
      return value.replace(/^\{|\}$/g, "").split(/[,|]/);
    }
  }
  return [];
}

export function initSearch(form, onPick) {
  const input = form.querySelector("input");
  const results = form.querySelector("ul");
  let gazetteer = null;

  async function load() {
    if (gazetteer) return gazetteer;
    const url = `${api.items("settlements")}?f=json&limit=5000`;
    const collection = await fetchJSON(url, { what: t("error.settlements") });
    gazetteer = (collection.features ?? [])
      .filter((f) => f.geometry?.type === "Point")
      .map((f) => ({
        id: f.id ?? f.properties.id,
        name: f.properties.name,
        nameAr: f.properties.name_ar,
        population: Number(f.properties.population) || 0,
        coordinates: f.geometry.coordinates,
        nameRu: f.properties.name_ru,
        key: [f.properties.name, f.properties.name_ar, f.properties.name_ru, ...alternates(f.properties)]
          .map(normalise).filter(Boolean).join("|"),
      }));
    return gazetteer;
  }

  function render(matches) {
    results.replaceChildren(...matches.map((place) => {
      const button = document.createElement("button");
      button.type = "button";
      const shown = placeName({ name: place.name, name_ar: place.nameAr, name_ru: place.nameRu });
      button.textContent = [shown, place.name, place.nameAr].filter((n, i, all) => n && all.indexOf(n) === i).join(" · ");
      button.addEventListener("click", () => {
        results.replaceChildren();
        input.value = place.name;
        onPick(place);
      });
      const li = document.createElement("li");
      li.append(button);
      return li;
    }));
    if (!matches.length && input.value.trim()) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = t("search.none");
      results.replaceChildren(li);
    }
  }

  async function search() {
    const q = normalise(input.value.trim());
    if (!q) {
      results.replaceChildren();
      return [];
    }
    let places;
    try {
      places = await load();
    } catch {
      return [];
    }
    const matches = places
      .filter((p) => p.key.includes(q))
      .sort((a, b) => Number(!normalise(a.name).startsWith(q)) - Number(!normalise(b.name).startsWith(q))
        || b.population - a.population)
      .slice(0, MAX_RESULTS);
    render(matches);
    return matches;
  }

  input.addEventListener("input", search);
  input.addEventListener("focus", () => load().catch(() => {}), { once: true });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const [first] = await search();
    if (first) {
      results.replaceChildren();
      onPick(first);
    }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      results.querySelector("button")?.focus();
      e.preventDefault();
    }
  });
}
