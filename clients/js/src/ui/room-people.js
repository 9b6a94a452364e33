// Room view: the People tab. Owns the people pane skeleton, the list of who is here (device,
// what each is looking at, who follows whom, the Follow button) and the invite share box
// (link, copy/share, QR code). People are keyed by member id and updated in place.
// Functions take the RoomView (`v`).

import { avatarColor, h, initials, setAttr, setText, syncList } from "./dom.js";
import { icon } from "./icons.js";
import { whereLabel } from "./room-store.js";

const DEVICE_ICON = { phone: "phone", tablet: "phone", desktop: "desktop" };

export function buildPeoplePane(v) {
  const e = v.el;
  const t = v.t;
  const linkId = `${v.uid}-invite`;
  e.peopleHeading = h("h3", { id: `${v.uid}-people-h`, tabIndex: -1 }, t("people.here"));
  e.people = h("ul.cs-people", { "data-testid": "people", "aria-labelledby": e.peopleHeading.id });
  e.peopleEmpty = h("p.cs-empty", null);
  e.inviteInput = h("input", { id: linkId, readOnly: true, "data-testid": "invite-link", dir: "ltr" });
  e.copy = h("button", { type: "button", "data-testid": "copy", onclick: () => v._copy() }, t("people.copy"));
  e.qr = h("img.cs-qr", { alt: t("people.qr"), "data-testid": "qr", width: 148, height: 148 });
  e.share = h(
    "div.cs-share",
    { "data-testid": "share" },
    h("h3", null, t("people.invite")),
    h("label.cs-field-label", { for: linkId }, t("people.inviteLink")),
    h("div.cs-share-row", null, e.inviteInput, e.copy),
    e.qr,
  );
  return h("section.cs-pane", { "data-pane": "people" }, e.peopleHeading, e.people, e.peopleEmpty, e.share);
}

function buildPerson(v) {
  const li = h("li.cs-person", { "data-testid": "person" });
  const r = (li._refs = {
    avatar: h("span.cs-avatar", { "aria-hidden": "true" }),
    name: h("span.cs-name-text", { dir: "auto" }),
    you: h("span.cs-you"),
    device: h("small.cs-device"),
    where: h("small.cs-where", { "data-testid": "person-where" }),
    focus: h("div.cs-muted", { "data-testid": "person-focus" }),
    follow: h("button", { type: "button", "data-testid": "follow", onclick: () => li._p && follow(v, li._p) }, h("span")),
  });
  r.nameRow = h("span.cs-name.cs-person-name", { "data-testid": "person-name" }, r.name, r.you, r.device, r.where);
  li.append(r.avatar, h("div.cs-person-main", null, r.nameRow, r.focus), r.follow);
  return li;
}

function follow(v, p) {
  const conn = v.conn;
  const following = conn.following === p.member;
  conn.follow(following ? null : p.member);
  if (!following && !v.wide) {
    // following shows their product on the Cart tab: go there, focus on its tab
    v._setTab("cart", true);
  } else v.render();
}

function updatePerson(v, li, p) {
  const t = v.t;
  const conn = v.conn;
  const r = li._refs;
  const me = p.member === conn.member;
  const following = conn.following === p.member;
  li._p = p;
  li.dataset.member = p.member;
  li.dataset.name = p.name;
  r.avatar.style.background = avatarColor(p.member);
  setText(r.avatar, initials(p.name));
  setText(r.name, p.name);
  setText(r.you, me ? ` ${t("people.youSuffix")}` : "");
  r.nameRow.dataset.device = p.device || "";
  const deviceLabel = p.device && t(`people.${p.device}`) !== `people.${p.device}` ? t(`people.${p.device}`) : "";
  setAttr(r.nameRow, "title", deviceLabel || null);
  if (r.device._kind !== p.device) {
    r.device._kind = p.device;
    r.device.replaceChildren();
    if (DEVICE_ICON[p.device]) r.device.append(icon(DEVICE_ICON[p.device], 14), h("span.cs-sr", null, ` ${deviceLabel}`));
  }
  const where = whereLabel(v, p);
  li.dataset.where = where ? (p.in_store ? "in-store" : "remote") : "";
  setText(r.where, where ? ` · ${where}` : "");
  const focus = p.focus;
  const away = !!p.away || p.connections === 0; // a hidden tab or a frozen phone (SPEC 15)
  li.dataset.away = String(away);
  const what = away ? t("people.away") : focus ? t("people.looking", { product: focus.name }) : t("people.browsing");
  setText(r.focus, p.following ? `${what} · ${t("people.followsWho", { name: v._name(p.following) })}` : what);
  r.follow.hidden = me;
  setAttr(r.follow, "aria-pressed", String(following));
  setText(r.follow.firstChild, following ? t("people.following") : t("people.follow"));
  setAttr(r.follow, "aria-label", following ? t("people.followingName", { name: p.name }) : t("people.followName", { name: p.name }));
}

export function renderPeople(v) {
  const conn = v.conn;
  const people = [...conn.presence.values()].sort((a, b) =>
    a.member === conn.member ? -1 : b.member === conn.member ? 1 : a.name.localeCompare(b.name, v.i18n.locale),
  );
  syncList(v.el.people, people, (p) => p.member, () => buildPerson(v), (li, p) => updatePerson(v, li, p), v.el.peopleHeading);
  v.el.people.hidden = !people.length;
  v.el.peopleEmpty.hidden = !!people.length;
  setText(v.el.peopleEmpty, conn.live ? v.t("people.nobody") : "…");
}

export function renderShare(v) {
  const { inviteUrl, qrUrl } = v.opts;
  v.el.share.hidden = !inviteUrl;
  if (!inviteUrl) return;
  if (v.el.inviteInput.value !== inviteUrl) v.el.inviteInput.value = inviteUrl;
  if (qrUrl && v.el.qr.getAttribute("src") !== qrUrl) v.el.qr.src = qrUrl;
  v.el.qr.hidden = !qrUrl;
}

export async function copyInvite(v) {
  const url = v.opts.inviteUrl;
  const t = v.t;
  try {
    if (navigator.share && v.mode === "page" && matchMedia("(pointer: coarse)").matches) {
      await navigator.share({ title: v.conn.state.name, url });
      return;
    }
    await navigator.clipboard.writeText(url);
    setText(v.el.copy, t("people.copied"));
  } catch {
    v.el.inviteInput.select();
    setText(v.el.copy, t("people.pressCopy"));
  }
  setTimeout(() => setText(v.el.copy, t("people.copy")), 2000);
}
