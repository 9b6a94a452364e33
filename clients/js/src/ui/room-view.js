// The room UI shared by the phone room page and the widget panel: the shared cart, chat
// with product cards, who is here and what each is looking at, following someone's focus,
// the invite link and QR code, and an honest connection state.
//
// Everything on screen is derived from the connection (state folded from server events,
// presence, pending ops); clicks only send ops and signals.

import { cartBadgeCount, cartBadgeLabel, linePrice } from "./cart-lines.js";
import { fill, h, hue, initials, money, safeUrl } from "./dom.js";
import { icon } from "./icons.js";

const STATUS_TEXT = {
  idle: "Starting…",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};

const DEVICE_ICON = { phone: "phone", tablet: "phone", desktop: "desktop" };
const DEVICE_LABEL = { phone: "on a phone", tablet: "on a tablet", desktop: "on a computer" };

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

    // cart
    e.focus = h("div", { "data-testid": "focus-area" });
    e.cart = h("ul.cs-cart", { "data-testid": "cart" });
    e.total = h("div.cs-total", { "data-testid": "cart-total" });
    e.checkout =
      this.mode === "widget"
        ? h("button.cs-primary", { "data-testid": "checkout", onclick: () => this._checkout() }, "Checkout")
        : null;
    const cartPane = h("section.cs-pane", { "data-pane": "cart" }, e.focus, h("h3", null, "Shared cart"), e.cart, e.total, e.checkout);

    // chat
    e.chat = h("ul.cs-chat", { "data-testid": "chat" });
    e.typing = h("div.cs-typing", { "data-testid": "typing" });
    e.chatScroll = h("div.cs-pane", { style: { padding: "12px" } }, e.chat, e.typing);
    e.input = h("input", {
      "data-testid": "chat-input",
      placeholder: "Message",
      maxLength: 2000,
      "aria-label": "Message",
      oninput: () => this._typing(),
    });
    e.attach = h("button", { type: "button", "data-testid": "attach", "aria-pressed": "false", title: "Attach the product", "aria-label": "Attach the product", onclick: () => this._toggleAttach() }, icon("clip"));
    e.attachChip = h("div.cs-attach-chip", { hidden: true });
    e.composer = h(
      "form.cs-composer",
      { onsubmit: (ev) => (ev.preventDefault(), this._sendChat()) },
      e.attach,
      e.input,
      h("button.cs-primary", { type: "submit", "data-testid": "send" }, "Send"),
    );
    const chatPane = h(
      "section.cs-pane.cs-chat-wrap",
      { "data-pane": "chat", style: { padding: "0", gap: "0", overflow: "hidden" } },
      e.chatScroll,
      e.attachChip,
      e.composer,
    );

    // people + share
    e.people = h("ul.cs-people", { "data-testid": "people" });
    e.inviteInput = h("input", { readOnly: true, "data-testid": "invite-link", "aria-label": "Invite link" });
    e.copy = h("button", { onclick: () => this._copy() }, "Copy");
    e.qr = h("img.cs-qr", { alt: "QR code of the invite link", "data-testid": "qr", width: 148, height: 148 });
    e.share = h(
      "div.cs-share",
      { "data-testid": "share" },
      h("h3", null, "Invite friends"),
      h("div.cs-share-row", null, e.inviteInput, e.copy),
      e.qr,
    );
    const peoplePane = h("section.cs-pane", { "data-pane": "people" }, h("h3", null, "Here now"), e.people, e.share);

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

  _productCard(product, { label, actions = true, testid } = {}) {
    const img = safeUrl(product.image);
    const link = safeUrl(product.url);
    const name = link
      ? h("a.cs-name", { href: link, target: "_blank", rel: "noopener noreferrer" }, product.name)
      : h("span.cs-name", null, product.name);
    return h(
      "div.cs-card",
      { "data-testid": testid || "product-card", "data-product": product.id },
      img
        ? h("img.cs-card-img", { src: img, alt: "", loading: "lazy", referrerPolicy: "no-referrer" })
        : h("div.cs-card-img", null, initials(product.name)),
      h(
        "div.cs-card-main",
        null,
        label ? h("div.cs-focus-label", null, label) : null,
        name,
        h("div.cs-price", null, money(product.price, product.currency)),
      ),
      actions ? h("button", { "data-testid": "add-product", onclick: () => this._add(product) }, "Add to cart") : null,
    );
  }

  _renderFocus() {
    const conn = this.conn;
    const parts = [];
    const mine = this.opts.pageProduct ? this.opts.pageProduct() : null;
    if (mine) {
      const card = this._productCard(mine, { label: "On this page", testid: "page-product" });
      card.classList.add("cs-focus");
      parts.push(card);
    }
    const target = conn.following;
    if (target) {
      const p = conn.presence.get(target);
      const who = this._name(target);
      if (p && p.focus) {
        const card = this._productCard(p.focus, { label: `Following ${who} — looking at`, testid: "followed-focus" });
        card.classList.add("cs-focus");
        parts.push(card);
      } else {
        parts.push(h("div.cs-card.cs-focus", { "data-testid": "followed-focus" }, h("div.cs-focus-label", null, p ? `Following ${who} — not looking at anything yet` : `${who} left`)));
      }
      parts.push(h("button", { "data-testid": "unfollow", onclick: () => (conn.follow(null), this.schedule()) }, "Stop following"));
    }
    fill(this.el.focus, parts);
    this.el.focus.hidden = parts.length === 0;
  }

  _renderCart() {
    const conn = this.conn;
    const s = conn.state;
    if (!s.cart.length) {
      fill(this.el.cart, h("li.cs-empty", null, "The cart is empty. Add what you like — everyone here sees it."));
      this.el.total.hidden = true;
      if (this.el.checkout) this.el.checkout.disabled = true;
      this._notifyCart();
      return;
    }
    const items = s.cart.map((line) => {
      const p = line.product;
      const votes = Object.values(line.votes);
      const up = votes.filter((v) => v > 0).length;
      const down = votes.length - up;
      const myVote = line.votes[conn.member] || 0;
      const img = safeUrl(p.image);
      return h(
        "li.cs-line",
        { "data-testid": "cart-line", "data-line": line.line, "data-product": p.id },
        img ? h("img.cs-line-img", { src: img, alt: "", loading: "lazy", referrerPolicy: "no-referrer" }) : h("div.cs-line-img", null, initials(p.name)),
        h(
          "div.cs-line-main",
          null,
          h("span.cs-name", { "data-testid": "line-name" }, p.name, p.variant ? ` (${p.variant})` : ""),
          this._linePrice(line),
          h(
            "div.cs-line-actions",
            null,
            h(
              "span.cs-stepper",
              null,
              h("button", { "aria-label": "One less", "data-testid": "qty-dec", disabled: line.qty <= 1, onclick: () => this._do(conn.setQuantity(line.line, line.qty - 1)) }, "−"),
              h("span.cs-qty", { "data-testid": "qty" }, String(line.qty)),
              h("button", { "aria-label": "One more", "data-testid": "qty-inc", disabled: line.qty >= 999, onclick: () => this._do(conn.setQuantity(line.line, line.qty + 1)) }, "+"),
            ),
            h("button", { "aria-label": "Vote up", "aria-pressed": String(myVote > 0), "data-testid": "vote-up", onclick: () => this._do(conn.vote(line.line, myVote > 0 ? "clear" : "up")) }, icon("up", 16), h("span", { "data-testid": "up-count" }, String(up))),
            h("button", { "aria-label": "Vote down", "aria-pressed": String(myVote < 0), "data-testid": "vote-down", onclick: () => this._do(conn.vote(line.line, myVote < 0 ? "clear" : "down")) }, icon("down", 16), h("span", { "data-testid": "down-count" }, String(down))),
            h("button.cs-remove", { "aria-label": "Remove", title: "Remove", "data-testid": "remove", onclick: () => this._do(conn.removeLine(line.line)) }, icon("trash", 16)),
          ),
        ),
      );
    });
    fill(this.el.cart, items);
    const totals = new Map();
    for (const l of s.cart) totals.set(l.product.currency, (totals.get(l.product.currency) || 0) + l.product.price * l.qty);
    fill(
      this.el.total,
      h("span", null, "Total"),
      h("span", null, [...totals].map(([cur, sum]) => money(sum, cur)).join(" + ")),
    );
    this.el.total.hidden = false;
    if (this.el.checkout) this.el.checkout.disabled = false;
    this._notifyCart();
  }

  _linePrice(line) {
    const price = linePrice(line);
    return h(
      "div.cs-price",
      { "data-testid": "line-price" },
      h("span", { "data-testid": "line-unit" }, price.unit),
      price.qty === 1 ? null : [` × ${price.qty} = `, h("b", { "data-testid": "line-total" }, price.total)],
      ` · added by ${this._name(line.added_by)}`,
    );
  }

  _notifyCart() {
    if (!this.opts.onCartChange) return;
    const key = JSON.stringify(this.conn.state.cart.map((l) => [l.line, l.qty, l.votes]));
    if (key === this._cartKey) return;
    this._cartKey = key;
    this.opts.onCartChange(this.conn.state.cart);
  }

  _renderChat() {
    const conn = this.conn;
    const s = conn.state;
    const scroller = this.el.chatScroll;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    if (!s.chat.length) {
      fill(this.el.chat, h("li.cs-empty", null, "No messages yet. Ask your friends what they think!"));
    } else {
      fill(
        this.el.chat,
        s.chat.map((m) =>
          h(
            `li.cs-msg${m.by === conn.member ? ".cs-mine" : ""}`,
            { "data-testid": "chat-message", "data-id": m.id },
            h("div.cs-msg-by", null, this._name(m.by)),
            h("div.cs-msg-text", { "data-testid": "chat-text" }, m.text),
            m.product ? this._productCard(m.product) : null,
          ),
        ),
      );
    }
    for (const op of conn.pendingOps()) {
      if (op.t !== "chat") continue;
      if (this.el.chat.firstChild && this.el.chat.firstChild.classList.contains("cs-empty")) this.el.chat.replaceChildren();
      this.el.chat.append(
        h(
          "li.cs-msg.cs-mine.cs-pending",
          { "data-testid": "chat-pending" },
          h("div.cs-msg-by", null, conn.status === "live" ? "Sending…" : "Not sent yet"),
          h("div.cs-msg-text", null, op.text),
          op.product ? this._productCard(op.product, { actions: false }) : null,
        ),
      );
    }
    const typers = [...conn.typing].filter((m) => m !== conn.member).map((m) => this._name(m));
    this.el.typing.textContent = typers.length ? `${typers.join(", ")} ${typers.length === 1 ? "is" : "are"} typing…` : "";
    const product = this._attachable();
    this.el.attach.hidden = !product;
    if (!product) this.attach = false;
    this.el.attach.setAttribute("aria-pressed", String(this.attach));
    this.el.attachChip.hidden = !(this.attach && product);
    this.el.attachChip.textContent = product ? `Attached: ${product.name}` : "";
    if (s.chat.length !== this._lastChatCount) {
      const mineLast = s.chat.length && s.chat[s.chat.length - 1].by === conn.member;
      this._lastChatCount = s.chat.length;
      this._scrollChat(atBottom || mineLast);
    }
  }

  _scrollChat(force) {
    const scroller = this.el.chatScroll;
    if (force) scroller.scrollTop = scroller.scrollHeight;
  }

  _renderPeople() {
    const conn = this.conn;
    const people = [...conn.presence.values()].sort((a, b) =>
      a.member === conn.member ? -1 : b.member === conn.member ? 1 : a.name.localeCompare(b.name),
    );
    if (!people.length) {
      fill(this.el.people, h("li.cs-empty", null, conn.live ? "Nobody else is here yet." : "…"));
      return;
    }
    fill(
      this.el.people,
      people.map((p) => {
        const me = p.member === conn.member;
        const following = conn.following === p.member;
        const focus = p.focus;
        return h(
          "li.cs-person",
          { "data-testid": "person", "data-member": p.member, "data-name": p.name },
          h("span.cs-avatar", { style: { background: `hsl(${hue(p.member)} 55% 48%)` } }, initials(p.name)),
          h(
            "div.cs-person-main",
            null,
            h(
              "span.cs-name.cs-person-name",
              { "data-testid": "person-name", "data-device": p.device, title: DEVICE_LABEL[p.device] || "" },
              p.name,
              me ? " (you)" : "",
              DEVICE_ICON[p.device] ? h("small.cs-device", null, icon(DEVICE_ICON[p.device], 14)) : null,
            ),
            h(
              "div.cs-muted",
              { "data-testid": "person-focus" },
              focus ? `Looking at: ${focus.name}` : p.connections === 0 ? "Away" : "Browsing",
              p.following ? ` · following ${this._name(p.following)}` : "",
            ),
          ),
          me
            ? null
            : h(
                "button",
                {
                  "data-testid": "follow",
                  "aria-pressed": String(following),
                  onclick: () => {
                    conn.follow(following ? null : p.member);
                    if (!following) this.tab = "cart";
                    this.render();
                  },
                },
                following ? "Following" : "Follow",
              ),
        );
      }),
    );
  }

  _renderShare() {
    const { inviteUrl, qrUrl } = this.opts;
    this.el.share.hidden = !inviteUrl;
    if (!inviteUrl) return;
    if (this.el.inviteInput.value !== inviteUrl) this.el.inviteInput.value = inviteUrl;
    if (qrUrl && this.el.qr.getAttribute("src") !== qrUrl) this.el.qr.src = qrUrl;
    this.el.qr.hidden = !qrUrl;
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
    const mine = this.opts.pageProduct ? this.opts.pageProduct() : null;
    if (mine) return mine;
    const target = this.conn.following;
    const p = target ? this.conn.presence.get(target) : null;
    return p && p.focus ? p.focus : null;
  }

  _toggleAttach() {
    this.attach = !this.attach;
    this.render();
  }

  _sendChat() {
    const text = this.el.input.value.trim();
    const product = this.attach ? this._attachable() : null;
    if (!text && !product) return;
    this._do(this.conn.chat(text || product.name, product || undefined));
    this.el.input.value = "";
    this.attach = false;
    this._stopTyping();
    this.render();
  }

  _typing() {
    if (!this._typingSent) {
      this._typingSent = true;
      this.conn.setTyping(true);
    }
    clearTimeout(this._typingTimer);
    this._typingTimer = setTimeout(() => this._stopTyping(), 3000);
  }

  _stopTyping() {
    clearTimeout(this._typingTimer);
    if (this._typingSent) {
      this._typingSent = false;
      this.conn.setTyping(false);
    }
  }

  async _copy() {
    const url = this.opts.inviteUrl;
    try {
      if (navigator.share && this.mode === "page" && matchMedia("(pointer: coarse)").matches) {
        await navigator.share({ title: this.conn.state.name, url });
        return;
      }
      await navigator.clipboard.writeText(url);
      this.el.copy.textContent = "Copied";
    } catch {
      this.el.inviteInput.select();
      this.el.copy.textContent = "Press Ctrl+C";
    }
    setTimeout(() => (this.el.copy.textContent = "Copy"), 2000);
  }

  _checkout() {
    if (this.opts.onCheckout) this.opts.onCheckout(this.conn.state.cart);
  }
}
