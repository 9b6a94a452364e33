// Retail notes in the room view: "Checkout started by Ana" in the chat timeline, and the
// catalog's verdict on cart lines (cart.revalidate: price changed, out of stock).
//
// The model functions are pure (test/room-retail.test.js). renderRetail(v) runs after
// the view has rendered its panes (one line in RoomView.render) and only adds elements
// to them: notes go into the chat list in seq order, flags into each cart line found by
// its data-line attribute.

import { h, money } from "./dom.js";

// inline, so this module needs nothing from the shared stylesheet
const NOTE_STYLE = { listStyle: "none", textAlign: "center", fontSize: "12px", color: "#555", margin: "6px 0" };
const FLAG = { display: "inline-block", fontSize: "12px", borderRadius: "4px", padding: "1px 6px", marginRight: "4px" };
const FLAG_STYLE = {
  "price-up": { ...FLAG, background: "#fff4e5", color: "#8a4b00" },
  "price-down": { ...FLAG, background: "#e8f5e9", color: "#1b5e20" },
  "out-of-stock": { ...FLAG, background: "#fdecea", color: "#a4000f" },
};

/** The checkouts of the room as timeline notes, oldest first. */
export function checkoutNotes(state, nameOf) {
  return (state.checkouts || []).map((c) => ({
    id: c.id,
    seq: c.seq,
    text: `Checkout started by ${nameOf(c.by)}`,
    detail: `${c.scope === "all" ? "the whole cart" : "their lines"} · ${c.lines} ${c.lines === 1 ? "line" : "lines"}`,
  }));
}

/** What a cart line shows about its catalog state: [{kind, text}] (empty: nothing). */
export function lineFlags(line) {
  const out = [];
  const pc = line.price_changed;
  if (pc) {
    const cur = line.product.currency;
    const dir = pc.new > pc.old ? "up" : "down";
    out.push({ kind: `price-${dir}`, text: `Price now ${money(pc.new, cur)} (was ${money(pc.old, cur)})` });
  }
  if (line.out_of_stock) out.push({ kind: "out-of-stock", text: "Out of stock" });
  return out;
}

/** The checkout a member may ask for: the owner the whole cart, others their own lines. */
export function checkoutScope(state, member) {
  return member && member === state.owner ? "all" : "mine";
}

const flagsKey = (flags) => flags.map((f) => `${f.kind}:${f.text}`).join("|");

/** Add the notes and flags to the rendered panes of RoomView `v`. */
export function renderRetail(v) {
  const s = v.conn.state;
  const e = v.el;
  if (e.cart) {
    for (const el of e.cart.querySelectorAll("[data-line]")) {
      const line = s.cart.find((l) => String(l.line) === el.dataset.line);
      const flags = line ? lineFlags(line) : [];
      // lines are kept across renders (syncList): replace their flags, never add more
      const old = el.querySelector("[data-testid=line-flags]");
      if (old && old.dataset.key === flagsKey(flags)) continue;
      if (old) old.remove();
      if (!flags.length) continue;
      const main = el.querySelector(".cs-line-main") || el;
      main.append(
        h(
          "div.cs-line-flags",
          { "data-testid": "line-flags", "data-key": flagsKey(flags) },
          flags.map((f) =>
            h(
              `span.cs-flag.cs-flag-${f.kind}`,
              { "data-testid": "line-flag", "data-kind": f.kind, style: FLAG_STYLE[f.kind] },
              f.text,
            ),
          ),
        ),
      );
    }
  }
  if (e.chat) {
    const notes = checkoutNotes(s, (m) => v._name(m));
    if (!notes.length) return;
    e.chat.querySelector(".cs-empty")?.remove();
    const messages = [...e.chat.querySelectorAll("[data-testid=chat-message]")];
    for (const n of notes) {
      const li = h(
        "li.cs-note",
        { "data-testid": "checkout-note", "data-checkout": n.id, role: "note", style: NOTE_STYLE },
        h("b", null, n.text),
        ` — ${n.detail}`,
      );
      const after = messages.find((m) => Number(m.dataset.id) > n.seq);
      if (after) e.chat.insertBefore(li, after);
      else e.chat.append(li);
    }
  }
}
