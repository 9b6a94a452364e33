// The console's left column: the queue of requests waiting for help (keyed list, wait
// times ticking every second, escalation level, a "Help" button that claims) and "My
// rooms" (the requests I claimed). Lists are updated in place by key, so focus stays.

import { h, setAttr, setText, syncList } from "../ui/dom.js";
import { createdMs, detailLines, formatWait } from "./model.js";

export function buildQueuePane(c) {
  const t = c.t;
  const e = c.el;
  e.queueHeading = h("h2", { id: "cs-queue-h", tabIndex: -1 }, t("console.queue"));
  e.queueCount = h("p.cs-muted", { "data-testid": "queue-count" });
  e.queue = h("ul.cs-queue", { "data-testid": "queue", "aria-labelledby": "cs-queue-h" });
  e.queueEmpty = h("p.cs-empty", { "data-testid": "queue-empty" }, t("console.queueEmpty"));
  e.activeHeading = h("h2", { id: "cs-active-h" }, t("console.active"));
  e.active = h("ul.cs-active", { "data-testid": "active-rooms", "aria-labelledby": "cs-active-h" });
  e.activeEmpty = h("p.cs-empty", { "data-testid": "active-empty" }, t("console.activeEmpty"));
  return h(
    "section.cs-queue-pane",
    { "data-testid": "queue-pane", "aria-labelledby": "cs-queue-h" },
    e.queueHeading,
    e.queueCount,
    e.queue,
    e.queueEmpty,
    e.activeHeading,
    e.active,
    e.activeEmpty,
  );
}

function roomName(c, item) {
  return item.room_name || c.t("room.untitled");
}

function createItem(c, item) {
  const t = c.t;
  const name = h("strong.cs-q-name", { dir: "auto", "data-testid": "queue-room" });
  const wait = h("span.cs-q-wait", { "data-testid": "wait" });
  const level = h("span.cs-q-level", { "data-testid": "level", hidden: true });
  const details = h("ul.cs-q-details", { "data-testid": "queue-details" });
  const claim = h("button.cs-primary", { type: "button", "data-testid": "claim", onclick: () => c.claim(li.dataset.id) }, t("console.claim"));
  const li = h(
    "li.cs-q-item",
    { "data-testid": "queue-item" },
    h("div.cs-q-top", null, name, level, wait),
    details,
    h("div.cs-q-actions", null, claim),
  );
  li._refs = { name, wait, level, details, claim };
  return li;
}

function updateItem(c, li, item) {
  const r = li._refs;
  li.dataset.id = item.id;
  li.dataset.room = item.room || "";
  li.dataset.level = String(item.level || 0);
  setText(r.name, roomName(c, item));
  setAttr(r.claim, "aria-label", c.t("console.claimName", { room: roomName(c, item) }));
  r.claim.disabled = c.claiming.has(item.id);
  r.level.hidden = !item.level;
  if (item.level) setText(r.level, c.t("console.level", { level: c.i18n.number(item.level) }));
  const lines = detailLines(item, c.i18n);
  syncList(
    r.details,
    lines.map((text, i) => ({ text, i })),
    (x) => String(x.i),
    () => h("li", { dir: "auto" }),
    (el, x) => setText(el, x.text),
  );
  tickItem(c, li, item);
}

function tickItem(c, li, item) {
  const since = createdMs(item);
  const wait = Number.isNaN(since) ? "" : c.t("console.waiting", { time: formatWait(c.now() - since, c.i18n.locale) });
  setText(li._refs.wait, wait);
}

export function renderQueue(c) {
  const e = c.el;
  const waiting = c.model.waiting();
  syncList(e.queue, waiting, (i) => i.id, (i) => createItem(c, i), (li, i) => updateItem(c, li, i), e.queueHeading);
  e.queueEmpty.hidden = waiting.length > 0;
  setText(e.queueCount, c.t("console.queueCount", { count: waiting.length }));
  const mine = c.activeRooms();
  syncList(
    e.active,
    mine,
    (a) => a.id,
    (a) => {
      const b = h("button", { type: "button", "data-testid": "open-room", onclick: () => c.openRoom(a.id) });
      const li = h("li", { "data-testid": "active-room" }, b);
      li._b = b;
      return li;
    },
    (li, a) => {
      li.dataset.id = a.id;
      setText(li._b, a.room_name || c.t("room.untitled"));
      setAttr(li._b, "aria-label", c.t("console.open", { room: a.room_name || c.t("room.untitled") }));
      setAttr(li._b, "aria-current", c.current === a.id ? "true" : null);
    },
    e.activeHeading,
  );
  e.activeEmpty.hidden = mine.length > 0;
}

/** Every second: only the wait texts change (not a live region: nothing is announced). */
export function tickQueue(c) {
  for (const li of c.el.queue.children) {
    const item = c.model.get(li.dataset.id);
    if (item) tickItem(c, li, item);
  }
}
