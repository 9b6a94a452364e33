// /widget.js — the retailer widget. One tag on a product page:
//
//   <script src="https://ROOMS/widget.js" data-key="pk_…" data-product-id="sku-1"
//           data-product-name="Linen shirt" data-product-price="4900"
//           data-product-currency="EUR" data-product-image="…" data-product-url="…"></script>
//
// adds a "Shop with friends" button. Everything is rendered in a shadow root, so the
// page's CSS and ours never meet. The page talks to it through window.cosession
// (on / off / setProduct / open / close); see docs/widget.md.

import { JoinFlow, safeStorage } from "../core/join.js";
import { rest, wsUrlFor } from "../core/rest.js";
import { h } from "../ui/dom.js";
import { icon } from "../ui/icons.js";
import { checkoutScope } from "../ui/room-retail.js";
import { RoomView } from "../ui/room-view.js";
import { baseCss } from "../ui/styles.js";
import { widgetCss } from "./styles.js";

(function () {
  const script =
    document.currentScript || document.querySelector('script[src*="widget.js"][data-key]');
  if (!script || (window.cosession && window.cosession.version)) return; // absent, or loaded twice
  const ds = script.dataset;
  const base = new URL(script.src, location.href).origin;
  const pk = ds.key || "";
  const flow = new JoinFlow({ url: wsUrlFor(base), key: `cosession:widget:${base}:${pk}`, storage: safeStorage(() => localStorage) });

  let product = productFrom({
    id: ds.productId,
    name: ds.productName,
    price: ds.productPrice,
    currency: ds.productCurrency,
    image: ds.productImage,
    url: ds.productUrl || location.href,
    variant: ds.productVariant,
  });
  let conn = null;
  let view = null;
  let session = null;
  let open = false;
  const handlers = new Map();
  const sticky = new Map(); // events a late subscriber still gets: "ready", "room"

  function productFrom(p) {
    if (!p || !p.id || !p.name) return null;
    const price = Math.round(Number(p.price));
    return {
      id: String(p.id).slice(0, 128),
      name: String(p.name).slice(0, 200),
      price: Number.isFinite(price) && price >= 0 ? price : 0,
      currency: /^[A-Za-z]{3}$/.test(p.currency || "") ? p.currency.toUpperCase() : "EUR",
      image: p.image ? new URL(p.image, location.href).href : undefined,
      url: p.url ? new URL(p.url, location.href).href : undefined,
      variant: p.variant || undefined,
    };
  }

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

  // Checkout: the server freezes and signs the selected lines (docs/checkout.md); the
  // page's "checkout" event carries that signed snapshot, for the shop's server to verify.
  function requestCheckout(c, v) {
    const scope = checkoutScope(c.state, c.member);
    c.requestCheckout(scope).then(
      (snapshot) => {
        const lines = snapshot.lines.map((l) => ({ line: l.line, product: { ...l.product }, qty: l.qty, price: l.price, added_by: l.added_by }));
        const total = {};
        for (const l of lines) total[l.product.currency] = (total[l.product.currency] || 0) + l.price * l.qty;
        emit("checkout", { ...roomInfo(), scope, lines, total, snapshot });
      },
      (err) => v && v._flash(err.code === "empty_checkout" ? new Error("You have no lines of your own in the cart yet.") : err),
    );
  }

  function roomInfo() {
    return session ? { room: session.room, member: session.member, invite_url: session.invite_url } : null;
  }

  // ---- DOM -------------------------------------------------------------------------

  const host = document.createElement("cosession-widget");
  const shadow = host.attachShadow({ mode: "open" });
  const launcherLabel = h("span.cs-label", null, "Shop with friends");
  const launcherBadge = h("span.cs-badge", { hidden: true });
  const launcher = h(
    "button.cs-launcher",
    { "data-testid": "launcher", "aria-expanded": "false", onclick: () => (open ? hide() : show()) },
    icon("bag", 20),
    launcherLabel,
    launcherBadge,
  );
  const panel = h("div.cs-panel", { "data-testid": "panel", role: "dialog", "aria-label": "Shop with friends", hidden: true });
  shadow.append(h("style", null, baseCss + widgetCss), panel, launcher);

  function mount() {
    (document.body || document.documentElement).append(host);
  }

  function show() {
    open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!session) showStart();
    emit("open", roomInfo());
  }

  function hide() {
    open = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    emit("close", roomInfo());
  }

  function updateLauncher() {
    const others = conn ? [...conn.presence.keys()].filter((m) => m !== conn.member).length : 0;
    launcherLabel.textContent = session ? "Shopping with friends" : "Shop with friends";
    launcherBadge.hidden = !others;
    launcherBadge.textContent = String(others);
  }

  function showStart(message) {
    panel.replaceChildren();
    panel.classList.add("cs-short");
    const input = h("input", { "data-testid": "start-name", placeholder: "Your name", maxLength: 100, required: true, value: flow.savedName });
    const error = h("div.cs-error", { role: "alert", "data-testid": "start-error" }, message || "");
    const button = h("button.cs-primary", { type: "submit", "data-testid": "start" }, "Start a shared cart");
    const form = h(
      "form.cs-form",
      {
        onsubmit: flow.onSubmit({ input, button, error, obtain: createRoom, then: connect, explain: unreachable }),
      },
      h("div.cs-form-title", null, "Shop with friends"),
      h("p", null, "Invite friends to one shared cart: they see what you are looking at, vote and chat, on any phone."),
      product ? h("div.cs-form-product", null, "You are looking at ", h("b", null, product.name)) : null,
      h("label", null, input),
      button,
      error,
    );
    panel.append(h("div.cs.cs-start", null, h("button.cs-close.cs-x", { "aria-label": "Close", onclick: hide }, "✕"), form));
  }

  async function createRoom(name) {
    const made = await rest.createRoom(base, pk, { name: `${name}'s shopping`, owner_name: name });
    return { room: made.room, member: made.member, token: made.token, invite_code: made.invite.code, invite_url: made.invite.url };
  }

  function unreachable(err) {
    return err.status === 0 ? "Cannot reach the shopping-room service from this site." : err.message;
  }

  function connect(s) {
    session = s;
    panel.replaceChildren();
    panel.classList.remove("cs-short");
    flow.connect(s, {
      setup: (c) => {
        conn = c;
        view = new RoomView(panel, conn, {
          mode: "widget",
          inviteUrl: s.invite_url,
          qrUrl: `${base}/r/${encodeURIComponent(s.invite_code)}/qr.svg`,
          pageProduct: () => product,
          onClose: hide,
          onCheckout: () => requestCheckout(conn, view),
          onCartChange: (cart) => emit("cart", { ...roomInfo(), lines: linesOf(cart) }),
        });
        if (product) conn.setFocus(product);
        conn.on("presence", updateLauncher);
        conn.on("member-joined", (m) => {
          if (m.member !== conn.member) emit("member-joined", { member: m.member, name: m.name, role: m.role, device: m.device });
        });
        conn.on("status", (st) => emit("status", st));
      },
      onJoined: () => emit("room", roomInfo()),
      onForget: (err) => {
        session = null;
        view.destroy();
        conn = view = null;
        updateLauncher();
        emit("room", null);
        if (open) showStart(err.code === "kicked" ? "You were removed from that room." : "That room is no longer available. Start a new one.");
      },
    });
    updateLauncher();
  }

  // ---- public API ----------------------------------------------------------------

  const api = {
    version: "1",
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
      product = p ? productFrom(p) : null;
      if (conn) conn.setFocus(product);
      if (view) view.render();
      return api;
    },
    open: () => (show(), api),
    close: () => (hide(), api),
    get room() {
      return roomInfo();
    },
    get cart() {
      return conn ? linesOf(conn.state.cart) : [];
    },
    /** Forget the remembered room (the next click starts a new one). */
    leave() {
      flow.forget();
      if (conn) conn.close();
      if (view) view.destroy();
      conn = view = session = null;
      updateLauncher();
      if (open) showStart();
      emit("room", null);
      return api;
    },
    _debug: () => ({ conn, view }),
  };
  window.cosession = api;

  function init() {
    mount();
    const saved = flow.saved;
    if (saved) connect(saved);
    updateLauncher();
    emit("ready", { room: roomInfo(), product });
    window.dispatchEvent(new CustomEvent("cosession:ready"));
  }

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
