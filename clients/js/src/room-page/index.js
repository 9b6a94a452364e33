// The room page at /r/{invite}: join with a name, then the shared room (mobile first).
// Also the page a store's QR code opens (/s/{tenant}/{store}, SPEC §20): the same form
// opens a new room in the store, or joins the invite the code holds, as "in the store".
//
// The server renders the join form in the page's language (so it paints before this
// script); this takes it over, hides it while in the room, and shows it again if the
// server forgets us. The language: `?lang=`, else the page's `lang`, else English.
// The join token is kept in localStorage per invite, so a reload (or a browser that was
// killed) rejoins as the same member instead of adding a new one.

import { errorMessage } from "../core/errors.js";
import { JoinFlow, safeStorage } from "../core/join.js";
import { rest, wsUrlFor } from "../core/rest.js";
import { createI18n, resolveLocale } from "../i18n/index.js";
import { h } from "../ui/dom.js";
import { buildScanPane, destroyScan } from "../ui/room-scan.js";
import { mountNotify } from "../ui/room-notify.js";
import { RoomView } from "../ui/room-view.js";
import { baseCss, pageCss } from "../ui/styles.js";

function main() {
  const app = document.getElementById("cosession-room");
  if (!app) return;
  const code = app.dataset.invite;
  const storeJoin = app.dataset.storeJoin || ""; // a store's page: POST here to join
  const department = app.dataset.department || "";
  const base = location.origin;
  const locale = resolveLocale(new URLSearchParams(location.search).get("lang"), app.dataset.lang, document.documentElement.lang);
  const i18n = createI18n(locale);
  const t = i18n.t;
  document.documentElement.lang = i18n.locale;
  document.documentElement.dir = i18n.dir;
  const key = storeJoin ? `cosession:store:${storeJoin}:${department}:${code}` : `cosession:invite:${code}`;
  const flow = new JoinFlow({ url: wsUrlFor(base), key, storage: safeStorage(() => window.localStorage) });
  const shareUrls = (invite) => [`${base}/r/${encodeURIComponent(invite)}`, `/r/${encodeURIComponent(invite)}/qr.svg`];
  const roomName = app.dataset.roomName || "";
  document.head.append(h("style", null, baseCss + pageCss));

  const debug = (window.__cosession = { conn: null, view: null, locale: i18n.locale });

  // the join form is the server's (in the page's language): show it, hide it, reuse it
  const form = app.querySelector("form#cs-join");
  const formWrap = form ? form.parentElement : null;
  const input = form && form.querySelector("[data-testid=join-name]");
  const button = form && form.querySelector("[data-testid=join]");
  const error = form && form.querySelector("[data-testid=join-error]");
  if (form) {
    const explain = (err) => errorMessage(err.status === 404 ? { code: "invite_not_found" } : err, t);
    const obtain = storeJoin ? joinInStore : acceptInvite;
    form.addEventListener("submit", flow.onSubmit({ input, button, error, obtain, then: start, explain }));
  }

  function showJoin(message) {
    if (!form) return;
    formWrap.hidden = false;
    error.textContent = message || "";
    button.disabled = false;
    if (!input.value) input.value = flow.savedName;
    input.focus();
  }

  async function acceptInvite(name) {
    const joined = await rest.acceptInvite(base, code, name);
    return { token: joined.token, member: joined.member, room: joined.room };
  }

  async function joinInStore(name) {
    const body = { name };
    if (department) body.department = department;
    if (code) body.invite = code;
    const joined = await rest.joinInStore(base, storeJoin, body);
    return { token: joined.token, member: joined.member, room: joined.room, invite: joined.invite };
  }

  function start(session) {
    const [inviteUrl, qrUrl] = shareUrls(session.invite || code);
    if (formWrap) formWrap.hidden = true;
    let view = null;
    flow.connect(session, {
      setup: (conn) => {
        const scanner = { build: buildScanPane, destroy: destroyScan };
        const qa = app.dataset.qa === "1";
        view = new RoomView(app, conn, { mode: "page", locale: i18n.locale, inviteUrl, qrUrl, title: roomName, qa, scanner });
        debug.conn = conn;
        debug.view = view;
        // "Notify me" / "Mute" (SPEC 18) in the People tab, under the invite box
        const page = `/r/${encodeURIComponent(code)}`;
        debug.notify = mountNotify(view.el.panes.people, t, { base, token: session.token, room: session.room, page });
      },
      onForget: (err) => {
        view.destroy();
        const own = { kicked: "error.kicked", room_closed: "error.room_closed" }[err.code];
        showJoin(own ? t(own) : t("join.again", { reason: errorMessage(err, t) }));
      },
    });
  }

  const saved = flow.saved;
  if (saved) start(saved);
  else showJoin();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
