// Room view: "Since you were here" (protocol/SPEC.md section 15). When the member comes
// back (a welcome with unread counts, or the tab becoming visible again with unread
// events) a compact summary comes first: how many new messages and cart changes, and a
// keyed list of what changed (messages and lines added by others after the read cursor),
// announced politely; "Show the room" (or Escape) dismisses it. Otherwise, while the
// view is on screen, the read cursor follows the events shown, and the tab sends
// `away` on and off with the Page Visibility API. Functions take the RoomView (`v`).

import { unreadTotal } from "../core/reading.js";
import { h, setText, syncList } from "./dom.js";

const LIST_MAX = 6;

export function buildSince(v) {
  const e = v.el;
  const t = v.t;
  e.sinceHeading = h("h2.cs-since-title", { id: `${v.uid}-since-h`, tabIndex: -1 }, t("since.title"));
  e.sinceSummary = h("p.cs-since-summary", { "data-testid": "since-summary" });
  e.sinceList = h("ul.cs-since-list", { "data-testid": "since-list", "aria-label": t("since.title") });
  e.sinceMore = h("p.cs-muted", { "data-testid": "since-more" });
  e.sinceGo = h("button.cs-primary", { type: "button", "data-testid": "since-continue", onclick: () => dismissSince(v, true) }, t("since.continue"));
  e.since = h(
    "section.cs-since",
    { "data-testid": "since", hidden: true, "aria-labelledby": e.sinceHeading.id, onkeydown: (ev) => ev.key === "Escape" && dismissSince(v, true) },
    e.sinceHeading,
    e.sinceSummary,
    e.sinceList,
    e.sinceMore,
    e.sinceGo,
  );
  return e.since;
}

/** Show the summary if there is something unread (on a welcome, or coming back to the tab). */
export function openSince(v) {
  const conn = v.conn;
  const unread = conn.unread;
  if (!conn.live || unreadTotal(unread) === 0) return;
  const from = conn.readCursor;
  v.since = { unread, from };
  v.newFrom = from; // the chat marks the messages after it "New" until the next summary
  const summary = summaryText(v, unread);
  v.announcer.say(v.t("since.announce", { summary }));
  v.schedule();
}

export function dismissSince(v, focusTitle) {
  if (!v.since) return;
  v.since = null;
  v.conn.markRead();
  v.render();
  if (focusTitle) v.el.title.focus();
}

function summaryText(v, unread) {
  const t = v.t;
  const parts = [];
  if (unread.messages) parts.push(t("since.messages", { count: unread.messages }));
  if (unread.cart) parts.push(t("since.cart", { count: unread.cart }));
  return parts.join(", ");
}

/** What changed after the cursor, newest last: messages and lines by others. */
function changes(v) {
  const conn = v.conn;
  const from = v.since.from;
  const me = conn.member;
  const items = [];
  for (const m of conn.state.chat) {
    if (m.id > from && m.by !== me) items.push({ key: `m${m.id}`, seq: m.id, text: v.t("since.said", { name: v._name(m.by), text: m.text }) });
  }
  for (const l of conn.state.cart) {
    if (l.line > from && l.added_by !== me) {
      items.push({ key: `l${l.line}`, seq: l.line, text: v.t("since.added", { name: v._name(l.added_by), product: l.product.name }) });
    }
  }
  return items.sort((a, b) => a.seq - b.seq);
}

export function renderSince(v) {
  const e = v.el;
  if (!v.since) {
    e.since.hidden = true;
    return;
  }
  e.since.hidden = false;
  setText(e.sinceSummary, summaryText(v, v.since.unread));
  const all = changes(v);
  const shown = all.slice(-LIST_MAX);
  syncList(
    e.sinceList,
    shown,
    (item) => item.key,
    () => h("li.cs-since-item", { "data-testid": "since-item", dir: "auto" }),
    (li, item) => setText(li, item.text),
    e.sinceGo,
  );
  const more = all.length - shown.length;
  e.sinceMore.hidden = more <= 0;
  setText(e.sinceMore, more > 0 ? v.t("since.more", { count: more }) : "");
}

/** On every render: while the room is on screen (tab visible, view displayed, no summary
 * pending), everything in it was shown, so the cursor follows the head. Coming back on
 * screen with something unread shows the summary first. */
export function followReads(v) {
  const conn = v.conn;
  const shown = conn.live && !hiddenPage() && v.root.getClientRects().length > 0;
  const cameBack = shown && v._shown === false; // the widget's panel opened, the tab came back
  v._shown = shown;
  if (!shown || v.since) return;
  if (cameBack && unreadTotal(conn.unread) > 0) openSince(v);
  else if (conn.state.seq > conn.readCursor) conn.markRead();
}

function hiddenPage() {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

/** Page Visibility: a hidden tab is away; coming back shows what changed meanwhile. */
export function watchVisibility(v) {
  if (typeof document === "undefined") return () => {};
  const onChange = () => {
    const hidden = hiddenPage();
    v.conn.setAway(hidden);
    if (!hidden && !v.since) openSince(v);
    v.schedule();
  };
  document.addEventListener("visibilitychange", onChange);
  if (hiddenPage()) v.conn.setAway(true);
  return () => document.removeEventListener("visibilitychange", onChange);
}
