// Help from a store associate in the room view (protocol/SPEC.md section 21): "Ask for
// help" (in store or online, an optional department), the request's state ("Waiting for a
// store associate"), and who is helping ("Mia (associate) is helping"), with a button to
// close the request.
//
// The model functions are pure (test/room-help.test.js). The bar is built once and updated
// in place, so keyboard focus stays where it is; its status line is a polite live region,
// and others' requests, claims and closes are also announced through announce.js. The
// small form is native controls (radio group, text field, buttons): Tab and arrow keys
// work, Escape closes it and focus returns to the "Ask for help" button.

import { activeHelp } from "../core/reducer.js";
import { english } from "../i18n/index.js";
import { h, setAttr, setText } from "./dom.js";

/** Where a request is, in words: "in store: Shoes", "In store" or "Online". */
export function helpWhere(item, i18n = english) {
  const t = i18n.t;
  if (item.where !== "in_store") return t("help.online");
  return item.department ? t("help.inStoreDept", { department: item.department }) : t("help.inStore");
}

/** What the bar shows: {kind: "none" | "open" | "claimed", text, request}. */
export function helpStatus(state, i18n = english, nameOf = (m) => m) {
  const item = activeHelp(state);
  if (!item) return { kind: "none", text: "", request: null };
  if (item.state === "claimed") {
    return { kind: "claimed", text: i18n.t("help.helping", { name: item.associate_name || nameOf(item.associate) }), request: item.id };
  }
  const key = item.level ? "help.waitingEscalated" : "help.waiting";
  return { kind: "open", text: i18n.t(key, { where: helpWhere(item, i18n) }), request: item.id };
}

/** Who may ask (members, owners: not viewers, not the associates who answer). */
export function canAsk(state, member) {
  const m = Object.hasOwn(state.members, member) ? state.members[member] : null;
  return !!m && !m.kicked && (m.role === "owner" || m.role === "member");
}

/** Who may close the open request: its requester, the room's owner, the helping associate. */
export function canClose(state, member) {
  const item = activeHelp(state);
  return !!item && !!member && (member === item.by || member === state.owner || member === item.associate);
}

/** What the announcer compares between renders: each request's state. */
export function helpSnapshot(state) {
  return new Map((state.help || []).map((x) => [x.id, x.state]));
}

/** What to announce since snapshot `prev`: another member asked, an associate took the
 * request, a request closed. */
export function helpNews(prev, state, me, i18n = english, nameOf = (m) => m) {
  const out = [];
  for (const item of state.help || []) {
    const was = prev.get(item.id);
    if (was === item.state) continue;
    if (was === undefined && item.state === "open" && item.by !== me) {
      out.push(i18n.t("help.asked", { name: nameOf(item.by), where: helpWhere(item, i18n) }));
    } else if (item.state === "claimed" && item.associate !== me) {
      out.push(i18n.t("help.helping", { name: item.associate_name || nameOf(item.associate) }));
    } else if (item.state === "closed" && was !== undefined) {
      out.push(i18n.t("help.closed"));
    }
  }
  return out;
}

/** The help bar (built once). */
export function buildHelpBar(v) {
  const t = v.t;
  const id = `${v.uid}-help`;
  const r = {};
  r.status = h("p.cs-help-status", { "data-testid": "help-status", role: "status", "aria-live": "polite", dir: "auto", tabIndex: -1 });
  r.ask = h("button.cs-help-ask", {
    type: "button", "data-testid": "help-ask", "aria-expanded": "false", "aria-controls": `${id}-form`,
    onclick: () => openForm(v, v.el.help._refs.form.hidden),
  }, t("help.ask"));
  r.close = h("button.cs-help-close", { type: "button", "data-testid": "help-close", hidden: true, onclick: () => closeRequest(v) });
  const radio = (value, label) =>
    h("label.cs-help-where", null, h("input", { type: "radio", name: `${id}-where`, value, "data-testid": `help-${value}` }), " ", label);
  r.inStore = radio("in_store", t("help.inStore"));
  r.online = radio("online", t("help.online"));
  r.department = h("input.cs-help-dept", { id: `${id}-dept`, type: "text", maxLength: 100, autocomplete: "off", "data-testid": "help-department" });
  r.form = h(
    "form.cs-help-form",
    { id: `${id}-form`, "data-testid": "help-form", hidden: true, onsubmit: (ev) => submitForm(v, ev), onkeydown: (ev) => ev.key === "Escape" && openForm(v, false) },
    h("fieldset", null, h("legend", null, t("help.where")), r.inStore, r.online),
    h("label", { for: `${id}-dept` }, t("help.department")),
    r.department,
    h("div.cs-help-actions", null,
      h("button", { type: "submit", "data-testid": "help-send" }, t("help.send")),
      h("button", { type: "button", "data-testid": "help-cancel-form", onclick: () => openForm(v, false) }, t("help.cancelForm"))),
  );
  const bar = h("section.cs-help", { "data-testid": "help", "aria-label": t("help.title") }, h("div.cs-help-row", null, r.status, r.ask, r.close), r.form);
  bar._refs = r;
  return bar;
}

function openForm(v, open) {
  const r = v.el.help._refs;
  r.form.hidden = !open;
  setAttr(r.ask, "aria-expanded", open ? "true" : "false");
  if (open) {
    const inStore = r.inStore.querySelector("input");
    const online = r.online.querySelector("input");
    if (!inStore.checked && !online.checked) (v.opts.inStore ? inStore : online).checked = true;
    (inStore.checked ? inStore : online).focus();
  } else if (!r.ask.hidden) {
    r.ask.focus();
  }
}

function submitForm(v, ev) {
  ev.preventDefault();
  const r = v.el.help._refs;
  const where = r.inStore.querySelector("input").checked ? "in_store" : "online";
  const department = r.department.value.trim().slice(0, 100) || undefined;
  r.form.hidden = true;
  setAttr(r.ask, "aria-expanded", "false");
  v._do(v.conn.askForHelp(where, department));
  r.status.focus(); // the form (and the focused button) went away: keep focus in the bar
}

function closeRequest(v) {
  const item = activeHelp(v.conn.state);
  if (!item) return;
  v._do(v.conn.closeHelp(item.id));
}

/** Update the bar in place from the room's state. */
export function renderHelp(v) {
  const bar = v.el.help;
  const r = bar._refs;
  const s = v.conn.state;
  const me = v.conn.member;
  const status = helpStatus(s, v.i18n, (m) => v._name(m));
  const root = bar.getRootNode();
  const focused = root.activeElement && bar.contains(root.activeElement) ? root.activeElement : null;
  bar.dataset.state = status.kind;
  setText(r.status, status.text); // the live region stays in place (empty when there is no request)
  const ask = status.kind === "none" && canAsk(s, me);
  if (!ask && !r.form.hidden) r.form.hidden = true;
  if (r.ask.hidden !== !ask) r.ask.hidden = !ask;
  const close = status.kind !== "none" && canClose(s, me);
  r.close.hidden = !close;
  setText(r.close, status.kind === "claimed" ? v.t("help.done") : v.t("help.cancel"));
  bar.hidden = !ask && status.kind === "none";
  // a focused control that just went away hands focus to what took its place (WCAG 2.4.3)
  if (focused && (focused.closest("[hidden]") || focused.hidden)) {
    if (bar.hidden) v.el.title.focus();
    else (!r.ask.hidden ? r.ask : !r.close.hidden ? r.close : r.status).focus();
  }
}
