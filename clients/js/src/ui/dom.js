// Tiny DOM helpers. Text always goes in as text nodes: nothing a member typed is ever
// parsed as HTML. Lists are updated by key (syncList) so focus and scroll survive updates.

import { formatMoney } from "../i18n/index.js";

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

/** Price in minor units → "€19.99" (currency-aware decimals: JPY has none), formatted in
 * `locale` (the shop's; English when not given). */
export function money(minor, currency, locale = "en") {
  return formatMoney(minor, currency, locale);
}

/** Set an element's text only when it differs (no needless mutation, no re-announcement). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
  return el;
}

/** Set (or, for null/false, remove) an attribute only when it differs. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else {
    const v = value === true ? "" : String(value);
    if (el.getAttribute(name) !== v) el.setAttribute(name, v);
  }
  return el;
}

/** Keyed list update: make `parent`'s children the nodes for `items`, in order, reusing the
 * node already there for each key (`create(item)` makes a new one, `update(node, item)`
 * refreshes one in place). Nodes are moved only when out of order, so a focused control
 * inside an unchanged item keeps focus and the list keeps its scroll position. When the
 * focused control's item goes away, focus moves to the same control of the next (else the
 * previous) item, else to `fallback` — never to <body>. */
export function syncList(parent, items, keyOf, create, update, fallback = null) {
  const old = new Map();
  for (const child of [...parent.children]) {
    if (child.__csKey !== undefined && !old.has(child.__csKey)) old.set(child.__csKey, child);
    else child.remove();
  }
  const nodes = items.map((item) => {
    const key = keyOf(item);
    let node = old.get(key);
    if (node) old.delete(key);
    else {
      node = create(item);
      node.__csKey = key;
    }
    update(node, item);
    return node;
  });
  const active = activeIn(parent);
  const removed = new Set(old.values());
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    while (cursor && removed.has(cursor)) cursor = cursor.nextElementSibling;
    if (cursor === node) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
  for (const node of removed) {
    if (active && node.contains(active)) {
      let sib = node.nextElementSibling;
      while (sib && removed.has(sib)) sib = sib.nextElementSibling;
      if (!sib) {
        sib = node.previousElementSibling;
        while (sib && removed.has(sib)) sib = sib.previousElementSibling;
      }
      node.remove();
      focusNear(sib, active.dataset ? active.dataset.testid : "", fallback);
    } else node.remove();
  }
  return nodes;
}

const FOCUSABLE = "button:not([disabled]),a[href],input:not([disabled]),[tabindex]";

/** Focus the control with `testid` in `item` (else its first control), else `fallback`. */
export function focusNear(item, testid, fallback) {
  const target =
    (item && ((testid && item.querySelector(`[data-testid="${testid}"]`)) || item.querySelector(FOCUSABLE))) ||
    fallback;
  if (!target) return;
  if (!target.matches(FOCUSABLE)) target.tabIndex = -1;
  target.focus();
}

/** The focused element, seen from `el`'s tree (through a shadow root), or null. */
export function activeIn(el) {
  const root = el.getRootNode();
  const active = root.activeElement || null;
  return active && el.contains(active) ? active : null;
}

/** A stable hue per member id. */
export function hue(id) {
  let x = 0;
  for (let i = 0; i < id.length; i++) x = (x * 31 + id.charCodeAt(i)) >>> 0;
  return x % 360;
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

function channel(c) {
  const v = c / 255;
  return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance (WCAG 2) of an [r, g, b] colour (0..255). */
export function luminance([r, g, b]) {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** Contrast ratio of two [r, g, b] colours. */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

export function hslToRgb(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const avatarCache = new Map();

/** An avatar background for a hue (0..359) dark enough for white initials at 4.5:1 and
 * more (WCAG 1.4.3): the lightness steps down from 48 % until white passes 4.6:1. */
export function avatarRgb(h) {
  let rgb = avatarCache.get(h);
  if (rgb) return rgb;
  for (let l = 0.48; l > 0.1; l -= 0.02) {
    rgb = hslToRgb(h, 0.55, l);
    if (contrast(rgb, [255, 255, 255]) >= 4.6) break;
  }
  avatarCache.set(h, rgb);
  return rgb;
}

/** The avatar colour of a member id, as CSS. */
export function avatarColor(id) {
  const [r, g, b] = avatarRgb(hue(id));
  return `rgb(${r} ${g} ${b})`;
}
