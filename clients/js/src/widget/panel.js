// The widget's panel: the second bundle, imported by the launcher (index.js) when the
// shopper opens the widget. It owns the session: the start form, the connection to the
// room (opened only now, never while the panel was still closed) and the room view.

import { JoinFlow, safeStorage } from "../core/join.js";
import { unreadTotal } from "../core/reading.js";
import { rest, wsUrlFor } from "../core/rest.js";
import { h } from "../ui/dom.js";
import { checkoutScope } from "../ui/room-retail.js";
import { RoomView } from "../ui/room-view.js";
import { panelStrings } from "./panel-strings.js";
import { panelCss } from "./panel-styles.js";

function linesOf(cart) {
  return cart.map((l) => {
    const votes = Object.values(l.votes);
    return {
      line: l.line,
      product: { ...l.product },
      qty: l.qty,
      added_by: l.added_by,
      votes: { up: votes.filter((v) => v > 0).length, down: votes.filter((v) => v < 0).length },
    };
  });
}

/**
 * @param {object} ctx  from the launcher: base, storageKey, key (publishable), panel (the
 *   dialog element), locale, getProduct(), emit(name, data), close(), setCount(n), roomInfo()
 */
export function createPanel(ctx) {
  const { base, panel, emit } = ctx;
  const flow = new JoinFlow({ url: wsUrlFor(base), key: ctx.storageKey, storage: safeStorage(() => localStorage) });
  let locale = ctx.locale;
  let t = panelStrings(locale);
  let session = null;
  let conn = null;
  let view = null;
  let started = false;
  let startInput = null;
  let lastMessage = "";
  panel.getRootNode().append(h("style", null, panelCss));

  const info = () => (session ? { room: session.room, member: session.member, invite_url: session.invite_url } : null);

  function showStart(message) {
    lastMessage = message || "";
    const hadFocus = panel.contains(panel.getRootNode().activeElement);
    panel.replaceChildren();
    panel.classList.add("cs-short");
    const product = ctx.getProduct();
    const input = h("input", { id: "cs-start-name", "data-testid": "start-name", autocomplete: "nickname", maxLength: 100, required: true, value: flow.savedName });
    const error = h("div.cs-error", { role: "alert", "data-testid": "start-error" }, lastMessage);
    const button = h("button.cs-primary", { type: "submit", "data-testid": "start" }, t.start);
    const form = h(
      "form.cs-form",
      { "aria-labelledby": "cs-start-title", onsubmit: flow.onSubmit({ input, button, error, obtain: createRoom, then: connect, explain: unreachable }) },
      h("h2.cs-form-title", { id: "cs-start-title" }, t.title),
      h("p", null, t.intro),
      product ? h("div.cs-form-product", null, `${t.looking} `, h("b", { dir: "auto" }, product.name)) : null,
      h("label.cs-field", { for: "cs-start-name" }, t.name),
      input,
      button,
      error,
    );
    startInput = input;
    panel.append(h("div.cs.cs-start", null, h("button.cs-close.cs-x", { type: "button", "aria-label": t.close, onclick: ctx.close }, "✕"), form));
    if (hadFocus) input.focus();
  }

  async function createRoom(name) {
    const made = await rest.createRoom(base, ctx.key, { name: t.roomName.replace("{name}", name), owner_name: name });
    return { room: made.room, member: made.member, token: made.token, invite_code: made.invite.code, invite_url: made.invite.url };
  }

  function unreachable(err) {
    return err && err.status === 0 ? t.unreachable : t.failed;
  }

  function updateCount() {
    ctx.setCount(conn ? [...conn.presence.keys()].filter((m) => m !== conn.member).length : 0);
  }

  // Checkout: the server freezes and signs the selected lines (docs/checkout.md); the
  // page's "checkout" event carries that signed snapshot, for the shop's server to verify.
  function requestCheckout(c, v) {
    const scope = checkoutScope(c.state, c.member);
    c.requestCheckout(scope).then(
      (snapshot) => {
        const lines = snapshot.lines.map((l) => ({ line: l.line, product: { ...l.product }, qty: l.qty, price: l.price, added_by: l.added_by }));
        const total = {};
        for (const l of lines) total[l.product.currency] = (total[l.product.currency] || 0) + l.price * l.qty;
        emit("checkout", { ...info(), scope, lines, total, snapshot });
      },
      (err) => v && v._flash(err),
    );
  }

  function connect(s) {
    session = s;
    startInput = null;
    const hadFocus = panel.contains(panel.getRootNode().activeElement);
    panel.replaceChildren();
    panel.classList.remove("cs-short");
    flow.connect(s, {
      setup: (c) => {
        conn = c;
        view = new RoomView(panel, conn, {
          mode: "widget",
          locale,
          inviteUrl: s.invite_url,
          qrUrl: `${base}/r/${encodeURIComponent(s.invite_code)}/qr.svg`,
          pageProduct: () => ctx.getProduct(),
          onClose: ctx.close,
          onCheckout: () => requestCheckout(conn, view),
          onCartChange: (cart) => emit("cart", { ...info(), lines: linesOf(cart) }),
          qa: true, // widget rooms belong to the shop (its publishable key): product Q&A works
        });
        // the room view's <header> would be a second `banner` landmark on the shop's page
        // (a dialog does not scope it): inside the widget it is only a header row
        for (const head of panel.querySelectorAll("header")) head.setAttribute("role", "none");
        const product = ctx.getProduct();
        if (product) conn.setFocus(product);
        conn.on("presence", updateCount);
        const updateUnread = () => ctx.setUnread && ctx.setUnread(unreadTotal(conn.unread));
        for (const name of ["welcome", "event", "read"]) conn.on(name, updateUnread);
        conn.on("member-joined", (m) => {
          if (m.member !== conn.member) emit("member-joined", { member: m.member, name: m.name, role: m.role, device: m.device });
        });
        conn.on("status", (st) => emit("status", st));
      },
      onJoined: () => emit("room", info()),
      onForget: (err) => {
        drop();
        emit("room", null);
        showStart(err.code === "kicked" ? t.kicked : t.gone);
      },
    });
    updateCount();
    // the start form is gone: keep focus in the dialog (on the room's heading), not on <body>
    if (hadFocus) (panel.querySelector("[data-testid=room-name]") || panel).focus();
  }

  function drop() {
    if (conn) conn.close();
    if (view) view.destroy();
    conn = view = session = null;
    updateCount();
  }

  return {
    /** The panel is shown: the first time, connect to a remembered room or show the start form. */
    show() {
      if (view) view.render(); // on screen again: what arrived meanwhile is summarised (room-since.js)
      if (started) return;
      started = true;
      const saved = flow.saved;
      if (saved) connect(saved);
      else showStart();
    },
    /** What should get focus when the panel opens (null: the dialog itself). */
    focusTarget: () => (startInput && startInput.isConnected ? startInput : null),
    session: () => session || flow.saved,
    setProduct(p) {
      if (conn) conn.setFocus(p);
      if (view) view.render();
      else if (started && !session) showStart(lastMessage);
    },
    setLocale(next) {
      locale = next;
      t = panelStrings(locale);
      if (started && !session) showStart(lastMessage);
    },
    cart: () => (conn ? linesOf(conn.state.cart) : []),
    leave() {
      flow.forget();
      drop();
      if (started) showStart();
      emit("room", null);
    },
    debug: () => ({ conn, view }),
  };
}
