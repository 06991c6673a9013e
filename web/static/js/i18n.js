// The viewer's languages: one catalogue per language (web/static/i18n/<lang>.json, flat
// "key": "text" pairs, `{name}` placeholders), English the fallback for any missing key.
// The language comes from `?lang=` in the URL, else the one remembered in localStorage, else
// English; the choice is remembered. Numbers and dates go through Intl for the language's locale.

export const LANGUAGES = ["en", "ar", "ru"];
const RTL = new Set(["ar"]);
const STORAGE = "truce.lang";

function chosenLanguage() {
  const asked = new URLSearchParams(window.location.search).get("lang");
  if (LANGUAGES.includes(asked)) {
    try { window.localStorage.setItem(STORAGE, asked); } catch { /* no storage */ }
    return asked;
  }
  try {
    const kept = window.localStorage.getItem(STORAGE);
    if (LANGUAGES.includes(kept)) return kept;
  } catch { /* no storage */ }
  return "en";
}

export const lang = chosenLanguage();
export const dir = RTL.has(lang) ? "rtl" : "ltr";

const load = (code) => fetch(`/static/i18n/${code}.json`, { headers: { Accept: "application/json" } })
  .then((r) => (r.ok ? r.json() : {}))
  .catch(() => ({}));
// Asked for as soon as this module is read, in parallel with the rest of the start-up.
const loading = Promise.all([load("en"), lang === "en" ? Promise.resolve(null) : load(lang)]);

let english = {};
let own = {};

/** Wait for the catalogues; then set `lang` and `dir` on the document and translate it. */
export async function initI18n(root = document) {
  const [en, mine] = await loading;
  english = en;
  own = mine ?? en;
  document.documentElement.lang = lang;
  document.documentElement.dir = dir;
  translate(root);
}

/** The text of `key` in the chosen language (English if missing), `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const text = own[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
}

/** Whether the catalogues have `key` (in any language). */
export const has = (key) => key in own || key in english;

const locale = () => own["meta.locale"] ?? english["meta.locale"] ?? lang;

export function num(value, digits = 0) {
  if (value === null || value === undefined || value === "" || !Number.isFinite(Number(value))) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(value));
}

/** A date (`YYYY-MM-DD...` or a Date) as a day in the locale; "—" when absent. */
export function date(value) {
  if (!value) return "—";
  const d = value instanceof Date ? value : new Date(`${String(value).slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" }).format(d);
}

/** An instant as a day and time (UTC) in the locale. */
export function dateTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC", timeZoneName: "short",
  }).format(d);
}

/** A distance in metres, as m or km. */
export function metres(m) {
  if (m === null || m === undefined) return "—";
  return m < 1000 ? t("unit.m", { n: num(Math.round(m)) }) : t("unit.km", { n: num(m / 1000, 1) });
}

/**
 * Translate the static page: `data-i18n="key"` sets the text, `data-i18n-attr="attr:key;..."`
 * sets attributes.
 */
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
}

/** A URL of this page in language `code`, the hash (the map's state) kept. */
export function urlFor(code) {
  const url = new URL(window.location.href);
  url.searchParams.set("lang", code);
  return url.toString();
}

/** The language switch: a select whose change reloads the page in the chosen language. */
export function initLanguageSwitch(select) {
  if (!select) return;
  select.replaceChildren(...LANGUAGES.map((code) => {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = t(`language.${code}`);
    option.selected = code === lang;
    return option;
  }));
  select.addEventListener("change", () => {
    try { window.localStorage.setItem(STORAGE, select.value); } catch { /* no storage */ }
    window.location.assign(urlFor(select.value));
  });
}
