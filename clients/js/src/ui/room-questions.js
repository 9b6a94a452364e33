// Room view: questions (protocol/SPEC.md section 16), at the top of the Chat pane. A list
// of the room's questions, the ones waiting for my answer first (oldest first, marked
// "For you"), then the others, newest first; each shows who asked whom, what about (a
// cart line or product), its state (waiting / answered / closed), the answers, an answer
// form and, for the asker or the owner, a close button. "Ask a question" opens a form:
// whom to ask (checkboxes), about which cart line (optional), the question. Lists are
// keyed (syncList) so focus survives updates; questionNews() feeds the announcer.

import { openQuestionsFor } from "../core/questions.js";
import { h, setAttr, setText, syncList } from "./dom.js";

export function buildQuestions(v) {
  const t = v.t;
  const e = v.el;
  const headingId = `${v.uid}-questions`;
  e.qCount = h("span.cs-q-count", { "data-testid": "questions-for-you" });
  e.qToggle = h("button", { type: "button", "data-testid": "ask-open", "aria-expanded": "false", onclick: () => toggleAsk(v) }, t("q.ask"));
  e.qList = h("ul.cs-q-list", { "data-testid": "questions", "aria-labelledby": headingId });
  e.qAsk = buildAskForm(v);
  e.qSection = h(
    "section.cs-questions",
    { "aria-labelledby": headingId, "data-testid": "questions-section" },
    h("div.cs-q-head", null, h("h3.cs-q-title", { id: headingId }, t("q.heading")), e.qCount, e.qToggle),
    e.qAsk,
    e.qList,
  );
  return e.qSection;
}

function buildAskForm(v) {
  const t = v.t;
  const e = v.el;
  const aboutId = `${v.uid}-ask-about`;
  const textId = `${v.uid}-ask-text`;
  e.askTo = h("div.cs-ask-to");
  e.askNobody = h("p.cs-ask-hint", { "data-testid": "ask-hint", "aria-live": "polite" });
  e.askAbout = h("select", { id: aboutId, "data-testid": "ask-about" });
  e.askText = h("input", { id: textId, "data-testid": "ask-text", maxLength: 2000, autocomplete: "off", dir: "auto" });
  return h(
    "form.cs-ask",
    { hidden: true, "data-testid": "ask-form", onsubmit: (ev) => (ev.preventDefault(), sendAsk(v)) },
    h("fieldset.cs-ask-whom", null, h("legend.cs-field-label", null, t("q.askTo")), e.askTo),
    e.askNobody,
    h("label.cs-field-label", { for: aboutId }, t("q.askAbout")),
    e.askAbout,
    h("label.cs-field-label", { for: textId }, t("q.askText")),
    e.askText,
    h(
      "div.cs-ask-actions",
      null,
      h("button.cs-primary", { type: "submit", "data-testid": "ask-send" }, t("q.askSend")),
      h("button", { type: "button", "data-testid": "ask-cancel", onclick: () => toggleAsk(v, false) }, t("q.askCancel")),
    ),
  );
}

function toggleAsk(v, open = v.el.qAsk.hidden) {
  v.el.qAsk.hidden = !open;
  setAttr(v.el.qToggle, "aria-expanded", String(open));
  setText(v.el.askNobody, "");
  renderQuestions(v);
  if (open) (v.el.askTo.querySelector("input") || v.el.askText).focus();
  else v.el.qToggle.focus();
}

/** Members who may be asked: others in the room, not kicked, not viewers. */
function askable(v) {
  const out = [];
  for (const [id, m] of Object.entries(v.conn.state.members)) {
    if (id !== v.conn.member && !m.kicked && m.role !== "viewer") out.push({ id, name: m.name });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function sendAsk(v) {
  const e = v.el;
  const to = [...e.askTo.querySelectorAll("input:checked")].map((box) => box.value);
  const text = e.askText.value.trim();
  if (!to.length) {
    setText(e.askNobody, v.t("q.askNobody"));
    const first = e.askTo.querySelector("input");
    (first || e.askText).focus();
    return;
  }
  if (!text) return e.askText.focus();
  const line = e.askAbout.value ? Number(e.askAbout.value) : null;
  const item = line ? v.conn.state.cart.find((l) => l.line === line) : null;
  v._do(v.conn.ask(to, text, item ? { line, product: item.product } : {}));
  e.askText.value = "";
  for (const box of e.askTo.querySelectorAll("input")) box.checked = false;
  e.askAbout.value = "";
  toggleAsk(v, false);
}

function sendAnswer(v, li) {
  const q = li._q;
  const input = li._refs.input;
  const text = input.value.trim();
  if (!text) return input.focus();
  v._do(v.conn.answer(q.id, text));
  input.value = "";
}

/** Questions in display order: open for me first (oldest first), then the rest newest first. */
export function orderedQuestions(state, me) {
  const mine = openQuestionsFor(state, me);
  const ids = new Set(mine.map((q) => q.id));
  return [...mine, ...state.questions.filter((q) => !ids.has(q.id)).reverse()];
}

function buildQuestion(v) {
  const t = v.t;
  const li = h("li.cs-q", { "data-testid": "question" });
  const inputId = `${v.uid}-answer-${Math.random().toString(36).slice(2, 9)}`;
  const r = {
    forMe: h("span.cs-q-badge", { "data-testid": "question-for-you" }, t("q.forYou")),
    who: h("div.cs-q-who", { dir: "auto" }),
    text: h("div.cs-q-text", { "data-testid": "question-text", dir: "auto" }),
    about: h("div.cs-q-about", { "data-testid": "question-about", dir: "auto" }),
    state: h("span.cs-q-state", { "data-testid": "question-state" }),
    answers: h("ul.cs-q-answers"),
    input: h("input", { id: inputId, "data-testid": "answer-input", maxLength: 2000, autocomplete: "off", dir: "auto" }),
    close: h("button", { type: "button", "data-testid": "question-close", onclick: () => v._do(v.conn.closeQuestion(li._q.id)) }, t("q.close")),
  };
  r.form = h(
    "form.cs-q-answer",
    { onsubmit: (ev) => (ev.preventDefault(), sendAnswer(v, li)) },
    h("label.cs-field-label", { for: inputId }, t("q.answerLabel")),
    h("div.cs-composer-row", null, r.input, h("button.cs-primary", { type: "submit", "data-testid": "answer-send" }, t("q.answerSend"))),
  );
  li._refs = r;
  li.append(h("div.cs-q-top", null, r.forMe, r.who, r.state), r.text, r.about, r.answers, r.form, r.close);
  return li;
}

function updateQuestion(v, li, q, forMe) {
  const r = li._refs;
  const t = v.t;
  const conn = v.conn;
  li._q = q;
  li.dataset.id = q.id;
  li.classList.toggle("cs-for-me", forMe);
  r.forMe.hidden = !forMe;
  setText(r.who, t("q.asked", { name: v._name(q.by), to: v.i18n.list(q.to.map((m) => v._name(m))) }));
  setText(r.text, q.text);
  const line = q.line != null ? conn.state.cart.find((l) => l.line === q.line) : null;
  const product = (line && line.product) || q.product;
  r.about.hidden = !product;
  setText(r.about, product ? t("q.about", { product: product.name }) : "");
  const state = q.closed ? "closed" : q.answers.length ? "answered" : "waiting";
  li.dataset.state = state;
  setText(r.state, t(`q.${state}`));
  syncList(
    r.answers,
    q.answers,
    (a) => a.seq,
    () => h("li.cs-q-a", { "data-testid": "answer", dir: "auto" }),
    (el, a) => setText(el, t("q.answerBy", { name: v._name(a.by), text: a.text })),
  );
  const me = conn.state.members[conn.member];
  const canWrite = !!me && !me.kicked && me.role !== "viewer";
  r.form.hidden = q.closed || !canWrite;
  r.close.hidden = q.closed || !canWrite || (q.by !== conn.member && conn.state.owner !== conn.member);
}

export function renderQuestions(v) {
  const conn = v.conn;
  const s = conn.state;
  const e = v.el;
  const me = conn.member;
  const open = new Set(openQuestionsFor(s, me).map((q) => q.id));
  const items = orderedQuestions(s, me);
  syncList(
    e.qList,
    items,
    (q) => q.id,
    () => buildQuestion(v),
    (li, q) => updateQuestion(v, li, q, open.has(q.id)),
    e.qToggle,
  );
  e.qList.hidden = !items.length;
  setText(e.qCount, open.size ? v.t("q.forYouCount", { count: v.i18n.number(open.size) }) : "");
  const mine = s.members[me];
  const canAsk = !!mine && !mine.kicked && mine.role !== "viewer";
  e.qToggle.hidden = !canAsk;
  if (!canAsk) e.qAsk.hidden = true;
  if (e.qAsk.hidden) return;
  const people = askable(v);
  syncList(
    e.askTo,
    people,
    (p) => p.id,
    (p) => {
      const id = `${v.uid}-ask-${p.id}`;
      return h("div.cs-ask-person", null, h("input", { type: "checkbox", id, value: p.id, "data-testid": "ask-to" }), h("label", { for: id, dir: "auto" }));
    },
    (row, p) => setText(row.querySelector("label"), p.name),
    e.askText,
  );
  if (!people.length) setText(e.askNobody, v.t("q.noOne"));
  const options = [{ key: "", label: v.t("q.askAboutNone") }, ...s.cart.map((l) => ({ key: String(l.line), label: l.product.name }))];
  syncList(
    e.askAbout,
    options,
    (o) => o.key,
    (o) => h("option", { value: o.key }),
    (el, o) => setText(el, o.label),
  );
}

/** What the announcer compares: question id → {answers, by, to}. */
export function questionSnapshot(state) {
  return new Map(state.questions.map((q) => [q.id, { answers: q.answers.length }]));
}

/** Polite news since `prev`: a question to me, an answer by someone else to a question I
 * asked or was asked; on the first snapshot, how many wait for my answer (coming back). */
export function questionNews(prev, state, me, name, t) {
  if (prev === null) {
    const open = openQuestionsFor(state, me).length;
    return open ? [t("announce.openForYou", { count: open })] : [];
  }
  const out = [];
  for (const q of state.questions) {
    const was = prev.get(q.id);
    if (!was && q.by !== me && q.to.includes(me)) out.push(t("announce.asked", { name: name(q.by), text: q.text }));
    const seen = was ? was.answers : 0;
    if (q.by === me || q.to.includes(me)) {
      for (const a of q.answers.slice(seen)) if (a.by !== me) out.push(t("announce.answered", { name: name(a.by), text: a.text }));
    }
  }
  return out;
}
