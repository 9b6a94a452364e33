// The room page's service worker (/sw.js, scope /r/): shows a Web Push notification
// (SPEC 18.4: {t: "notification", room, reasons, count, digest, url}) in the browser's
// language, one per room (a newer one replaces it), and opens or focuses the room page
// on click. The payload carries counts only, so the text is built here.

import { createI18n, resolveLocale } from "../i18n/index.js";

function text(data) {
  const t = createI18n(resolveLocale(...(self.navigator.languages || []), self.navigator.language)).t;
  const reasons = data.reasons || {};
  const count = Number(data.count) || 0;
  const only = Object.keys(reasons).length === 1 ? Object.keys(reasons)[0] : "";
  const body = only === "vote" ? t("notify.push.votes", { count }) : t("notify.push.things", { count });
  return { title: data.digest ? t("notify.push.digest") : t("notify.push.title"), body };
}

self.addEventListener("push", (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || data.t !== "notification") return;
  const { title, body } = text(data);
  const url = typeof data.url === "string" && data.url.startsWith("/r/") ? data.url : "/r/";
  event.waitUntil(
    self.registration.showNotification(title, { body, tag: `cosession:${data.room}`, renotify: true, data: { url, room: data.room } }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/r/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
      const open = list.find((c) => c.url.split(/[?#]/)[0] === target && "focus" in c);
      return open ? open.focus() : self.clients.openWindow(target);
    }),
  );
});

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
