// The console's room view for one claimed request: the shared room (the room UI of the
// widget: cart, chat, people, joined with the member token the claim returned), with the
// associate's tools above it — back to the queue (phone), close the request, quick
// replies, and a catalog search whose results are pushed to the chat as product cards.

import { RoomConnection } from "../core/connection.js";
import { wsUrlFor } from "../core/rest.js";
import { errorMessage } from "../core/errors.js";
import { h, setText, syncList } from "../ui/dom.js";
import { RoomView } from "../ui/room-view.js";
import { associateApi } from "./api.js";
import { productMessage, quickReplies } from "./model.js";

export class RoomPane {
  /** `claim` is the stored claim {id, room, room_name, token, ws_url}. */
  constructor(c, claim) {
    this.c = c;
    this.claim = claim;
    const t = c.t;
    // this page's own server (the CSP allows only its WebSocket; the claim's ws_url is the
    // server's configured public URL, which may name another host)
    const url = wsUrlFor(c.base);
    this.conn = new RoomConnection({ url, token: claim.token });
    this.el = {};
    const e = this.el;
    const uid = `cs-r-${claim.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    e.back = h("button.cs-back", { type: "button", "data-testid": "back", onclick: () => c.showQueue() }, t("console.back"));
    e.close = h("button", { type: "button", "data-testid": "close-request", onclick: () => this.closeRequest() }, t("console.closeRequest"));
    e.replies = h(
      "div.cs-replies",
      { role: "group", "aria-labelledby": `${uid}-qr`, "data-testid": "quick-replies" },
      h("h3.cs-sub", { id: `${uid}-qr` }, t("console.quickReplies")),
      quickReplies(t, c.me.name || "").map((r) => h("button", { type: "button", "data-testid": "quick-reply", "data-key": r.key, onclick: () => this.send(r.text) }, r.text)),
    );
    e.q = h("input", { id: `${uid}-q`, type: "search", "data-testid": "search-input", maxLength: 100, autocomplete: "off", dir: "auto" });
    e.resultNote = h("p.cs-muted", { id: `${uid}-found`, "data-testid": "search-note", role: "status" });
    e.results = h("ul.cs-results", { "data-testid": "search-results", "aria-labelledby": e.resultNote.id });
    e.search = h(
      "form.cs-search",
      { role: "search", onsubmit: (ev) => (ev.preventDefault(), this.search()) },
      h("label.cs-sub", { for: e.q.id }, t("console.search")),
      h("div.cs-search-row", null, e.q, h("button", { type: "submit", "data-testid": "search" }, t("console.searchButton"))),
      e.resultNote,
      e.results,
    );
    e.error = h("p.cs-error", { role: "alert", "data-testid": "room-error" });
    e.mount = h("div.cs-room-mount");
    this.root = h(
      "section.cs-room-pane",
      { "data-testid": "console-room", "data-request": claim.id },
      h("div.cs-room-tools", null, h("div.cs-room-bar", null, e.back, e.close), e.error, e.replies, e.search),
      e.mount,
    );
    c.el.rooms.append(this.root);
    this.view = new RoomView(e.mount, this.conn, { mode: "widget", locale: c.i18n.locale, title: claim.room_name || "", autofocus: false });
    this.conn.on("closed", (err) => {
      if (err) setText(e.error, errorMessage(err, t));
    });
    this.conn.join().catch(() => {});
  }

  show(on) {
    this.root.hidden = !on;
  }

  focus() {
    this.view.el.title.focus();
  }

  send(text, product) {
    setText(this.el.error, "");
    this.conn.chat(text, product).then(
      () => this.c.announce(this.c.t("console.sent")),
      (err) => setText(this.el.error, errorMessage(err, this.c.t)),
    );
  }

  async search() {
    const c = this.c;
    const q = this.el.q.value.trim();
    if (!q) return;
    let products = [];
    try {
      // the room's member token (role associate): its room's tenant decides the catalog
      const found = await associateApi.search(c.base, this.claim.token, q);
      products = (found && Array.isArray(found.products) ? found.products : []).filter((p) => p && p.id && p.name);
    } catch (err) {
      setText(this.el.resultNote, errorMessage(err, c.t));
      return;
    }
    setText(this.el.resultNote, products.length ? c.t("console.searchResults", { count: products.length }) : c.t("console.searchNone"));
    syncList(
      this.el.results,
      products,
      (p) => p.id,
      (p) => {
        const name = h("span.cs-name", { dir: "auto" });
        const price = h("span.cs-muted");
        const send = h("button", { type: "button", "data-testid": "send-card" }, c.t("console.sendCardShort"));
        const li = h("li.cs-result", { "data-testid": "search-result" }, h("div.cs-result-main", null, name, price), send);
        li._r = { name, price, send };
        return li;
      },
      (li, p) => {
        li.dataset.product = p.id;
        setText(li._r.name, p.name);
        setText(li._r.price, typeof p.price === "number" && p.currency ? c.i18n.money(p.price, p.currency) : "");
        li._r.send.setAttribute("aria-label", c.t("console.sendCard", { product: p.name }));
        li._r.send.onclick = () => {
          const m = productMessage(c.t, p);
          this.send(m.text, m.product);
        };
      },
      this.el.q,
    );
  }

  async closeRequest() {
    const c = this.c;
    this.el.close.disabled = true;
    try {
      await associateApi.close(c.base, c.token, this.claim.id);
    } catch (err) {
      // already closed (by the room or another node) is fine: the room is done
      if (err.status !== 404 && err.status !== 409) {
        this.el.close.disabled = false;
        setText(this.el.error, errorMessage(err, c.t));
        return;
      }
    }
    c.closed(this.claim.id);
  }

  destroy() {
    this.view.destroy();
    this.conn.close();
    this.root.remove();
  }
}
