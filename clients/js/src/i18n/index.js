// Localization of the room UI: string tables per language (locales/*.json), `t(key, vars)`
// with plural forms chosen by Intl.PluralRules, the text direction, and prices formatted
// with Intl.NumberFormat in the shop's locale (not the browser's).
//
// A table value is a string with {placeholders}, or, where a count appears, an object of
// CLDR plural categories ({one, other}, Arabic also zero/two/few/many) picked by `count`.

import ar from "./locales/ar.json";
import de from "./locales/de.json";
import en from "./locales/en.json";
import es from "./locales/es.json";
import fr from "./locales/fr.json";

export const TABLES = { en, de, fr, es, ar };
export const LOCALES = Object.keys(TABLES);
const RTL = new Set(["ar", "fa", "he", "ur"]);

/** The first of `candidates` ("de-AT", "fr", …) we have a table for, by its language;
 * English when none matches. Returns a BCP 47 tag (the region kept for number formats). */
export function resolveLocale(...candidates) {
  for (const c of candidates) {
    if (typeof c !== "string" || !c.trim()) continue;
    let tag;
    try {
      tag = Intl.getCanonicalLocales(c.trim().replace(/_/g, "-"))[0];
    } catch {
      continue;
    }
    if (TABLES[tag.split("-")[0].toLowerCase()]) return tag;
  }
  return "en";
}

/** The table key of a locale tag: "de-AT" → "de". */
export function languageOf(locale) {
  const lang = String(locale || "en").split("-")[0].toLowerCase();
  return TABLES[lang] ? lang : "en";
}

export function dirOf(locale) {
  return RTL.has(languageOf(locale)) ? "rtl" : "ltr";
}

const pluralCache = new Map();
function pluralRules(locale) {
  let rules = pluralCache.get(locale);
  if (!rules) pluralCache.set(locale, (rules = new Intl.PluralRules(locale)));
  return rules;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (vars && vars[name] !== undefined ? String(vars[name]) : m));
}

/** A translator for one locale: t(key, vars), plus locale, lang, dir and money(). */
export function createI18n(locale) {
  const tag = resolveLocale(locale);
  const lang = languageOf(tag);
  const table = TABLES[lang];
  const numbers = new Intl.NumberFormat(tag);
  function t(key, vars) {
    let value = table[key];
    if (value === undefined) value = en[key];
    if (value === undefined) return key;
    if (typeof value === "object") {
      const n = vars && typeof vars.count === "number" ? vars.count : 0;
      value = value[pluralRules(tag).select(n)] ?? value.other;
      vars = { ...vars, count: numbers.format(n) };
    }
    return fill(value, vars);
  }
  return {
    locale: tag,
    lang,
    dir: dirOf(tag),
    t,
    money: (minor, currency) => formatMoney(minor, currency, tag),
    number: (n) => numbers.format(n),
    /** A list of names: "Ana, Ben and Cy" in the locale's words. */
    list: (items) => new Intl.ListFormat(tag).format(items),
  };
}

/** Price in minor units → "1.234,50 €" (de) / "€1,234.50" (en): the currency's own
 * decimals (JPY has none), the locale's separators and symbol position. */
export function formatMoney(minor, currency, locale = "en") {
  try {
    const fmt = new Intl.NumberFormat(locale, { style: "currency", currency });
    return fmt.format(minor / 10 ** fmt.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** The English translator (the default of every function that takes one). */
export const english = createI18n("en");
