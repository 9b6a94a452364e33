// Room view: polls (SPEC section 17), under the cart. "Which one?" between 2–6 cart lines:
// a form to start one (question, lines, how long, what happens at the end), then each poll
// with one button per option (pressed = my vote; pressing it again clears it), the live
// tally, the deadline in the view's locale with a countdown, and the result once the
// server's poll.close folded. Polls are keyed by id and options by index, updated in
// place, so focus stays on the option just pressed. Others' new polls and every result
// are announced (announce.js asks pollNews). Functions take the RoomView (`v`).

import { h, setAttr, setText, syncList } from "./dom.js";

const MINUTE = 60_000;
export const DURATIONS = [
  ["polls.d10m", 10 * MINUTE],
  ["polls.d1h", 60 * MINUTE],
  ["polls.d1d", 24 * 60 * MINUTE],
  ["polls.d3d", 3 * 24 * 60 * MINUTE],
  ["polls.d1w", 7 * 24 * 60 * MINUTE],
];

export function buildPolls(v) {
  const t = v.t;
  const e = v.el;
  const id = (s) => `${v.uid}-poll-${s}`;
  e.pollsHeading = h("h3", { id: id("h"), tabIndex: -1 }, t("polls.heading"));
  e.polls = h("ul.cs-polls", { "data-testid": "polls", "aria-labelledby": e.pollsHeading.id });
  e.pollAsk = h("button", { type: "button", "data-testid": "poll-ask", "aria-expanded": "false", onclick: () => toggleForm(v) }, t("polls.ask"));
  e.pollQuestion = h("input", { id: id("q"), "data-testid": "poll-question", maxLength: 300, placeholder: t("polls.defaultQuestion"), dir: "auto" });
  e.pollLines = h("fieldset.cs-poll-lines", { "data-testid": "poll-lines" });
  e.pollDuration = h(
    "select",
    { id: id("d"), "data-testid": "poll-duration" },
    DURATIONS.map(([key, ms], i) => h("option", { value: String(ms), selected: i === 2 }, t(key))),
  );
  e.pollOutcome = h(
    "select",
    { id: id("o"), "data-testid": "poll-outcome" },
    h("option", { value: "keep_winner" }, t("polls.keepWinner")),
    h("option", { value: "post_result" }, t("polls.postResult")),
  );
  e.pollError = h("p.cs-poll-error", { "data-testid": "poll-error", role: "alert", hidden: true });
  e.pollForm = h(
    "form.cs-poll-form",
    { "data-testid": "poll-form", hidden: true, onsubmit: (ev) => (ev.preventDefault(), createPoll(v)) },
    h("label", { for: e.pollQuestion.id }, t("polls.question")),
    e.pollQuestion,
    e.pollLines,
    h("label", { for: e.pollDuration.id }, t("polls.duration")),
    e.pollDuration,
    h("label", { for: e.pollOutcome.id }, t("polls.outcome")),
    e.pollOutcome,
    e.pollError,
    h(
      "div.cs-poll-buttons",
      null,
      h("button.cs-primary", { type: "submit", "data-testid": "poll-create" }, t("polls.create")),
      h("button", { type: "button", "data-testid": "poll-cancel", onclick: () => toggleForm(v, false) }, t("polls.cancel")),
    ),
  );
  return h("section.cs-poll-section", { "data-testid": "poll-section" }, e.pollsHeading, e.polls, e.pollAsk, e.pollForm);
}

function toggleForm(v, open = v.el.pollForm.hidden) {
  const e = v.el;
  e.pollForm.hidden = !open;
  setAttr(e.pollAsk, "aria-expanded", String(open));
  e.pollError.hidden = true;
  if (open) {
    e.pollQuestion.value = "";
    for (const box of e.pollLines.querySelectorAll("input")) box.checked = false;
    renderForm(v);
    e.pollQuestion.focus();
  } else e.pollAsk.focus();
}

function renderForm(v) {
  const e = v.el;
  if (e.pollForm.hidden) return;
  if (!e.pollLines._legend) {
    e.pollLines._legend = h("legend", null, v.t("polls.pick"));
    e.pollLines._list = h("div");
    e.pollLines.append(e.pollLines._legend, e.pollLines._list);
  }
  syncList(
    e.pollLines._list,
    v.conn.state.cart,
    (l) => l.line,
    (l) => {
      const box = h("input", { type: "checkbox", id: `${v.uid}-pl-${l.line}`, "data-testid": "poll-line", value: String(l.line) });
      return h("div.cs-poll-line", null, box, h("label", { for: box.id, dir: "auto" }));
    },
    (row, l) => setText(row.lastElementChild, l.product.variant ? `${l.product.name} (${l.product.variant})` : l.product.name),
  );
}

function createPoll(v) {
  const e = v.el;
  const lines = [...e.pollLines.querySelectorAll("input:checked")].map((box) => Number(box.value));
  if (lines.length < 2 || lines.length > 6) {
    e.pollError.hidden = false;
    setText(e.pollError, v.t("polls.needTwo"));
    return;
  }
  const question = e.pollQuestion.value.trim() || v.t("polls.defaultQuestion");
  const deadline = Date.now() + Number(e.pollDuration.value);
  v._do(v.conn.createPoll(question, lines.map((line) => ({ line })), deadline, e.pollOutcome.value));
  toggleForm(v, false);
}

/** What option `o` of a poll is called: its label, else its product's or line's name. */
export function optionName(v, o, lineNames) {
  if (o.label) return o.label;
  if (o.product) return o.product.name;
  const line = v.conn.state.cart.find((l) => l.line === o.line);
  if (line) return line.product.name;
  return lineNames.get(o.line) || v.t("polls.lineGone");
}

function buildPoll(v) {
  const li = h("li.cs-poll", { "data-testid": "poll" });
  li._refs = {
    question: h("p.cs-poll-q", { "data-testid": "poll-question-text", dir: "auto" }),
    meta: h("p.cs-poll-meta", { "data-testid": "poll-meta" }),
    options: h("ul.cs-poll-options", { role: "list" }),
    result: h("p.cs-poll-result", { "data-testid": "poll-result", hidden: true }),
  };
  const r = li._refs;
  li.append(r.question, r.meta, r.options, r.result);
  return li;
}

function vote(v, poll, index) {
  const mine = poll.votes[v.conn.member];
  v._do(v.conn.votePoll(poll.id, mine === index ? null : index));
}

function buildOption(v, li) {
  const count = h("span.cs-poll-count", { "data-testid": "poll-count" });
  const name = h("span.cs-name", { dir: "auto" });
  const button = h(
    "button.cs-poll-option",
    { type: "button", "data-testid": "poll-option", onclick: () => li._poll && !li._poll.closed && vote(v, li._poll, button._index) },
    name,
    count,
  );
  button._refs = { name, count };
  return h("li", null, button);
}

function updatePoll(v, li, poll, lineNames, now) {
  const t = v.t;
  const r = li._refs;
  li._poll = poll;
  li.dataset.poll = poll.id;
  li.dataset.closed = String(poll.closed);
  setText(r.question, poll.question);
  const counts = poll.closed ? poll.tally : tallyOf(poll);
  const mine = poll.votes[v.conn.member];
  const names = poll.options.map((o) => optionName(v, o, lineNames));
  const when = dateTime(v, poll.deadline);
  setText(
    r.meta,
    poll.closed ? t("polls.closedAt", { name: v._name(poll.by), time: when }) : t("polls.ends", { name: v._name(poll.by), time: when, left: relative(v, poll.deadline - now) }),
  );
  syncList(
    r.options,
    poll.options.map((o, i) => i),
    (i) => i,
    () => buildOption(v, li),
    (item, i) => {
      const button = item.firstElementChild;
      button._index = i;
      const votes = t("polls.votes", { count: counts[i] || 0 });
      setText(button._refs.name, names[i]);
      setText(button._refs.count, votes);
      setAttr(button, "aria-pressed", String(mine === i));
      setAttr(button, "aria-disabled", poll.closed ? "true" : null);
      setAttr(button, "aria-label", t("polls.voteFor", { option: names[i], votes }));
      item.dataset.winner = String(poll.closed && poll.winner === i);
    },
  );
  r.result.hidden = !poll.closed;
  setText(r.result, poll.closed ? resultText(v, poll, names) : "");
}

export function resultText(v, poll, names) {
  const t = v.t;
  if (poll.winner == null) return Object.keys(poll.votes).length ? t("polls.tie") : t("polls.noVotes");
  const won = t("polls.winner", { option: names[poll.winner] });
  return poll.removed.length ? `${won} ${t("polls.removed", { count: poll.removed.length })}` : won;
}

function tallyOf(poll) {
  const counts = poll.options.map(() => 0);
  for (const o of Object.values(poll.votes)) counts[o] += 1;
  return counts;
}

function dateTime(v, ms) {
  return new Intl.DateTimeFormat(v.i18n.locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

function relative(v, ms) {
  const fmt = new Intl.RelativeTimeFormat(v.i18n.locale, { numeric: "auto" });
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return fmt.format(s, "second");
  if (s < 3600) return fmt.format(Math.round(s / 60), "minute");
  if (s < 86400) return fmt.format(Math.round(s / 3600), "hour");
  return fmt.format(Math.round(s / 86400), "day");
}

export function renderPolls(v) {
  const polls = v.conn.state.polls || [];
  const now = Date.now();
  v._lineNames = v._lineNames || new Map(); // names of lines seen, for options whose line left
  for (const l of v.conn.state.cart) v._lineNames.set(l.line, l.product.name);
  // newest first: the open question on top
  syncList(v.el.polls, [...polls].reverse(), (p) => p.id, () => buildPoll(v), (li, p) => updatePoll(v, li, p, v._lineNames, now), v.el.pollsHeading);
  v.el.polls.hidden = !polls.length;
  setAttr(v.el.pollAsk, "aria-disabled", v.conn.state.cart.length < 2 ? "true" : null);
  renderForm(v);
  // the countdown moves while a poll is open
  const open = polls.some((p) => !p.closed);
  if (open && !v._pollTick) v._pollTick = setInterval(() => renderPolls(v), 1000);
  else if (!open && v._pollTick) {
    clearInterval(v._pollTick);
    v._pollTick = null;
  }
}

export function destroyPolls(v) {
  if (v._pollTick) clearInterval(v._pollTick);
  v._pollTick = null;
}

/** Announcements since `before` (poll id → closed?): others' new polls, every result. */
export function pollNews(v, before) {
  const out = [];
  if (before === null) return out;
  const lineNames = v._lineNames || new Map();
  for (const poll of v.conn.state.polls || []) {
    const was = before.get(poll.id);
    if (was === undefined && !poll.closed && poll.by !== v.conn.member) {
      out.push(v.t("announce.pollNew", { name: v._name(poll.by), question: poll.question }));
    } else if (poll.closed && was === false) {
      const names = poll.options.map((o) => optionName(v, o, lineNames));
      out.push(v.t("announce.pollClosed", { question: poll.question, result: resultText(v, poll, names) }));
    }
  }
  return out;
}

export function pollSnapshot(state) {
  return new Map((state.polls || []).map((p) => [p.id, p.closed]));
}
