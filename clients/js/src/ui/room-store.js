// Room view: the store a room was opened in ("In store: Downtown, Shoes", from the
// room's state, SPEC §20) and, in such a room, whether each person is in the store or
// remote (their presence's `in_store`). Functions take the RoomView (`v`).

import { h, setText } from "./dom.js";

export function buildStoreLine(v) {
  v.el.store = h("p.cs-store", { "data-testid": "store-context", hidden: true, dir: "auto" });
  return v.el.store;
}

export function renderStore(v) {
  const store = v.conn.state.store;
  v.el.store.hidden = !store;
  if (store) setText(v.el.store, v.t("store.in", { place: store.department ? `${store.name}, ${store.department}` : store.name }));
}

/** "in the store" / "remote" for a person of a room with a store; "" otherwise. */
export function whereLabel(v, p) {
  if (!v.conn.state.store) return "";
  return p.in_store ? v.t("people.inStore") : v.t("people.remote");
}
