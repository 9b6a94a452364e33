// The room UI shared by the phone room page and the widget panel: the shared cart, chat
// with product cards, who is here and what each is looking at, following someone's focus,
// the invite link and QR code, and an honest connection state.
//
// Everything on screen is derived from the connection (state folded from server events,
// presence, pending ops); clicks only send ops and signals. Lists are updated in place by
// key, so keyboard focus and scroll positions survive every update (WCAG 2.4.3); others'
// cart edits and joins are announced politely; all text comes from the i18n tables.

import { errorMessage } from "../core/errors.js";
import { createI18n, resolveLocale } from "../i18n/index.js";
import { Announcer } from "./announce.js";
import { cartBadgeCount, cartBadgeLabel } from "./cart-lines.js";
import { h, setAttr, setText } from "./dom.js";
import { buildCallPane, destroyCall, renderCall } from "./room-call.js";
import { buildCartPane, checkout, productCard, renderCart, renderFocus } from "./room-cart.js";
import { attachable, buildChatPane, renderChat, scrollChat, sendChat, stopTyping, typing } from "./room-chat.js";
import { buildHelpBar, renderHelp } from "./room-help.js";
import { buildPeoplePane, copyInvite, renderPeople, renderShare } from "./room-people.js";
import { buildPolls, destroyPolls, renderPolls } from "./room-polls.js";
import { renderQuestions } from "./room-questions.js";
import { buildStoreLine, renderStore } from "./room-store.js";
import { buildSince, followReads, openSince, renderSince, watchVisibility } from "./room-since.js";
import { buildTabs, renderTabs } from "./tabs.js";

let nextId = 0;

/** The locale the view speaks: the `locale` option, else the `lang` of the nearest element
 * around the mount (the page's), else English. */
export function viewLocale(mount, locale) {
  let pageLang = "";
  try {
    const host = mount.getRootNode().host || mount;
    const withLang = host.closest ? host.closest("[lang]") : null;
    pageLang = (withLang && withLang.getAttribute("lang")) || document.documentElement.lang || "";
  } catch {
    pageLang = "";
  }
  return resolveLocale(locale, pageLang);
}

export class RoomView {
  /**
   * @param {HTMLElement} mount  where the view goes (a page element or a shadow-root div)
   * @param {import("../core/connection.js").RoomConnection} conn
   * @param {object} opts
   *   mode: "page" | "widget"; locale (BCP 47, e.g. "de-DE"); inviteUrl; qrUrl; title;
   *   pageProduct(): the product on the retailer page (widget) or null;
   *   scanner: {build(v), destroy(v)} — barcode scanning (the room page: ui/room-scan.js);
   *   onCheckout(lines); onClose(); onCartChange(lines)
   */
  constructor(mount, conn, opts = {}) {
    this.conn = conn;
    this.opts = opts;
    this.mode = opts.mode || "page";
    this.i18n = createI18n(viewLocale(mount, opts.locale));
    this.t = this.i18n.t;
    this.uid = `cs${++nextId}`;
    this.tab = "cart";
    this.attach = false;
    this._scheduled = false;
    this._typingTimer = null;
    this._typingSent = false;
    this._lastChatCount = 0;
    this.since = null; // "since you were here": {unread, from} while shown (room-since.js)
    this.newFrom = null; // the read cursor when the member came back: later messages are "New"
    this._build(mount);
    this.announcer = new Announcer(this);
    const rerender = () => this.schedule();
    this._unsubs = ["state", "presence", "status", "typing", "focus", "follow", "welcome", "read"].map((n) => conn.on(n, rerender));
    this._unsubs.push(conn.on("welcome", () => openSince(this)), watchVisibility(this));
    openSince(this);
    this.render();
    if (opts.autofocus !== false) this._focusIfLost();
  }

  destroy() {
    for (const u of this._unsubs) u();
    destroyCall(this);
    destroyPolls(this);
    if (this.opts.scanner) this.opts.scanner.destroy(this);
    if (this._mql) this._mql.removeEventListener("change", this._onWide);
    this.root.remove();
  }

  setInvite(inviteUrl, qrUrl) {
    this.opts.inviteUrl = inviteUrl;
    this.opts.qrUrl = qrUrl;
    this.schedule();
  }

  schedule() {
    if (this._scheduled) return;
    this._scheduled = true;
    setTimeout(() => {
      this._scheduled = false;
      this.render();
    }, 0);
  }

  // ---- skeleton (built once; lists are updated in place) ------------------------------

  _build(mount) {
    const t = this.t;
    this.el = {};
    const e = this.el;
    e.title = h(this.mode === "page" ? "h1.cs-title" : "h2.cs-title", { "data-testid": "room-name", id: `${this.uid}-title`, tabIndex: -1, dir: "auto" });
    e.status = h("span.cs-status", { "data-testid": "status", role: "status" });
    e.close = this.opts.onClose
      ? h("button.cs-close", { type: "button", "aria-label": t("close"), title: t("close"), "data-testid": "close", onclick: () => this.opts.onClose() }, "✕")
      : null;
    e.banner = h("div.cs-banner", { "data-testid": "banner", hidden: true, role: "status" });
    e.announce = h("div.cs-sr", { "data-testid": "announce", role: "status", "aria-live": "polite" });

    const cartPane = buildCartPane(this);
    cartPane.append(buildPolls(this)); // polls (SPEC 17) live under the cart they choose from
    // the phone room page scans barcodes (ui/room-scan.js; the widget does not bundle it)
    if (this.opts.scanner) cartPane.prepend(this.opts.scanner.build(this));
    const chatPane = buildChatPane(this);
    const peoplePane = buildPeoplePane(this);
    e.panes = { cart: cartPane, chat: chatPane, people: peoplePane };
    e.tabs = buildTabs(this, [
      ["cart", t("tab.cart")],
      ["chat", t("tab.chat")],
      ["people", this.mode === "widget" ? t("tab.friends") : t("tab.people")],
    ]);
    this.root = h(
      `div.cs.cs-${this.mode}`,
      { "data-testid": "room-view", lang: this.i18n.locale, dir: this.i18n.dir, "aria-labelledby": e.title.id },
      h("div.cs-head", null, e.title, e.status, e.close),
      buildStoreLine(this),
      e.banner,
      buildSince(this),
      (e.help = buildHelpBar(this)),
      (e.call = buildCallPane(this)),
      e.tabs,
      h("div.cs-panes", null, cartPane, chatPane, peoplePane),
      e.announce,
    );
    mount.append(this.root);
    // the room page on a wide screen shows all three panels side by side, without tabs
    if (this.mode === "page" && typeof matchMedia === "function") {
      this._mql = matchMedia("(min-width: 900px)");
      this._onWide = () => this.render();
      this._mql.addEventListener("change", this._onWide);
    }
  }

  get wide() {
    return !!(this._mql && this._mql.matches);
  }

  /** After the start/join form was replaced by the room, focus would be on <body>: put
   * it on the room's heading instead (only when the view is on screen). */
  _focusIfLost() {
    const root = this.root.getRootNode();
    const active = root.activeElement;
    // (a focused element just hidden or removed is not blurred until the next layout)
    if (active && active !== document.body && active.isConnected && active.getClientRects().length) return;
    if (!this.root.getClientRects().length) return;
    this.el.title.focus();
  }

  _setTab(id, focusTab = false) {
    this.tab = id;
    this.render();
    if (focusTab) this.el.tabs.querySelector(`[data-tab="${id}"]`).focus();
    if (id === "chat") scrollChat(this, true);
  }

  // ---- rendering -------------------------------------------------------------------

  render() {
    const conn = this.conn;
    const s = conn.state;
    const e = this.el;
    const t = this.t;
    setText(e.title, s.name || this.opts.title || t("room.untitled"));
    e.status.dataset.status = conn.status;
    setText(e.status, STATUS[conn.status] ? t(STATUS[conn.status]) : conn.status);
    this._renderBanner();
    renderStore(this);
    renderTabs(this, {
      cart: [cartBadgeCount(s.cart), cartBadgeLabel(s.cart, this.i18n)],
      chat: [s.chat.length, ""],
      people: [conn.presence.size, ""],
    });
    renderFocus(this);
    renderCart(this);
    renderPolls(this);
    renderChat(this);
    renderQuestions(this);
    renderPeople(this);
    renderShare(this);
    renderCall(this);
    renderSince(this);
    followReads(this);
    renderHelp(this);
    this.announcer.update();
  }

  _renderBanner() {
    const { status, pending } = this.conn;
    const t = this.t;
    const e = this.el.banner;
    if (this._flashing) return;
    const queued = pending ? t("banner.queued", { count: pending }) : "";
    let text = "";
    if (status === "offline") text = t("banner.offline", { queued });
    else if (status === "reconnecting") text = t("banner.reconnecting", { queued });
    else if (status === "connecting" && pending) text = t("banner.connecting", { queued });
    else if (status === "closed") {
      const why = this.conn.closedBy;
      text = why ? t("banner.closedWhy", { reason: errorMessage(why, t) }) : t("status.closed");
    }
    e.hidden = !text;
    e.dataset.kind = status;
    setText(e, text);
  }

  _name(member) {
    if (member === this.conn.member) return this.t("you");
    const m = Object.hasOwn(this.conn.state.members, member) ? this.conn.state.members[member] : null;
    if (m && m.erased) return this.t("erased");
    if (m) return m.name;
    const p = this.conn.presence.get(member);
    return p ? p.name : this.t("someone");
  }

  _money(minor, currency) {
    return this.i18n.money(minor, currency);
  }

  // ---- panels (room-cart.js, room-chat.js, room-people.js) -----------------------------

  _productCard(product, opts) {
    return productCard(this, product, opts);
  }

  // ---- actions ---------------------------------------------------------------------

  _do(promise) {
    this.schedule(); // show "N edits queued" at once
    promise.catch((err) => this._flash(err));
  }

  _flash(err) {
    if (!err || err.name === "ClosedError") return;
    const b = this.el.banner;
    b.hidden = false;
    b.dataset.kind = "error";
    setText(b, errorMessage(err, this.t));
    this._flashing = true;
    clearTimeout(this._flashTimer);
    this._flashTimer = setTimeout(() => {
      this._flashing = false;
      this.render();
    }, 4000);
  }

  _add(product) {
    this._do(this.conn.addToCart(product, 1));
  }

  _attachable() {
    return attachable(this);
  }

  _toggleAttach() {
    this.attach = !this.attach;
    this.render();
  }

  _sendChat() {
    sendChat(this);
  }

  _typing() {
    typing(this);
  }

  _stopTyping() {
    stopTyping(this);
  }

  _copy() {
    return copyInvite(this);
  }

  _checkout() {
    checkout(this);
  }
}

const STATUS = {
  idle: "status.idle",
  connecting: "status.connecting",
  live: "status.live",
  reconnecting: "status.reconnecting",
  offline: "status.offline",
  closed: "status.closed",
};

/** The room view in `container`: createRoomView(container, {conn, locale, mode, …}). */
export function createRoomView(container, { conn, ...opts }) {
  return new RoomView(container, conn, opts);
}
