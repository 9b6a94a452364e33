// Room view: `@name` mentions in the chat composer (protocol/SPEC.md section 16). The
// message input is an ARIA combobox: typing "@" and the start of a name opens a listbox of
// the room's members that match; ArrowDown/ArrowUp move through it (aria-activedescendant),
// Enter or Tab picks one ("@Name " goes into the text), Escape closes it. The ids picked
// are sent as the chat op's `mentions` when their "@Name" is still in the text.

import { h, setAttr, setText, syncList } from "./dom.js";

const MAX_OPTIONS = 8;
const QUERY = /(^|\s)@([^\s@]{0,32})$/u;

/** Make `v.el.input` a combobox; returns the listbox (placed above the composer row). */
export function buildMentions(v) {
  const e = v.el;
  const listId = `${v.uid}-mentions`;
  const hintId = `${v.uid}-mention-hint`;
  e.mentionList = h("ul.cs-mentions", { id: listId, role: "listbox", "aria-label": v.t("chat.mentionList"), "data-testid": "mention-list", hidden: true });
  e.mentionHint = h("span.cs-sr", { id: hintId }, v.t("chat.mentionHint"));
  for (const [k, val] of Object.entries({
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    "aria-describedby": hintId,
  })) e.input.setAttribute(k, val);
  e.input.addEventListener("input", () => updateMentions(v));
  e.input.addEventListener("keydown", (ev) => onKey(v, ev));
  e.input.addEventListener("blur", () => setTimeout(() => closeMentions(v), 150));
  v.mention = { open: false, options: [], active: 0, picked: new Map() };
  return [e.mentionList, e.mentionHint];
}

/** The members a "@query" may name: everyone else in the room who is not kicked. */
function candidates(v, query) {
  const q = query.toLocaleLowerCase();
  const out = [];
  for (const [id, m] of Object.entries(v.conn.state.members)) {
    if (id === v.conn.member || m.kicked || !m.name) continue;
    const name = m.name.toLocaleLowerCase();
    if (!q || name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q))) out.push({ id, name: m.name });
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out.slice(0, MAX_OPTIONS);
}

function queryAtCaret(input) {
  const caret = input.selectionStart ?? input.value.length;
  const match = QUERY.exec(input.value.slice(0, caret));
  return match ? { query: match[2], start: caret - match[2].length - 1, end: caret } : null;
}

export function updateMentions(v) {
  const at = queryAtCaret(v.el.input);
  const options = at ? candidates(v, at.query) : [];
  v.mention.options = options;
  v.mention.active = Math.min(v.mention.active, Math.max(0, options.length - 1));
  v.mention.open = options.length > 0;
  renderMentions(v);
}

export function closeMentions(v) {
  if (!v.mention.open) return;
  v.mention.open = false;
  renderMentions(v);
}

function renderMentions(v) {
  const { open, options, active } = v.mention;
  const list = v.el.mentionList;
  syncList(
    list,
    open ? options : [],
    (o) => o.id,
    () => {
      const li = h("li.cs-mention-option", { role: "option", "data-testid": "mention-option" });
      li.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep focus in the input
      li.addEventListener("click", () => pick(v, li._option));
      return li;
    },
    (li, o) => {
      li._option = o;
      li.id = `${v.uid}-mention-${o.id}`;
      setText(li, o.name);
      setAttr(li, "dir", "auto");
      setAttr(li, "aria-selected", String(options[active] === o));
    },
  );
  list.hidden = !open;
  setAttr(v.el.input, "aria-expanded", String(open));
  setAttr(v.el.input, "aria-activedescendant", open && options[active] ? `${v.uid}-mention-${options[active].id}` : null);
}

function onKey(v, ev) {
  const m = v.mention;
  if (!m.open) return;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    const n = m.options.length;
    m.active = (m.active + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
    renderMentions(v);
  } else if (ev.key === "Enter" || ev.key === "Tab") {
    ev.preventDefault();
    pick(v, m.options[m.active]);
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    closeMentions(v);
  }
}

function pick(v, option) {
  const input = v.el.input;
  const at = queryAtCaret(input);
  if (!option || !at) return;
  const insert = `@${option.name} `;
  input.value = input.value.slice(0, at.start) + insert + input.value.slice(at.end);
  const caret = at.start + insert.length;
  input.setSelectionRange(caret, caret);
  v.mention.picked.set(option.id, option.name);
  v.mention.open = false;
  renderMentions(v);
  input.focus();
}

/** The member ids picked for `text` whose "@Name" is still in it (then forgotten). */
export function takeMentions(v, text) {
  const ids = [...v.mention.picked].filter(([, name]) => text.includes(`@${name}`)).map(([id]) => id);
  v.mention.picked.clear();
  return ids.filter((id) => Object.hasOwn(v.conn.state.members, id)).slice(0, 20);
}
