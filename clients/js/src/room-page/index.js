// The room page at /r/{invite}: join with a name, then the shared room (mobile first).
//
// The join token is kept in localStorage per invite, so a reload (or a browser that was
// killed) rejoins as the same member instead of adding a new one.

import { JoinFlow, safeStorage } from "../core/join.js";
import { rest, wsUrlFor } from "../core/rest.js";
import { h } from "../ui/dom.js";
import { RoomView } from "../ui/room-view.js";
import { baseCss, pageCss } from "../ui/styles.js";

function main() {
  const app = document.getElementById("cosession-room");
  if (!app) return;
  const code = app.dataset.invite;
  const base = location.origin;
  const flow = new JoinFlow({ url: wsUrlFor(base), key: `cosession:invite:${code}`, storage: safeStorage(() => window.localStorage) });
  const inviteUrl = `${base}/r/${encodeURIComponent(code)}`;
  const qrUrl = `/r/${encodeURIComponent(code)}/qr.svg`;
  let roomName = app.dataset.roomName || "";
  document.head.append(h("style", null, baseCss + pageCss));

  const debug = (window.__cosession = { conn: null, view: null });

  function showJoin(message) {
    app.replaceChildren();
    const input = h("input", {
      "data-testid": "join-name",
      placeholder: "Your name",
      maxLength: 100,
      autocomplete: "nickname",
      required: true,
      value: flow.savedName,
    });
    const error = h("div.cs-error", { "data-testid": "join-error", role: "alert" }, message || "");
    const button = h("button.cs-primary", { type: "submit", "data-testid": "join" }, "Join");
    const title = h("h1", { style: { fontSize: "22px", fontWeight: "700" } }, roomName ? `Join “${roomName}”` : "Join the shopping room");
    const form = h(
      "form.cs-form",
      {
        onsubmit: flow.onSubmit({ input, button, error, obtain: acceptInvite, then: start }),
      },
      title,
      h("p", null, "Shop together: one shared cart, a chat, and see what everyone is looking at. No app needed."),
      h("label", null, input),
      button,
      error,
    );
    app.append(h("div.cs.cs-page", null, form));
    if (!roomName) {
      rest
        .getInvite(base, code)
        .then((inv) => {
          roomName = inv.name || "";
          if (roomName) title.textContent = `Join “${roomName}”`;
        })
        .catch((err) => {
          error.textContent = err.status === 404 ? "This invite link does not exist." : err.message;
        });
    }
    input.focus();
  }

  async function acceptInvite(name) {
    const joined = await rest.acceptInvite(base, code, name);
    return { token: joined.token, member: joined.member, room: joined.room };
  }

  function start(session) {
    app.replaceChildren();
    let view = null;
    flow.connect(session, {
      setup: (conn) => {
        view = new RoomView(app, conn, { mode: "page", inviteUrl, qrUrl, title: roomName });
        debug.conn = conn;
        debug.view = view;
      },
      onForget: (err) => {
        view.destroy();
        const why = { kicked: "You were removed from this room.", room_closed: "This room was closed." }[err.code];
        showJoin(why || `Please join again (${err.message}).`);
      },
    });
  }

  const saved = flow.saved;
  if (saved) start(saved);
  else showJoin();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
