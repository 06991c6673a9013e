// The one vocabulary: a code in the data (event type, status, cargo...) -> its label in the chosen
// language, `vocab.<field>.<code>` in the catalogues. Used by the legend, the filters, the details
// and the check results alike, so one event type reads the same everywhere. Other spellings of a
// code (UCDP GED numbers, ACLED types) are mapped to the canonical code first.

import { AGREEMENT_STATUSES, AID_METHODS, CARGO_TYPES, EVENT_TYPES, VERIFICATION_STATUSES } from "./config.js";
import { has, lang, t } from "./i18n.js";

const TABLES = {
  event_type: EVENT_TYPES,
  verification_status: VERIFICATION_STATUSES,
  status: AGREEMENT_STATUSES,
  cargo_type: CARGO_TYPES,
  method: AID_METHODS,
};

/** The canonical code of `code` in `field` ("2" -> "non_state_violence"); else `code` as is. */
export function canonical(field, code) {
  const lower = String(code).trim().toLowerCase();
  const row = (TABLES[field] ?? []).find(([values]) => values.includes(lower));
  return row ? row[0][0] : lower;
}

/** 'some_code' -> 'Some code': for a code no catalogue has. */
const humanise = (code) => {
  const text = String(code).replaceAll("_", " ").trim();
  return text.slice(0, 1).toUpperCase() + text.slice(1);
};

/** The label of `code` in `field`, in the chosen language. */
export function label(field, code) {
  if (code === null || code === undefined || code === "") return t("details.unknown");
  const key = `vocab.${field}.${canonical(field, code)}`;
  return has(key) ? t(key) : humanise(code);
}

/**
 * A place's name in the chosen language: settlements and admin areas have English (`name`,
 * `name_en`) and Arabic (`name_ar`) names; any other language falls back to English.
 */
export function placeName(p) {
  const english = p.name || p.name_en;
  const own = p[`name_${lang}`];
  return (own || english || p.name_ar || "").toString();
}
