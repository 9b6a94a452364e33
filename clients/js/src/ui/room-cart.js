// Room view: the Cart tab. Owns the cart pane skeleton, the focus area (the product on
// this page and the followed person's product), the shared cart lines with their quantity,
// vote and remove controls, the catalog's flags (room-retail.js), the total (at revalidated
// prices, out-of-stock lines counted out loud) and checkout, and the product card that the
// chat also uses. Lines are keyed by line id and updated in place (focus stays on "+" or a
// vote while the line changes); controls are named with their product and counts.
// Functions take the RoomView (`v`).

import { linePrice, unitPrice } from "./cart-lines.js";
import { h, initials, safeUrl, setAttr, setText, syncList } from "./dom.js";
import { icon } from "./icons.js";
import { buildAskButton, updateAskButton } from "./room-qa.js";
import { buildLineFlags, updateLineFlags } from "./room-retail.js";

export function buildCartPane(v) {
  const e = v.el;
  const t = v.t;
  e.focusPage = h("div.cs-focus-slot", { "data-slot": "page" });
  e.focusFollow = h("div.cs-focus-slot", { "data-slot": "follow" });
  e.unfollow = h("button", { type: "button", "data-testid": "unfollow", onclick: () => unfollow(v) }, t("cart.unfollow"));
  e.focus = h("div.cs-focus-area", { "data-testid": "focus-area" }, e.focusPage, e.focusFollow, e.unfollow);
  e.cartHeading = h("h3", { id: `${v.uid}-cart-h`, tabIndex: -1 }, t("cart.heading"));
  e.cart = h("ul.cs-cart", { "data-testid": "cart", "aria-labelledby": e.cartHeading.id });
  e.cartEmpty = h("p.cs-empty", { "data-testid": "cart-empty" }, t("cart.empty"));
  e.totalLabel = h("span", null, t("cart.total"));
  e.totalValue = h("span", { "data-testid": "cart-total-value" });
  e.total = h("div.cs-total", { "data-testid": "cart-total" }, e.totalLabel, e.totalValue);
  e.totalNote = h("p.cs-total-note", { "data-testid": "cart-out-of-stock", hidden: true });
  e.checkout =
    v.mode === "widget"
      ? h("button.cs-primary", { type: "button", "data-testid": "checkout", onclick: () => v._checkout() }, t("cart.checkout"))
      : null;
  return h("section.cs-pane", { "data-pane": "cart" }, e.focus, e.cartHeading, e.cart, e.cartEmpty, e.total, e.totalNote, e.checkout);
}

function unfollow(v) {
  v.conn.follow(null);
  v.render();
  // the button goes away: keep focus in the cart
  v.el.cartHeading.focus();
}

/** A product card (image, name, price, "Add to cart"); `update` refreshes it in place. */
export function productCard(v, product, { label, actions = true, testid } = {}) {
  const card = h("div.cs-card", { "data-testid": testid || "product-card" });
  card._refs = {
    img: h("div.cs-card-img"),
    label: h("div.cs-focus-label", { hidden: true }),
    name: h("span.cs-name", { dir: "auto" }),
    price: h("div.cs-price"),
    add: actions
      ? h("button", { type: "button", "data-testid": "add-product", onclick: () => card._product && v._add(card._product) }, v.t("cart.add"))
      : null,
  };
  const r = card._refs;
  card.append(r.img, h("div.cs-card-main", null, r.label, r.name, r.price), r.add || "");
  updateCard(v, card, product, label);
  return card;
}

export function updateCard(v, card, product, label) {
  const r = card._refs;
  const same = card._product && card._product.id === product.id && card._product.image === product.image && card._product.url === product.url;
  card._product = product;
  card.dataset.product = product.id;
  r.label.hidden = !label;
  setText(r.label, label || "");
  if (!same) {
    const img = safeUrl(product.image);
    const newImg = img
      ? h("img.cs-card-img", { src: img, alt: "", loading: "lazy", referrerPolicy: "no-referrer" })
      : h("div.cs-card-img", { "aria-hidden": "true" }, initials(product.name));
    r.img.replaceWith(newImg);
    r.img = newImg;
    const link = safeUrl(product.url);
    const newName = link
      ? h("a.cs-name", { href: link, target: "_blank", rel: "noopener noreferrer", dir: "auto" })
      : h("span.cs-name", { dir: "auto" });
    r.name.replaceWith(newName);
    r.name = newName;
  }
  setText(r.name, product.name);
  setText(r.price, v._money(product.price, product.currency));
  if (r.add) setAttr(r.add, "aria-label", v.t("cart.addName", { product: product.name }));
}

function slot(v, el, product, label, testid) {
  if (!product) {
    el.replaceChildren();
    el.hidden = true;
    return;
  }
  el.hidden = false;
  let card = el.firstElementChild;
  if (card && card.dataset.testid === testid && card._refs) updateCard(v, card, product, label);
  else {
    card = productCard(v, product, { label, testid });
    card.classList.add("cs-focus");
    el.replaceChildren(card);
  }
}

export function renderFocus(v) {
  const conn = v.conn;
  const t = v.t;
  const mine = v.opts.pageProduct ? v.opts.pageProduct() : null;
  slot(v, v.el.focusPage, mine, t("cart.onThisPage"), "page-product");
  const target = conn.following;
  const follow = v.el.focusFollow;
  if (target) {
    const p = conn.presence.get(target);
    const who = v._name(target);
    if (p && p.focus) slot(v, follow, p.focus, t("cart.followLooking", { name: who }), "followed-focus");
    else {
      follow.hidden = false;
      const text = p ? t("cart.followNothing", { name: who }) : t("cart.followLeft", { name: who });
      let note = follow.firstElementChild;
      if (!note || note._refs) {
        note = h("div.cs-card.cs-focus", { "data-testid": "followed-focus" }, h("div.cs-focus-label"));
        follow.replaceChildren(note);
      }
      setText(note.firstElementChild, text);
    }
  } else slot(v, follow, null);
  v.el.unfollow.hidden = !target;
  v.el.focus.hidden = !mine && !target;
}

function buildLine(v) {
  const li = h("li.cs-line", { "data-testid": "cart-line" });
  const act = (fn) => () => li._line && fn(li._line);
  const conn = v.conn;
  const r = (li._refs = {
    img: h("div.cs-line-img"),
    name: h("span.cs-name", { "data-testid": "line-name", dir: "auto" }),
    price: h("div.cs-price", { "data-testid": "line-price" }),
    flags: buildLineFlags(),
    dec: h("button", { type: "button", "data-testid": "qty-dec", onclick: act((l) => l.qty > 1 && step(v, l, l.qty - 1)) }, "−"),
    qty: h("span.cs-qty", { "data-testid": "qty" }),
    inc: h("button", { type: "button", "data-testid": "qty-inc", onclick: act((l) => l.qty < 999 && step(v, l, l.qty + 1)) }, "+"),
    upCount: h("span", { "data-testid": "up-count" }),
    downCount: h("span", { "data-testid": "down-count" }),
  });
  r.up = h("button", { type: "button", "data-testid": "vote-up", onclick: act((l) => vote(v, l, 1)) }, icon("up", 16), r.upCount);
  r.down = h("button", { type: "button", "data-testid": "vote-down", onclick: act((l) => vote(v, l, -1)) }, icon("down", 16), r.downCount);
  r.remove = h("button.cs-remove", { type: "button", "data-testid": "remove", onclick: act((l) => (v.announcer.mine(`r${l.line}`), v._do(conn.removeLine(l.line)))) }, icon("trash", 16));
  r.ask = buildAskButton(v, li); // product Q&A (room-qa.js); null without a shop
  li.append(
    r.img,
    h("div.cs-line-main", null, r.name, r.price, r.flags, h("div.cs-line-actions", null, h("span.cs-stepper", null, r.dec, r.qty, r.inc), r.up, r.down, r.remove, r.ask || "")),
  );
  return li;
}

function step(v, line, qty) {
  v.announcer.mine(`q${line.line}`);
  v._do(v.conn.setQuantity(line.line, qty));
}

function vote(v, line, dir) {
  const my = line.votes[v.conn.member] || 0;
  const value = my === dir ? "clear" : dir > 0 ? "up" : "down";
  v._do(v.conn.vote(line.line, value));
}

function updateLine(v, li, line) {
  const t = v.t;
  const r = li._refs;
  const p = line.product;
  const prev = li._line;
  li._line = line;
  li.dataset.line = line.line;
  li.dataset.product = p.id;
  if (!prev || prev.product.image !== p.image || prev.product.name !== p.name) {
    const img = safeUrl(p.image);
    const n = img
      ? h("img.cs-line-img", { src: img, alt: "", loading: "lazy", referrerPolicy: "no-referrer" })
      : h("div.cs-line-img", { "aria-hidden": "true" }, initials(p.name));
    r.img.replaceWith(n);
    r.img = n;
  }
  setText(r.name, p.variant ? `${p.name} (${p.variant})` : p.name);
  const name = r.name.textContent;
  r.price.replaceChildren(...renderLinePrice(v, line).childNodes);
  const votes = Object.values(line.votes);
  const up = votes.filter((x) => x > 0).length;
  const down = votes.length - up;
  const my = line.votes[v.conn.member] || 0;
  setText(r.qty, v.i18n.number(line.qty));
  // aria-disabled, not disabled: a disabled button drops keyboard focus
  setAttr(r.dec, "aria-disabled", line.qty <= 1 ? "true" : null);
  setAttr(r.inc, "aria-disabled", line.qty >= 999 ? "true" : null);
  setAttr(r.dec, "aria-label", t("cart.less", { product: name }));
  setAttr(r.inc, "aria-label", t("cart.more", { product: name }));
  setText(r.upCount, v.i18n.number(up));
  setText(r.downCount, v.i18n.number(down));
  setAttr(r.up, "aria-pressed", String(my > 0));
  setAttr(r.down, "aria-pressed", String(my < 0));
  setAttr(r.up, "aria-label", t("cart.voteUp", { product: name, votes: t("cart.votes", { count: up }) }));
  setAttr(r.down, "aria-label", t("cart.voteDown", { product: name, votes: t("cart.votes", { count: down }) }));
  setAttr(r.remove, "aria-label", t("cart.removeName", { product: name }));
  setAttr(r.remove, "title", t("cart.remove"));
  updateLineFlags(v, li, line);
  updateAskButton(v, li, name);
}

export function renderCart(v) {
  const conn = v.conn;
  const s = conn.state;
  const empty = !s.cart.length;
  syncList(v.el.cart, s.cart, (l) => l.line, () => buildLine(v), (li, l) => updateLine(v, li, l), v.el.cartHeading);
  v.el.cart.hidden = empty;
  v.el.cartEmpty.hidden = !empty;
  v.el.total.hidden = empty;
  if (v.el.checkout) setAttr(v.el.checkout, "aria-disabled", empty ? "true" : null);
  if (!empty) {
    const totals = new Map();
    for (const l of s.cart) totals.set(l.product.currency, (totals.get(l.product.currency) || 0) + unitPrice(l) * l.qty);
    setText(v.el.totalValue, [...totals].map(([cur, sum]) => v._money(sum, cur)).join(" + "));
  }
  const out = s.cart.filter((l) => l.out_of_stock).length;
  v.el.totalNote.hidden = !out;
  setText(v.el.totalNote, out ? v.t("cart.outOfStockLines", { count: out }) : "");
  notifyCart(v);
}

export function renderLinePrice(v, line) {
  const price = linePrice(line, v.i18n);
  return h(
    "div.cs-price",
    { "data-testid": "line-price" },
    h("span", { "data-testid": "line-unit" }, price.unit),
    price.qty === 1 ? null : [` × ${v.i18n.number(price.qty)} = `, h("b", { "data-testid": "line-total" }, price.total)],
    " · ",
    h("span", { dir: "auto" }, v.t("cart.addedBy", { name: v._name(line.added_by) })),
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
  if (!v.conn.state.cart.length) return;
  if (v.opts.onCheckout) v.opts.onCheckout(v.conn.state.cart);
}
