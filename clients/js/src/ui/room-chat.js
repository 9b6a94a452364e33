// Room view: the Chat tab. Owns the chat pane skeleton and composer, the message list
// (sent and still-pending messages, with product cards), who is typing, attaching the
// product on the page or the followed focus, sending, and the typing signal.
// Functions take the RoomView (`v`).

import { fill, h } from "./dom.js";
import { icon } from "./icons.js";

export function buildChatPane(v) {
  const e = v.el;
  e.chat = h("ul.cs-chat", { "data-testid": "chat" });
  e.typing = h("div.cs-typing", { "data-testid": "typing" });
  e.chatScroll = h("div.cs-pane", { style: { padding: "12px" } }, e.chat, e.typing);
  e.input = h("input", {
    "data-testid": "chat-input",
    placeholder: "Message",
    maxLength: 2000,
    "aria-label": "Message",
    oninput: () => v._typing(),
  });
  e.attach = h("button", { type: "button", "data-testid": "attach", "aria-pressed": "false", title: "Attach the product", "aria-label": "Attach the product", onclick: () => v._toggleAttach() }, icon("clip"));
  e.attachChip = h("div.cs-attach-chip", { hidden: true });
  e.composer = h(
    "form.cs-composer",
    { onsubmit: (ev) => (ev.preventDefault(), v._sendChat()) },
    e.attach,
    e.input,
    h("button.cs-primary", { type: "submit", "data-testid": "send" }, "Send"),
  );
  return h(
    "section.cs-pane.cs-chat-wrap",
    { "data-pane": "chat", style: { padding: "0", gap: "0", overflow: "hidden" } },
    e.chatScroll,
    e.attachChip,
    e.composer,
  );
}

export function renderChat(v) {
  const conn = v.conn;
  const s = conn.state;
  const scroller = v.el.chatScroll;
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  if (!s.chat.length) {
    fill(v.el.chat, h("li.cs-empty", null, "No messages yet. Ask your friends what they think!"));
  } else {
    fill(
      v.el.chat,
      s.chat.map((m) =>
        h(
          `li.cs-msg${m.by === conn.member ? ".cs-mine" : ""}`,
          { "data-testid": "chat-message", "data-id": m.id },
          h("div.cs-msg-by", null, v._name(m.by)),
          h("div.cs-msg-text", { "data-testid": "chat-text" }, m.text),
          m.product ? v._productCard(m.product) : null,
        ),
      ),
    );
  }
  for (const op of conn.pendingOps()) {
    if (op.t !== "chat") continue;
    if (v.el.chat.firstChild && v.el.chat.firstChild.classList.contains("cs-empty")) v.el.chat.replaceChildren();
    v.el.chat.append(
      h(
        "li.cs-msg.cs-mine.cs-pending",
        { "data-testid": "chat-pending" },
        h("div.cs-msg-by", null, conn.status === "live" ? "Sending…" : "Not sent yet"),
        h("div.cs-msg-text", null, op.text),
        op.product ? v._productCard(op.product, { actions: false }) : null,
      ),
    );
  }
  const typers = [...conn.typing].filter((m) => m !== conn.member).map((m) => v._name(m));
  v.el.typing.textContent = typers.length ? `${typers.join(", ")} ${typers.length === 1 ? "is" : "are"} typing…` : "";
  const product = v._attachable();
  v.el.attach.hidden = !product;
  if (!product) v.attach = false;
  v.el.attach.setAttribute("aria-pressed", String(v.attach));
  v.el.attachChip.hidden = !(v.attach && product);
  v.el.attachChip.textContent = product ? `Attached: ${product.name}` : "";
  if (s.chat.length !== v._lastChatCount) {
    const mineLast = s.chat.length && s.chat[s.chat.length - 1].by === conn.member;
    v._lastChatCount = s.chat.length;
    v._scrollChat(atBottom || mineLast);
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
  v._do(v.conn.chat(text || product.name, product || undefined));
  v.el.input.value = "";
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
