// Room view: the Chat tab. Owns the chat pane skeleton and composer, the message list
// (a role=log: new messages are announced politely; sent and still-pending messages, with
// product cards, and "Checkout started by …" notes from room-retail.js in seq order among
// the messages), who is typing, attaching the product on the page or the followed focus,
// sending, and the typing signal. Messages (and notes) are keyed by seq and never rebuilt,
// so focus and scroll stay put. Functions take the RoomView (`v`).

import { h, setAttr, setText, syncList } from "./dom.js";
import { icon } from "./icons.js";
import { buildMentions, closeMentions, takeMentions } from "./mentions.js";
import { buildQuestions } from "./room-questions.js";
import { updateCard } from "./room-cart.js";
import { buildQaItem, qaTimeline, updateQaItem } from "./room-qa.js";
import { buildNote, checkoutNotes, updateNote } from "./room-retail.js";

export function buildChatPane(v) {
  const e = v.el;
  const t = v.t;
  e.chat = h("ul.cs-chat", { "data-testid": "chat" });
  e.chatLog = h("div.cs-chat-log", { role: "log", "aria-label": t("chat.log") }, e.chat);
  e.chatEmpty = h("p.cs-empty", { "data-testid": "chat-empty" }, t("chat.empty"));
  e.typing = h("div.cs-typing", { "data-testid": "typing" });
  e.chatScroll = h("div.cs-pane.cs-chat-scroll", null, e.chatEmpty, e.chatLog, e.typing);
  const inputId = `${v.uid}-msg`;
  e.input = h("input", {
    id: inputId,
    "data-testid": "chat-input",
    maxLength: 2000,
    autocomplete: "off",
    dir: "auto",
    oninput: () => v._typing(),
  });
  e.attach = h("button", { type: "button", "data-testid": "attach", "aria-pressed": "false", title: t("chat.attach"), "aria-label": t("chat.attach"), onclick: () => v._toggleAttach() }, icon("clip"));
  e.attachChip = h("div.cs-attach-chip", { hidden: true, dir: "auto" });
  const mentions = buildMentions(v);
  e.composer = h(
    "form.cs-composer",
    { onsubmit: (ev) => (ev.preventDefault(), v._sendChat()) },
    h("label.cs-composer-label", { for: inputId }, t("chat.label")),
    mentions,
    h("div.cs-composer-row", null, e.attach, e.input, h("button.cs-primary", { type: "submit", "data-testid": "send" }, t("chat.send"))),
  );
  return h("section.cs-pane.cs-chat-wrap", { "data-pane": "chat" }, buildQuestions(v), e.chatScroll, e.attachChip, e.composer);
}

function buildMessage(v) {
  const li = h("li.cs-msg", { "data-testid": "chat-message" });
  li._refs = {
    by: h("div.cs-msg-by", { dir: "auto" }),
    text: h("div.cs-msg-text", { "data-testid": "chat-text", dir: "auto" }),
    mention: h("span.cs-mention-badge", { "data-testid": "mentions-you", hidden: true }, v.t("chat.mentionsYou")),
    card: null,
  };
  li._refs.mark = h("span.cs-new-mark", { hidden: true }); // "New": after the read cursor (SPEC 15)
  li.append(li._refs.mark, li._refs.by, li._refs.mention, li._refs.text);
  return li;
}

function updateMessage(v, li, m, pending) {
  const r = li._refs;
  const conn = v.conn;
  li.classList.toggle("cs-mine", pending || m.by === conn.member);
  li.classList.toggle("cs-pending", pending);
  li.dataset.testid = pending ? "chat-pending" : "chat-message";
  if (!pending) li.dataset.id = m.id;
  const fresh = !pending && v.newFrom != null && m.id > v.newFrom && m.by !== conn.member;
  li.dataset.new = String(fresh);
  r.mark.hidden = !fresh;
  setText(r.mark, fresh ? v.t("since.unreadMark") : ""); // no hidden text in the message's text
  setText(r.by, pending ? v.t(conn.status === "live" ? "chat.sending" : "chat.notSent") : v._name(m.by));
  setText(r.text, m.text);
  const mentionsMe = !pending && m.by !== conn.member && !!m.mentions && m.mentions.includes(conn.member);
  li.classList.toggle("cs-mention-me", mentionsMe);
  r.mention.hidden = !mentionsMe;
  setAttr(r.text, "data-testid", pending ? null : "chat-text");
  if (m.product) {
    if (r.card) updateCard(v, r.card, m.product);
    else li.append((r.card = v._productCard(m.product, { actions: !pending })));
  } else if (r.card) {
    r.card.remove();
    r.card = null;
  }
}

export function renderChat(v) {
  const conn = v.conn;
  const s = conn.state;
  const t = v.t;
  const scroller = v.el.chatScroll;
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  const pending = conn.pendingOps().filter((op) => op.t === "chat");
  const notes = checkoutNotes(s, (m) => v._name(m), v.i18n, conn.member);
  // one timeline in seq order: the messages, the checkout notes, and product Q&A (room-qa.js)
  const timeline = [
    ...s.chat.map((m) => ({ key: `m${m.id}`, kind: "message", seq: m.id, m, pending: false })),
    ...notes.map((n) => ({ key: `c${n.seq}`, kind: "note", seq: n.seq, n })),
    ...qaTimeline(s, (m) => v._name(m), v.i18n),
  ].sort((a, b) => a.seq - b.seq);
  const items = [...timeline, ...pending.map((op, i) => ({ key: `p${i}`, kind: "message", m: op, pending: true }))];
  syncList(
    v.el.chat,
    items,
    (x) => x.key,
    (x) => (x.kind === "note" ? buildNote() : x.kind.startsWith("qa-") ? buildQaItem(x) : buildMessage(v)),
    (li, x) => (x.kind === "note" ? updateNote(li, x.n) : x.kind.startsWith("qa-") ? updateQaItem(v, li, x) : updateMessage(v, li, x.m, x.pending)),
    v.el.input,
  );
  v.el.chatEmpty.hidden = items.length > 0;
  v.el.chat.hidden = items.length === 0;
  const typers = [...conn.typing].filter((m) => m !== conn.member).map((m) => v._name(m));
  setText(v.el.typing, typers.length ? t("chat.typing", { names: v.i18n.list(typers), count: typers.length }) : "");
  const product = v._attachable();
  v.el.attach.hidden = !product;
  if (!product) v.attach = false;
  setAttr(v.el.attach, "aria-pressed", String(v.attach));
  v.el.attachChip.hidden = !(v.attach && product);
  setText(v.el.attachChip, product ? t("chat.attached", { product: product.name }) : "");
  if (timeline.length !== v._lastChatCount) {
    const mineLast = s.chat.length && s.chat[s.chat.length - 1].by === conn.member;
    v._lastChatCount = timeline.length;
    scrollChat(v, atBottom || mineLast);
  }
}

export function scrollChat(v, force) {
  const scroller = v.el.chatScroll;
  if (force) scroller.scrollTop = scroller.scrollHeight;
}

export function attachable(v) {
  const mine = v.opts.pageProduct ? v.opts.pageProduct() : null;
  if (mine) return mine;
  const target = v.conn.following;
  const p = target ? v.conn.presence.get(target) : null;
  return p && p.focus ? p.focus : null;
}

export function sendChat(v) {
  const text = v.el.input.value.trim();
  const product = v.attach ? v._attachable() : null;
  if (!text && !product) return;
  const body = text || product.name;
  v._do(v.conn.chat(body, product || undefined, undefined, takeMentions(v, body)));
  v.el.input.value = "";
  closeMentions(v);
  v.attach = false;
  v._stopTyping();
  v.render();
}

export function typing(v) {
  if (!v._typingSent) {
    v._typingSent = true;
    v.conn.setTyping(true);
  }
  clearTimeout(v._typingTimer);
  v._typingTimer = setTimeout(() => v._stopTyping(), 3000);
}

export function stopTyping(v) {
  clearTimeout(v._typingTimer);
  if (v._typingSent) {
    v._typingSent = false;
    v.conn.setTyping(false);
  }
}
