// The associate console at /associates: sign in with an associate token (kept in
// sessionStorage: gone with the tab), the tenant's help queue live (GET queue, then the
// SSE stream, resumed with Last-Event-ID), claim a request (exactly one associate wins;
// the others see it taken), and help in the room (room-pane.js). Remote changes are
// announced politely; the server renders the login form, this takes it over.

import { ApiError } from "../core/rest.js";
import { safeStorage } from "../core/join.js";
import { createI18n, resolveLocale } from "../i18n/index.js";
import { Announcer } from "../ui/announce.js";
import { h, setText } from "../ui/dom.js";
import { baseCss } from "../ui/styles.js";
import { associateApi, loginErrorKey, looksLikeAssociateToken } from "./api.js";
import { QueueModel } from "./model.js";
import { buildQueuePane, renderQueue, tickQueue } from "./queue-view.js";
import { RoomPane } from "./room-pane.js";
import { QueueStream } from "./stream.js";
import { consoleCss } from "./styles.js";

const AUTH_KEY = "cosession:associate";
const CLAIMS_KEY = "cosession:associate:claims";

class Console {
  constructor(app, i18n, storage) {
    this.app = app;
    this.i18n = i18n;
    this.t = i18n.t;
    this.storage = storage;
    this.base = location.origin;
    this.el = {};
    this.claiming = new Set();
    this.panes = new Map(); // request id → RoomPane
    this.current = null;
    this.stream = null;
    this.ticker = null;
    this.now = () => Date.now();
    this.form = app.querySelector("form#cs-login");
    this.form.addEventListener("submit", (ev) => this._submit(ev));
  }

  // ---- sign in / out -------------------------------------------------------------

  async _submit(ev) {
    ev.preventDefault();
    const input = this.form.querySelector("[data-testid=login-token]");
    const button = this.form.querySelector("[data-testid=login]");
    const token = input.value.trim();
    if (!looksLikeAssociateToken(token)) return this.showLogin(this.t("console.login.invalid"));
    button.disabled = true;
    try {
      const me = await associateApi.me(this.base, token);
      this.storage.save(AUTH_KEY, { token, me });
      input.value = "";
      await this.start(token, me);
    } catch (err) {
      this.showLogin(this.t(loginErrorKey(err)));
    } finally {
      button.disabled = false;
    }
  }

  showLogin(message) {
    this.form.hidden = false;
    const error = this.form.querySelector("[data-testid=login-error]");
    setText(error, message || "");
    this.form.querySelector("[data-testid=login-token]").focus();
  }

  /** Resume the tab's session (the token in sessionStorage), checked with the server. */
  async resume() {
    const saved = this.storage.load(AUTH_KEY);
    if (!saved || typeof saved.token !== "string") return this.showLogin();
    try {
      const me = await associateApi.me(this.base, saved.token);
      await this.start(saved.token, me);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) this.refused();
      else this.showLogin(this.t(loginErrorKey(err)));
    }
  }

  /** The token was refused (revoked, expired): back to the login, with the reason. */
  refused() {
    this.signOut();
    this.showLogin(this.t("console.login.revoked"));
  }

  signOut() {
    if (this.stream) this.stream.stop();
    clearInterval(this.ticker);
    for (const pane of this.panes.values()) pane.destroy();
    this.panes.clear();
    this.storage.save(AUTH_KEY, null);
    this.storage.save(CLAIMS_KEY, null);
    if (this.el.root) this.el.root.remove();
    this.el = {};
    this.showLogin();
  }

  // ---- the console -----------------------------------------------------------------

  async start(token, me) {
    this.token = token;
    this.me = me || {};
    this.model = new QueueModel(this.me.associate || "");
    this.form.hidden = true;
    this._build();
    let cursor = null;
    try {
      const queue = await associateApi.queue(this.base, token);
      this.model.reset(queue.requests);
      cursor = queue.cursor === undefined || queue.cursor === null ? null : String(queue.cursor);
    } catch (err) {
      if (err.status === 401 || err.status === 403) return this.refused();
    }
    this.render();
    this.stream = new QueueStream({
      url: associateApi.streamUrl(this.base),
      token,
      lastEventId: cursor,
      onEvent: (kind, data) => this._event(kind, data),
      onStatus: (status) => this._streamStatus(status),
      onRefused: () => this.refused(),
    });
    this.stream.start();
    this.ticker = setInterval(() => tickQueue(this), 1000);
    for (const claim of this.claims()) this._pane(claim);
    this.el.heading.focus();
  }

  _build() {
    const t = this.t;
    const e = this.el;
    e.heading = h("h1", { tabIndex: -1, "data-testid": "console-heading" }, t("console.title"));
    e.who = h("span.cs-console-who", { "data-testid": "signed-in" }, t("console.signedIn", { name: this.me.name || "" }));
    e.streamStatus = h("span.cs-stream", { "data-testid": "stream-status", role: "status" });
    e.signOut = h("button", { type: "button", "data-testid": "sign-out", onclick: () => this.signOut() }, t("console.signOut"));
    e.notice = h("p.cs-notice", { "data-testid": "notice", role: "alert" });
    e.announce = h("div.cs-sr", { "data-testid": "announce", role: "status", "aria-live": "polite" });
    e.rooms = h("div.cs-rooms", { "data-testid": "rooms" });
    e.body = h("div.cs-console-body", { "data-view": "queue" }, buildQueuePane(this), e.rooms);
    e.root = h(
      "div.cs-console",
      { "data-testid": "console" },
      h("header.cs-console-head", null, e.heading, e.who, e.streamStatus, e.signOut),
      e.notice,
      e.body,
      e.announce,
    );
    this.app.append(e.root);
    // the room UI's announcer: polite, batched (only its queue of texts is used here)
    this.announcer = new Announcer({ el: e });
  }

  render() {
    if (this.el.queue) renderQueue(this);
  }

  announce(text) {
    if (this.el.announce) this.announcer.say(text);
  }

  notice(text) {
    setText(this.el.notice, text);
    clearTimeout(this._noticeTimer);
    this._noticeTimer = setTimeout(() => this.el.notice && setText(this.el.notice, ""), 6000);
  }

  _streamStatus(status) {
    const s = this.el.streamStatus;
    if (!s) return;
    s.dataset.status = status;
    setText(s, status === "live" ? this.t("console.stream.live") : status === "stopped" ? "" : this.t("console.stream.reconnecting"));
  }

  _event(kind, data) {
    const changed = this.model.apply(kind, data);
    for (const id of changed.added || []) {
      const item = this.model.get(id);
      this.announce(this.t("console.newRequest", { room: (item && item.room_name) || this.t("room.untitled") }));
    }
    // a request of mine closed elsewhere (by the room, or on another tab): the room is done
    if (data && this.panes.has(data.id) && (kind === "removed" || data.state === "closed")) this.closed(data.id);
    this.render();
  }

  // ---- claims --------------------------------------------------------------------------

  claims() {
    const saved = this.storage.load(CLAIMS_KEY);
    return Array.isArray(saved) ? saved.filter((c) => c && typeof c.id === "string" && typeof c.token === "string") : [];
  }

  activeRooms() {
    return this.claims();
  }

  async claim(id) {
    if (this.claiming.has(id)) return;
    this.claiming.add(id);
    this.render();
    const item = this.model.get(id);
    try {
      const won = await associateApi.claim(this.base, this.token, id);
      const claim = { id, room: won.room, room_name: (item && item.room_name) || "", token: won.token, ws_url: won.ws_url };
      this.storage.save(CLAIMS_KEY, [...this.claims().filter((c) => c.id !== id), claim]);
      if (item) this.model.apply("update", { id, state: "claimed", associate: this.me.associate });
      this.claiming.delete(id);
      this.render();
      this.openRoom(id);
    } catch (err) {
      this.claiming.delete(id);
      if (err.status === 401 || err.status === 403) return this.refused();
      if (err.status === 409 || err.status === 404) {
        this.model.delete(id);
        this.notice(this.t("console.taken"));
      } else {
        this.notice(this.t(loginErrorKey(err)));
      }
      this.render();
    }
  }

  _pane(claim) {
    let pane = this.panes.get(claim.id);
    if (!pane) {
      pane = new RoomPane(this, claim);
      pane.show(false);
      this.panes.set(claim.id, pane);
    }
    return pane;
  }

  openRoom(id) {
    const claim = this.claims().find((c) => c.id === id);
    if (!claim) return;
    const pane = this._pane(claim);
    for (const [other, p] of this.panes) p.show(other === id);
    this.current = id;
    this.el.body.dataset.view = "room";
    this.render();
    pane.focus();
  }

  showQueue() {
    this.el.body.dataset.view = "queue";
    this.el.queueHeading.focus();
  }

  /** The request is closed: leave its room, forget its token, back to the queue. */
  closed(id) {
    const pane = this.panes.get(id);
    const name = pane ? pane.claim.room_name : "";
    if (pane) pane.destroy();
    this.panes.delete(id);
    this.storage.save(CLAIMS_KEY, this.claims().filter((c) => c.id !== id));
    this.model.delete(id);
    if (this.current === id) this.current = null;
    this.announce(this.t("console.closed", { room: name || this.t("room.untitled") }));
    this.render();
    if (!this.current) this.showQueue();
  }
}

function main() {
  const app = document.getElementById("cosession-console");
  if (!app || !app.querySelector("form#cs-login")) return;
  const locale = resolveLocale(new URLSearchParams(location.search).get("lang"), app.dataset.lang, document.documentElement.lang);
  const i18n = createI18n(locale);
  document.documentElement.lang = i18n.locale;
  document.documentElement.dir = i18n.dir;
  document.head.append(h("style", null, baseCss + consoleCss));
  const storage = safeStorage(() => window.sessionStorage);
  const c = new Console(app, i18n, storage);
  window.__cosessionConsole = c;
  c.resume();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
