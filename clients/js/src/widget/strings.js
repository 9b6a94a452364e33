// The widget shell's own strings (launcher, dialog name, start form), in the languages
// the room UI speaks. The room UI has its own tables; this one stays tiny because the
// launcher part of it loads on every product page.

const T = {
  en: ["Shop with friends", "Shopping with friends", "{n} friends in your room", "1 friend in your room", "Loading…", "Could not load. Try again.", "{n} unread"],
  de: ["Mit Freunden shoppen", "Shoppen mit Freunden", "{n} Freunde in deinem Raum", "1 Freund in deinem Raum", "Wird geladen…", "Laden fehlgeschlagen. Bitte erneut versuchen.", "{n} ungelesen"],
  fr: ["Acheter entre amis", "Achats entre amis", "{n} amis dans votre salon", "1 ami dans votre salon", "Chargement…", "Échec du chargement. Réessayez.", "{n} non lus"],
  es: ["Comprar con amigos", "Comprando con amigos", "{n} amigos en tu sala", "1 amigo en tu sala", "Cargando…", "No se pudo cargar. Inténtalo de nuevo.", "{n} sin leer"],
  ar: ["تسوّق مع الأصدقاء", "تتسوّق مع الأصدقاء", "{n} أصدقاء في غرفتك", "صديق واحد في غرفتك", "جارٍ التحميل…", "تعذّر التحميل. حاول مرة أخرى.", "{n} غير مقروءة"],
};
const KEYS = ["launch", "launchActive", "friends", "friend", "loading", "failed", "unread"];

export const LOCALES = Object.keys(T);

/** The table key of a locale tag: "de-AT" → "de" (English when unsupported). */
export function languageOf(locale) {
  const lang = String(locale || "").split("-")[0].toLowerCase();
  return T[lang] ? lang : "en";
}

/** `wanted` as a BCP 47 tag whose language we speak ("de_at" → "de-AT", the region kept
 * for number and price formats), or "" if none. */
export function supported(wanted) {
  const raw = String(wanted || "").trim().replace(/_/g, "-");
  if (!raw) return "";
  let tag;
  try {
    tag = Intl.getCanonicalLocales(raw)[0];
  } catch {
    return "";
  }
  return T[tag.split("-")[0].toLowerCase()] ? tag : "";
}

/** The widget's locale: the `locale` option, else the page's `lang`, else English. */
export function resolveLocale(option, pageLang) {
  return supported(option) || supported(pageLang) || "en";
}

export function isRtl(locale) {
  return languageOf(locale) === "ar";
}

/** {launch, launchActive, friends(n), loading, failed, unread ("{n}")} for a supported locale. */
export function strings(locale) {
  const row = T[languageOf(locale)];
  const s = Object.fromEntries(KEYS.map((k, i) => [k, row[i]]));
  return { ...s, friends: (n) => (n === 1 ? s.friend : s.friends.replace("{n}", String(n))) };
}
