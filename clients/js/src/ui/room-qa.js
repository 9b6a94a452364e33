// Product Q&A in the room view (SPEC section 19): "Ask past buyers" on a cart line (an
// inline form, opened by the asker's choice: the question is posted publicly, without
// their name), and the room's questions and verified buyers' answers in the chat
// timeline. A hidden answer leaves the timeline (its item is keyed, so syncList removes
// it in place). The model functions are pure (test/room-qa.test.js); all text comes from
// the i18n tables. Functions that touch the DOM take the RoomView (`v`).

import { errorMessage } from "../core/errors.js";
import { english } from "../i18n/index.js";
import { h, setAttr, setText } from "./dom.js";

/** The product name for a Q&A product id: from the room's asks, else its cart, else the id. */
export function productName(state, productId) {
  for (const i of state.qa || []) if (i.kind === "ask" && i.product_id === productId && i.product) return i.product.name;
  for (const l of state.cart) if (l.product.id === productId) return l.product.name;
  return productId;
}

/** The Q&A items of the timeline, oldest first: asks as notes, visible answers as
 * verified-buyer messages ({key, seq, kind, ...}). */
export function qaTimeline(state, nameOf, i18n = english) {
  const t = i18n.t;
  const out = [];
  for (const i of state.qa || []) {
    const product = productName(state, i.product_id);
    if (i.kind === "ask") {
      out.push({ key: `qa${i.id}`, seq: i.id, kind: "qa-ask", text: t("qa.asked", { name: nameOf(i.by), product }), quote: i.text });
    } else if (!i.hidden) {
      out.push({ key: `qa${i.id}`, seq: i.id, kind: "qa-answer", answer: i.answer, name: i.name, text: i.text, about: t("qa.about", { product }) });
    }
  }
  return out;
}

/** What the announcer compares between renders: the answers shown. */
export function qaSnapshot(state) {
  return new Set((state.qa || []).filter((i) => i.kind === "answer" && !i.hidden).map((i) => i.answer));
}

/** Answers that arrived since snapshot `prev`, as announcement texts. */
export function qaNews(prev, state, i18n = english) {
  const out = [];
  for (const i of state.qa || []) {
    if (i.kind !== "answer" || i.hidden || prev.has(i.answer)) continue;
    out.push(i18n.t("announce.qaAnswer", { name: i.name, product: productName(state, i.product_id), text: i.text }));
  }
  return out;
}

// ---- the timeline items ------------------------------------------------------------------

export function buildQaItem(item) {
  if (item.kind === "qa-ask") {
    const li = h("li.cs-note.cs-qa-ask", { "data-testid": "qa-ask" });
    li._refs = { text: h("b", { dir: "auto" }), quote: h("q", { dir: "auto" }) };
    li.append(li._refs.text, " — ", li._refs.quote);
    return li;
  }
  const li = h("li.cs-msg.cs-qa-answer", { "data-testid": "qa-answer" });
  li._refs = {
    by: h("span.cs-msg-by", { dir: "auto" }),
    badge: h("span.cs-badge", { "data-testid": "verified-buyer" }),
    about: h("span.cs-qa-about", { dir: "auto" }),
    text: h("div.cs-msg-text", { "data-testid": "qa-answer-text", dir: "auto" }),
  };
  li.append(h("div.cs-qa-head", null, li._refs.by, li._refs.badge, li._refs.about), li._refs.text);
  return li;
}

export function updateQaItem(v, li, item) {
  const r = li._refs;
  li.dataset.seq = item.seq;
  if (item.kind === "qa-ask") {
    setText(r.text, item.text);
    setText(r.quote, item.quote);
    return;
  }
  li.dataset.answer = item.answer;
  setText(r.by, item.name);
  setText(r.badge, v.t("qa.verified"));
  setText(r.about, item.about);
  setText(r.text, item.text);
}

// ---- "Ask past buyers" on a cart line ------------------------------------------------------

/** The line's "Ask past buyers" button (null when the room has no shop Q&A). */
export function buildAskButton(v, li) {
  if (!v.opts.qa) return null;
  return h("button.cs-ask", { type: "button", "data-testid": "qa-ask-open", "aria-expanded": "false", onclick: () => li._line && toggleAsk(v, li) }, v.t("qa.ask"));
}

export function updateAskButton(v, li, name) {
  const b = li._refs.ask;
  if (!b) return;
  setAttr(b, "aria-label", v.t("qa.askName", { product: name }));
  if (li._refs.askForm) setText(li._refs.askForm._refs.label, v.t("qa.label", { product: name }));
}

function toggleAsk(v, li) {
  const r = li._refs;
  if (r.askForm && !r.askForm.hidden) return closeAsk(li, true);
  if (!r.askForm) r.askForm = buildAskForm(v, li);
  r.askForm.hidden = false;
  setAttr(r.ask, "aria-expanded", "true");
  setText(r.askForm._refs.label, v.t("qa.label", { product: li._line.product.name }));
  r.askForm._refs.input.focus();
}

function closeAsk(li, refocus) {
  const r = li._refs;
  r.askForm.hidden = true;
  r.askForm._refs.input.value = "";
  setText(r.askForm._refs.error, "");
  setAttr(r.ask, "aria-expanded", "false");
  if (refocus) r.ask.focus();
}

function buildAskForm(v, li) {
  const id = `${v.uid}-qa-${li._line.line}`;
  const refs = {
    label: h("label", { for: id }),
    input: h("textarea", { id, "data-testid": "qa-ask-input", maxLength: 2000, rows: 2, dir: "auto", required: true }),
    hint: h("p.cs-qa-hint", { id: `${id}-hint` }, v.t("qa.hint")),
    error: h("p.cs-error", { role: "alert", "data-testid": "qa-ask-error" }),
  };
  setAttr(refs.input, "aria-describedby", refs.hint.id);
  const form = h(
    "form.cs-qa-form",
    {
      "data-testid": "qa-ask-form",
      onsubmit: (ev) => (ev.preventDefault(), submitAsk(v, li)),
      onkeydown: (ev) => ev.key === "Escape" && (ev.preventDefault(), closeAsk(li, true)),
    },
    refs.label,
    refs.input,
    refs.hint,
    h(
      "div.cs-qa-buttons",
      null,
      h("button.cs-primary", { type: "submit", "data-testid": "qa-ask-send" }, v.t("qa.post")),
      h("button", { type: "button", "data-testid": "qa-ask-cancel", onclick: () => closeAsk(li, true) }, v.t("qa.cancel")),
    ),
    refs.error,
  );
  form._refs = refs;
  li.querySelector(".cs-line-main").append(form);
  return form;
}

function submitAsk(v, li) {
  const refs = li._refs.askForm._refs;
  const text = refs.input.value.trim();
  if (!text) return refs.input.focus();
  v.conn.askPastBuyers(li._line.product, text).then(
    () => {
      closeAsk(li, true);
      v.announcer.say(v.t("qa.posted"));
    },
    (err) => {
      if (err && err.name === "ClosedError") return;
      setText(refs.error, errorMessage(err, v.t));
      refs.input.focus();
    },
  );
}
