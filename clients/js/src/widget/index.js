// /widget.js — the retailer widget's launcher (the part every product page loads). One tag:
//
//   <script src="https://ROOMS/widget.js" data-key="pk_…" data-product-id="sku-1"
//           data-product-name="Linen shirt" data-product-price="4900"
//           data-product-currency="EUR" data-locale="de" data-position="bottom-left"></script>
//
// adds a "Shop with friends" button in a shadow root. The panel (room UI, codec,
// connection) is a second bundle loaded with import() when the shopper opens the widget
// (or shows intent: hover, focus, touch; or on idle with data-preload="idle"): nothing
// else — no WebSocket, QR or product image — is fetched before that. The page talks to it
// through window.cosession (on / off / setProduct / open / close / configure / leave);
// see docs/widget.md.

import { DEFAULTS, fromDataset, merge, productFrom } from "./config.js";
import { deepActive, tabbables, trapTab } from "./dialog.js";
import { isRtl, resolveLocale, strings } from "./strings.js";
import { SMALL, hostCss, launcherCss } from "./styles.js";

/* global __COSESSION_PANEL__ */
const PANEL_FILE = typeof __COSESSION_PANEL__ === "string" ? __COSESSION_PANEL__ : "widget-panel.js";
const BAG = "M5 8h14l-1 12H6L5 8zM9 8V6a3 3 0 0 1 6 0v2";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

(function () {
  const script = document.currentScript || document.querySelector('script[src*="widget.js"][data-key]');
  if (!script || (window.cosession && window.cosession.version)) return; // absent, or loaded twice
  const base = new URL(script.src, location.href).origin;
  let cfg = merge(merge(DEFAULTS, fromDataset(script.dataset)), window.cosessionConfig);
  const storageKey = `cosession:widget:${base}:${cfg.key}`;
  let product = productFrom(cfg.product);
  let locale = "en";
  let t = strings(locale);
  let open = false;
  let others = 0;
  let unread = 0; // unread messages and cart changes (SPEC 15): the badge shows them first
  let returnTo = null;
  let ctl = null; // the panel module's controller, once loaded
  let loading = null;
  const handlers = new Map();
  const sticky = new Map(); // events a late subscriber still gets: "ready", "room"
  const small = window.matchMedia(SMALL);

  function emit(name, data) {
    if (name === "ready" || name === "room") sticky.set(name, data);
    for (const fn of [...(handlers.get(name) || [])]) {
      try {
        fn(data);
      } catch (err) {
        console.error(`cosession: "${name}" handler failed`, err);
      }
    }
  }

  function saved() {
    try {
      const s = JSON.parse(localStorage.getItem(storageKey) || "null");
      return s && typeof s.token === "string" && s.token ? s : null;
    } catch {
      return null;
    }
  }

  function roomInfo() {
    const s = ctl ? ctl.session() : saved();
    return s ? { room: s.room, member: s.member, invite_url: s.invite_url } : null;
  }

  // ---- DOM: launcher first, then the panel (reading and focus order) ----------------

  try {
    const outer = new CSSStyleSheet();
    outer.replaceSync(hostCss);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, outer];
  } catch {
    document.head.append(el("style", {}, hostCss)); // no constructed stylesheets (Safari < 16.4)
  }
  const host = document.createElement("cosession-widget");
  const shadow = host.attachShadow({ mode: "open" });
  const sheet = el("style");
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: 20, height: 20, "aria-hidden": "true", fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linejoin": "round" })) icon.setAttribute(k, v);
  icon.innerHTML = `<path d="${BAG}"/>`;
  const label = el("span", { class: "cs-label" });
  const badge = el("span", { class: "cs-badge", part: "badge", "aria-hidden": "true", hidden: "" });
  const badgeText = el("span", { class: "cs-sr" });
  const launcher = el("button", { class: "cs-launcher", part: "launcher", type: "button", "data-testid": "launcher", "aria-expanded": "false", "aria-haspopup": "dialog", onclick: () => (open ? hide() : show()) }, icon, label, badge, badgeText);
  const announcer = el("span", { class: "cs-sr", role: "status" });
  const panel = el("div", { class: "cs-panel", part: "panel", id: "cs-panel", "data-testid": "panel", role: "dialog", tabindex: "-1", hidden: "" });
  launcher.setAttribute("aria-controls", "cs-panel");
  const root = el("div", { class: "cs-root" }, launcher, announcer, panel);
  shadow.append(sheet, root);

  for (const ev of ["pointerenter", "focus", "touchstart"]) launcher.addEventListener(ev, () => cfg.preload !== "open" && load().catch(() => {}), { passive: true, once: true });

  function applyConfig() {
    locale = resolveLocale(cfg.locale, document.documentElement.lang);
    t = strings(locale);
    for (const node of [host, root]) {
      node.setAttribute("lang", locale);
      node.setAttribute("dir", isRtl(locale) ? "rtl" : "ltr");
    }
    host.setAttribute("data-position", cfg.position);
    host.setAttribute("data-launcher", cfg.launcher);
    launcher.hidden = cfg.launcher === "none";
    const [x, y] = cfg.offset || [20, 20];
    sheet.textContent = `:host{--_ox:${x}px;--_oy:${y}px}` + launcherCss;
    panel.setAttribute("aria-label", t.launch);
    updateLauncher();
    if (ctl) ctl.setLocale(locale);
  }

  function updateLauncher() {
    const active = !!roomInfo();
    label.textContent = cfg.launcherText || (active ? t.launchActive : t.launch);
    const shown = unread || others;
    badge.hidden = !shown;
    badge.dataset.kind = unread ? "unread" : "friends";
    badge.textContent = String(shown);
    badgeText.textContent = (unread ? `, ${t.unread.replace("{n}", String(unread))}` : "") + (others ? `, ${t.friends(others)}` : "");
  }

  function setCount(n) {
    const before = others;
    others = n;
    updateLauncher();
    if (n > before) announcer.textContent = t.friends(n); // polite: a friend arrived
  }

  function setUnread(n) {
    if (n === unread) return;
    unread = n;
    updateLauncher();
  }

  function trapped() {
    return small.matches;
  }

  function load() {
    if (!loading) {
      loading = import(`${base}/static/${PANEL_FILE}`).then((m) => {
        ctl = m.createPanel({ base, storageKey, key: cfg.key, panel, locale, getProduct: () => product, emit, close: hide, setCount, setUnread, roomInfo });
        return ctl;
      });
      loading.catch(() => (loading = null)); // try again on the next open
    }
    return loading;
  }

  async function show() {
    if (open) return;
    open = true;
    const active = deepActive();
    returnTo = active && active !== document.body && active.getRootNode() !== shadow ? active : null;
    panel.hidden = false;
    panel.setAttribute("aria-modal", String(trapped()));
    launcher.setAttribute("aria-expanded", "true");
    if (!ctl) panel.replaceChildren(el("div", { class: "cs-loading", role: "status" }, t.loading));
    panel.focus();
    emit("open", roomInfo());
    try {
      await load();
    } catch (err) {
      panel.replaceChildren(el("div", { class: "cs-loading", role: "alert" }, t.failed));
      console.error("cosession: the panel did not load", err);
      return;
    }
    if (!open) return;
    ctl.show();
    const target = ctl.focusTarget() || panel;
    const now = deepActive();
    if (!now || now === document.body || now.getRootNode() === shadow) target.focus();
  }

  function hide() {
    if (!open) return;
    open = false;
    const hadFocus = deepActive() === host || shadow.activeElement !== null || deepActive() === document.body;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    if (hadFocus) {
      if (!launcher.hidden && launcher.getClientRects().length) launcher.focus();
      else if (returnTo && returnTo.isConnected) returnTo.focus();
    }
    returnTo = null;
    emit("close", roomInfo());
  }

  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && open) {
      ev.stopPropagation();
      hide();
    } else if (ev.key === "Tab" && open && trapped() && panel.contains(shadow.activeElement)) {
      trapTab(ev, panel, shadow.activeElement);
    }
  });
  // on a phone the panel covers the page: focus never goes back into the hidden shop
  document.addEventListener("focusin", (ev) => {
    if (open && trapped() && ev.target !== host) (tabbables(panel)[0] || panel).focus();
  });
  small.addEventListener("change", () => open && panel.setAttribute("aria-modal", String(trapped())));

  // ---- public API ----------------------------------------------------------------

  const api = {
    version: "2",
    /** Subscribe to "ready", "room", "cart", "checkout", "member-joined", "status", "open", "close". */
    on(name, fn) {
      if (typeof fn !== "function") return api;
      let set = handlers.get(name);
      if (!set) handlers.set(name, (set = new Set()));
      set.add(fn);
      if (sticky.has(name)) {
        try {
          fn(sticky.get(name));
        } catch (err) {
          console.error(`cosession: "${name}" handler failed`, err);
        }
      }
      return api;
    },
    off(name, fn) {
      handlers.get(name)?.delete(fn);
      return api;
    },
    /** The product now on the page (for single-page apps); null clears it. */
    setProduct(p) {
      product = productFrom(p);
      if (ctl) ctl.setProduct(product);
      return api;
    },
    /** Change options at run time: position, offset, launcher ("button" | "none"), launcherText, locale. */
    configure(opts) {
      cfg = merge(cfg, opts);
      applyConfig();
      return api;
    },
    open: () => (show(), api),
    close: () => (hide(), api),
    toggle: () => (open ? hide() : show(), api),
    get isOpen() {
      return open;
    },
    get locale() {
      return locale;
    },
    get room() {
      return roomInfo();
    },
    get cart() {
      return ctl ? ctl.cart() : [];
    },
    /** Forget the remembered room (the next open starts a new one). */
    leave() {
      if (ctl) ctl.leave();
      else {
        try {
          localStorage.removeItem(storageKey);
        } catch {
          // storage disabled: nothing remembered
        }
        emit("room", null);
      }
      updateLauncher();
      return api;
    },
    _debug: () => (ctl ? ctl.debug() : {}),
  };
  window.cosession = api;

  function init() {
    applyConfig();
    // a shop that sets or switches its page's language later (single-page shops): follow
    // it unless the locale was given explicitly
    new MutationObserver(() => !cfg.locale && applyConfig()).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
    (document.body || document.documentElement).append(host);
    if (cfg.preload === "idle") (window.requestIdleCallback || setTimeout)(() => load().catch(() => {}), { timeout: 4000 });
    emit("ready", { room: roomInfo(), product });
    window.dispatchEvent(new CustomEvent("cosession:ready"));
  }

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
