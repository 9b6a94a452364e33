// The room UI shared by the phone room page and the widget panel: the shared cart, chat
// with product cards, who is here and what each is looking at, following someone's focus,
// the invite link and QR code, and an honest connection state.
//
// Everything on screen is derived from the connection (state folded from server events,
// presence, pending ops); clicks only send ops and signals.

import { cartBadgeCount, cartBadgeLabel } from "./cart-lines.js";
import { h } from "./dom.js";
import { buildCartPane, checkout, notifyCart, productCard, renderCart, renderFocus, renderLinePrice } from "./room-cart.js";
import { attachable, buildChatPane, renderChat, scrollChat, sendChat, stopTyping, typing } from "./room-chat.js";
import { buildPeoplePane, copyInvite, renderPeople, renderShare } from "./room-people.js";
import { renderRetail } from "./room-retail.js";

const STATUS_TEXT = {
  idle: "Starting…",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};

export class RoomView {
  /**
   * @param {HTMLElement} mount  where the view goes (a page element or a shadow-root div)
   * @param {import("../core/connection.js").RoomConnection} conn
   * @param {object} opts
   *   mode: "page" | "widget"; inviteUrl; qrUrl; title;
   *   pageProduct(): the product on the retailer page (widget) or null;
   *   onCheckout(lines); onClose(); onCartChange(lines)
   */
  constructor(mount, conn, opts = {}) {
    this.conn = conn;
    this.opts = opts;
    this.mode = opts.mode || "page";
    this.tab = "cart";
    this.attach = false;
    this._scheduled = false;
    this._typingTimer = null;
    this._typingSent = false;
    this._lastChatCount = 0;
    this._build(mount);
    const rerender = () => this.schedule();
    this._unsubs = ["state", "presence", "status", "typing", "focus", "follow", "welcome"].map((n) => conn.on(n, rerender));
    this.render();
  }

  destroy() {
    for (const u of this._unsubs) u();
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

  // ---- skeleton (built once; lists are re-rendered) -----------------------------------

  _build(mount) {
    const tabBtn = (id, label) =>
      h(`button`, { role: "tab", "data-tab": id, onclick: () => this._setTab(id) }, label, " ", h("b", { "data-count": id }));
    this.el = {};
    const e = this.el;
    e.title = h("div.cs-title", { "data-testid": "room-name" });
    e.status = h("span.cs-status", { "data-testid": "status", role: "status" });
    e.close = this.opts.onClose
      ? h("button.cs-close", { "aria-label": "Close", onclick: () => this.opts.onClose() }, "✕")
      : null;
    e.banner = h("div.cs-banner", { "data-testid": "banner", hidden: true, role: "status" });
    e.tabs = h("nav.cs-tabs", { role: "tablist" }, tabBtn("cart", "Cart"), tabBtn("chat", "Chat"), tabBtn("people", this.mode === "widget" ? "Friends" : "People"));

    const cartPane = buildCartPane(this);
    const chatPane = buildChatPane(this);
    const peoplePane = buildPeoplePane(this);

    e.panes = { cart: cartPane, chat: chatPane, people: peoplePane };
    this.root = h(
      `div.cs.cs-${this.mode}`,
      { "data-testid": "room-view" },
      h("header.cs-head", null, e.title, e.status, e.close),
      e.banner,
      e.tabs,
      h("div.cs-panes", null, cartPane, chatPane, peoplePane),
    );
    mount.append(this.root);
  }

  _setTab(id) {
    this.tab = id;
    this.render();
    if (id === "chat") this._scrollChat(true);
  }

  // ---- rendering -------------------------------------------------------------------

  render() {
    const conn = this.conn;
    const s = conn.state;
    const e = this.el;
    e.title.textContent = s.name || this.opts.title || "Shopping room";
    e.status.dataset.status = conn.status;
    e.status.textContent = STATUS_TEXT[conn.status] || conn.status;
    this._renderBanner();
    for (const [id, pane] of Object.entries(e.panes)) pane.hidden = id !== this.tab;
    for (const b of e.tabs.querySelectorAll("button")) b.setAttribute("aria-selected", String(b.dataset.tab === this.tab));
    const cartCount = e.tabs.querySelector('[data-count="cart"]');
    cartCount.textContent = String(cartBadgeCount(s.cart));
    cartCount.title = cartBadgeLabel(s.cart);
    e.tabs.querySelector('[data-count="people"]').textContent = String(conn.presence.size);
    e.tabs.querySelector('[data-count="chat"]').textContent = String(s.chat.length);
    this._renderFocus();
    this._renderCart();
    this._renderChat();
    this._renderPeople();
    this._renderShare();
    renderRetail(this);
  }

  _renderBanner() {
    const { status, pending } = this.conn;
    const e = this.el.banner;
    const queued = pending ? ` — ${pending} edit${pending === 1 ? "" : "s"} queued` : "";
    let text = "";
    if (status === "offline") text = `Offline${queued}. Your edits will be sent when you are back online.`;
    else if (status === "reconnecting") text = `Reconnecting…${queued}`;
    else if (status === "connecting" && pending) text = `Connecting…${queued}`;
    else if (status === "closed") {
      const why = this.conn.closedBy;
      text = `Disconnected${why && why.message ? `: ${why.message}` : ""}`;
    }
    e.hidden = !text;
    e.dataset.kind = status;
    e.textContent = text;
  }

  _name(member) {
    if (member === this.conn.member) return "You";
    const m = this.conn.state.members[member];
    if (m) return m.name;
    const p = this.conn.presence.get(member);
    return p ? p.name : "Someone";
  }

  // ---- panels (room-cart.js, room-chat.js, room-people.js) -----------------------------

  _productCard(product, opts) {
    return productCard(this, product, opts);
  }

  _renderFocus() {
    renderFocus(this);
  }

  _renderCart() {
    renderCart(this);
  }

  _linePrice(line) {
    return renderLinePrice(this, line);
  }

  _notifyCart() {
    notifyCart(this);
  }

  _renderChat() {
    renderChat(this);
  }

  _scrollChat(force) {
    scrollChat(this, force);
  }

  _renderPeople() {
    renderPeople(this);
  }

  _renderShare() {
    renderShare(this);
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
    b.textContent = err.message || String(err);
    setTimeout(() => this.render(), 4000);
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
