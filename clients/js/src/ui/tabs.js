// Room view: the tabs (Cart, Chat, People) per the ARIA tabs pattern — a tablist of tabs
// with aria-selected and aria-controls, tabpanels labelled by their tab, a roving tabindex
// and arrow/Home/End keys (mirrored right-to-left). On the wide room page, where the three
// panels stand side by side and the tabs are hidden, the panels are plain regions.

import { h, setAttr, setText } from "./dom.js";

export function buildTabs(v, tabs) {
  const list = h("div.cs-tabs", { role: "tablist", "aria-label": v.t("room.sections"), onkeydown: (ev) => onKey(v, ev) });
  for (const [id, label] of tabs) {
    const pane = v.el.panes[id];
    pane.id = `${v.uid}-${id}`;
    pane.dataset.label = label;
    list.append(
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `${v.uid}-tab-${id}`,
          "data-tab": id,
          "aria-controls": pane.id,
          onclick: () => v._setTab(id),
        },
        h("span", null, label),
        " ",
        h("b", { "data-count": id }),
      ),
    );
  }
  return list;
}

const ORDER = ["cart", "chat", "people"];

function onKey(v, ev) {
  const rtl = v.i18n.dir === "rtl";
  const i = ORDER.indexOf(v.tab);
  let next = null;
  if (ev.key === "ArrowRight") next = rtl ? i - 1 : i + 1;
  else if (ev.key === "ArrowLeft") next = rtl ? i + 1 : i - 1;
  else if (ev.key === "Home") next = 0;
  else if (ev.key === "End") next = ORDER.length - 1;
  if (next === null) return;
  ev.preventDefault();
  v._setTab(ORDER[(next + ORDER.length) % ORDER.length], true);
}

/** counts: {tab: [number, accessible description]} */
export function renderTabs(v, counts) {
  const wide = v.wide;
  for (const [id, pane] of Object.entries(v.el.panes)) {
    const tabId = `${v.uid}-tab-${id}`;
    pane.hidden = !wide && id !== v.tab;
    setAttr(pane, "role", wide ? "region" : "tabpanel");
    setAttr(pane, "aria-labelledby", wide ? null : tabId);
    setAttr(pane, "aria-label", wide ? pane.dataset.label : null);
  }
  for (const b of v.el.tabs.querySelectorAll("[role=tab]")) {
    const selected = b.dataset.tab === v.tab;
    setAttr(b, "aria-selected", String(selected));
    b.tabIndex = selected ? 0 : -1;
    const count = b.querySelector("[data-count]");
    const [n, label] = counts[b.dataset.tab];
    setText(count, v.i18n.number(n));
    setAttr(count, "title", label || null);
  }
}
