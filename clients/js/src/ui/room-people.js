// Room view: the People tab. Owns the people pane skeleton, the list of who is here (device,
// what each is looking at, who follows whom, the Follow button) and the invite share box
// (link, copy/share, QR code). Functions take the RoomView (`v`).

import { fill, h, hue, initials } from "./dom.js";
import { icon } from "./icons.js";

const DEVICE_ICON = { phone: "phone", tablet: "phone", desktop: "desktop" };
const DEVICE_LABEL = { phone: "on a phone", tablet: "on a tablet", desktop: "on a computer" };

export function buildPeoplePane(v) {
  const e = v.el;
  e.people = h("ul.cs-people", { "data-testid": "people" });
  e.inviteInput = h("input", { readOnly: true, "data-testid": "invite-link", "aria-label": "Invite link" });
  e.copy = h("button", { onclick: () => v._copy() }, "Copy");
  e.qr = h("img.cs-qr", { alt: "QR code of the invite link", "data-testid": "qr", width: 148, height: 148 });
  e.share = h(
    "div.cs-share",
    { "data-testid": "share" },
    h("h3", null, "Invite friends"),
    h("div.cs-share-row", null, e.inviteInput, e.copy),
    e.qr,
  );
  return h("section.cs-pane", { "data-pane": "people" }, h("h3", null, "Here now"), e.people, e.share);
}

export function renderPeople(v) {
  const conn = v.conn;
  const people = [...conn.presence.values()].sort((a, b) =>
    a.member === conn.member ? -1 : b.member === conn.member ? 1 : a.name.localeCompare(b.name),
  );
  if (!people.length) {
    fill(v.el.people, h("li.cs-empty", null, conn.live ? "Nobody else is here yet." : "…"));
    return;
  }
  fill(
    v.el.people,
    people.map((p) => {
      const me = p.member === conn.member;
      const following = conn.following === p.member;
      const focus = p.focus;
      return h(
        "li.cs-person",
        { "data-testid": "person", "data-member": p.member, "data-name": p.name },
        h("span.cs-avatar", { style: { background: `hsl(${hue(p.member)} 55% 48%)` } }, initials(p.name)),
        h(
          "div.cs-person-main",
          null,
          h(
            "span.cs-name.cs-person-name",
            { "data-testid": "person-name", "data-device": p.device, title: DEVICE_LABEL[p.device] || "" },
            p.name,
            me ? " (you)" : "",
            DEVICE_ICON[p.device] ? h("small.cs-device", null, icon(DEVICE_ICON[p.device], 14)) : null,
          ),
          h(
            "div.cs-muted",
            { "data-testid": "person-focus" },
            focus ? `Looking at: ${focus.name}` : p.connections === 0 ? "Away" : "Browsing",
            p.following ? ` · following ${v._name(p.following)}` : "",
          ),
        ),
        me
          ? null
          : h(
              "button",
              {
                "data-testid": "follow",
                "aria-pressed": String(following),
                onclick: () => {
                  conn.follow(following ? null : p.member);
                  if (!following) v.tab = "cart";
                  v.render();
                },
              },
              following ? "Following" : "Follow",
            ),
      );
    }),
  );
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
  try {
    if (navigator.share && v.mode === "page" && matchMedia("(pointer: coarse)").matches) {
      await navigator.share({ title: v.conn.state.name, url });
      return;
    }
    await navigator.clipboard.writeText(url);
    v.el.copy.textContent = "Copied";
  } catch {
    v.el.inviteInput.select();
    v.el.copy.textContent = "Press Ctrl+C";
  }
  setTimeout(() => (v.el.copy.textContent = "Copy"), 2000);
}
