// Tiny DOM helpers. Text always goes in as text nodes: nothing a member typed is ever
// parsed as HTML.

/** h("button.cs-x", {onclick, "aria-label": "…"}, "text", child, …) */
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k in el && typeof v !== "string") el[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Only http(s) URLs become links or images. */
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

const digitsCache = new Map();

/** Price in minor units → "€19.99" (currency-aware decimals: JPY has none). */
export function money(minor, currency) {
  let digits = digitsCache.get(currency);
  let fmt;
  try {
    fmt = new Intl.NumberFormat(undefined, { style: "currency", currency });
    if (digits === undefined) {
      digits = fmt.resolvedOptions().maximumFractionDigits;
      digitsCache.set(currency, digits);
    }
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
  return fmt.format(minor / 10 ** digits);
}

/** A stable colour per member id. */
export function hue(id) {
  let x = 0;
  for (let i = 0; i < id.length; i++) x = (x * 31 + id.charCodeAt(i)) >>> 0;
  return x % 360;
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}
