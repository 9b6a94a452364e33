// Room page: "Notify me" and "Mute" toggles (SPEC 18). Two buttons with aria-pressed in a
// labelled group, keyboard-usable like any button; the browser's permission prompt comes
// only from a click on "Notify me". A status line (role=status) says what happened.

import { NotifyClient, pushSupport } from "../core/notify.js";
import { h, setAttr, setText } from "./dom.js";

const REASON = {
  unsupported: "notify.unsupported",
  denied: "notify.denied",
  unavailable: "notify.unavailable",
};

/** Mount the toggles into `parent`; returns {el, client, refresh()}. */
export function mountNotify(parent, t, { base, token, room, page, env = globalThis }) {
  const client = new NotifyClient({ base, token, room, page, env });
  const state = { push: false, muted: false, busy: false };
  const status = h("p.cs-muted", { role: "status", "data-testid": "notify-status" });
  const push = h("button", { type: "button", "aria-pressed": "false", "data-testid": "notify-me" }, t("notify.me"));
  const mute = h("button", { type: "button", "aria-pressed": "false", "data-testid": "notify-mute" }, t("notify.mute"));
  const heading = h("h3", { id: `cs-notify-h-${room}` }, t("notify.heading"));
  const el = h(
    "section.cs-notify",
    { "data-testid": "notify", role: "group", "aria-labelledby": heading.id },
    heading,
    h("div.cs-share-row", null, push, mute),
    status,
  );
  parent.append(el);

  function render() {
    setAttr(push, "aria-pressed", String(state.push));
    setAttr(mute, "aria-pressed", String(state.muted));
    push.disabled = state.busy;
    mute.disabled = state.busy;
  }

  async function act(work, done) {
    if (state.busy) return;
    state.busy = true;
    render();
    try {
      await work();
      setText(status, done());
    } catch (err) {
      const code = (err && err.code) || "";
      setText(status, t(REASON[code] || "notify.failed"));
    } finally {
      state.busy = false;
      render();
    }
  }

  push.addEventListener("click", () =>
    act(
      async () => {
        const settings = state.push ? await client.disablePush() : await client.enablePush();
        state.push = !state.push;
        state.muted = settings.muted;
      },
      () => t(state.push ? "notify.on" : "notify.off"),
    ),
  );
  mute.addEventListener("click", () =>
    act(
      async () => {
        state.muted = (await client.setMuted(!state.muted)).muted;
      },
      () => t(state.muted ? "notify.muted" : "notify.unmuted"),
    ),
  );

  async function refresh() {
    try {
      const settings = await client.settings();
      state.muted = settings.muted;
      state.push = pushSupport(env) === "ok" && !!(await client.current()) && settings.subscriptions > 0;
    } catch {
      // the toggles still work; the next click reports any error
    }
    render();
  }
  render();
  refresh();
  return { el, client, refresh };
}
