// Room view: the Cart tab. Owns the cart pane skeleton, the focus area (the product on
// this page and the followed person's product), the shared cart lines with their quantity,
// vote and remove controls, the total and checkout, and the product card that the chat
// also uses. Functions take the RoomView (`v`).

import { linePrice } from "./cart-lines.js";
import { fill, h, initials, money, safeUrl } from "./dom.js";
import { icon } from "./icons.js";

export function buildCartPane(v) {
  const e = v.el;
  e.focus = h("div", { "data-testid": "focus-area" });
  e.cart = h("ul.cs-cart", { "data-testid": "cart" });
  e.total = h("div.cs-total", { "data-testid": "cart-total" });
  e.checkout =
    v.mode === "widget"
      ? h("button.cs-primary", { "data-testid": "checkout", onclick: () => v._checkout() }, "Checkout")
      : null;
  return h("section.cs-pane", { "data-pane": "cart" }, e.focus, h("h3", null, "Shared cart"), e.cart, e.total, e.checkout);
}

export function productCard(v, product, { label, actions = true, testid } = {}) {
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
    actions ? h("button", { "data-testid": "add-product", onclick: () => v._add(product) }, "Add to cart") : null,
  );
}

export function renderFocus(v) {
  const conn = v.conn;
  const parts = [];
  const mine = v.opts.pageProduct ? v.opts.pageProduct() : null;
  if (mine) {
    const card = v._productCard(mine, { label: "On this page", testid: "page-product" });
    card.classList.add("cs-focus");
    parts.push(card);
  }
  const target = conn.following;
  if (target) {
    const p = conn.presence.get(target);
    const who = v._name(target);
    if (p && p.focus) {
      const card = v._productCard(p.focus, { label: `Following ${who} — looking at`, testid: "followed-focus" });
      card.classList.add("cs-focus");
      parts.push(card);
    } else {
      parts.push(h("div.cs-card.cs-focus", { "data-testid": "followed-focus" }, h("div.cs-focus-label", null, p ? `Following ${who} — not looking at anything yet` : `${who} left`)));
    }
    parts.push(h("button", { "data-testid": "unfollow", onclick: () => (conn.follow(null), v.schedule()) }, "Stop following"));
  }
  fill(v.el.focus, parts);
  v.el.focus.hidden = parts.length === 0;
}

export function renderCart(v) {
  const conn = v.conn;
  const s = conn.state;
  if (!s.cart.length) {
    fill(v.el.cart, h("li.cs-empty", null, "The cart is empty. Add what you like — everyone here sees it."));
    v.el.total.hidden = true;
    if (v.el.checkout) v.el.checkout.disabled = true;
    v._notifyCart();
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
        v._linePrice(line),
        h(
          "div.cs-line-actions",
          null,
          h(
            "span.cs-stepper",
            null,
            h("button", { "aria-label": "One less", "data-testid": "qty-dec", disabled: line.qty <= 1, onclick: () => v._do(conn.setQuantity(line.line, line.qty - 1)) }, "−"),
            h("span.cs-qty", { "data-testid": "qty" }, String(line.qty)),
            h("button", { "aria-label": "One more", "data-testid": "qty-inc", disabled: line.qty >= 999, onclick: () => v._do(conn.setQuantity(line.line, line.qty + 1)) }, "+"),
          ),
          h("button", { "aria-label": "Vote up", "aria-pressed": String(myVote > 0), "data-testid": "vote-up", onclick: () => v._do(conn.vote(line.line, myVote > 0 ? "clear" : "up")) }, icon("up", 16), h("span", { "data-testid": "up-count" }, String(up))),
          h("button", { "aria-label": "Vote down", "aria-pressed": String(myVote < 0), "data-testid": "vote-down", onclick: () => v._do(conn.vote(line.line, myVote < 0 ? "clear" : "down")) }, icon("down", 16), h("span", { "data-testid": "down-count" }, String(down))),
          h("button.cs-remove", { "aria-label": "Remove", title: "Remove", "data-testid": "remove", onclick: () => v._do(conn.removeLine(line.line)) }, icon("trash", 16)),
        ),
      ),
    );
  });
  fill(v.el.cart, items);
  const totals = new Map();
  for (const l of s.cart) totals.set(l.product.currency, (totals.get(l.product.currency) || 0) + l.product.price * l.qty);
  fill(
    v.el.total,
    h("span", null, "Total"),
    h("span", null, [...totals].map(([cur, sum]) => money(sum, cur)).join(" + ")),
  );
  v.el.total.hidden = false;
  if (v.el.checkout) v.el.checkout.disabled = false;
  v._notifyCart();
}

export function renderLinePrice(v, line) {
  const price = linePrice(line);
  return h(
    "div.cs-price",
    { "data-testid": "line-price" },
    h("span", { "data-testid": "line-unit" }, price.unit),
    price.qty === 1 ? null : [` × ${price.qty} = `, h("b", { "data-testid": "line-total" }, price.total)],
    ` · added by ${v._name(line.added_by)}`,
  );
}

export function notifyCart(v) {
  if (!v.opts.onCartChange) return;
  const key = JSON.stringify(v.conn.state.cart.map((l) => [l.line, l.qty, l.votes]));
  if (key === v._cartKey) return;
  v._cartKey = key;
  v.opts.onCartChange(v.conn.state.cart);
}

export function checkout(v) {
  if (v.opts.onCheckout) v.opts.onCheckout(v.conn.state.cart);
}
