// Room view (phone room page): scan a product's barcode (EAN/UPC, or a QR code) with the
// camera, or type its code, look it up in the shop's catalog (GET /v1/catalog/lookup), show
// the product card, set it as our focus (everyone sees what we are looking at), and share
// it in the chat or add it to the cart. The decoder is loaded on the first scan only
// (scan/detector.js). Camera problems get a clear message; typing the code always works.
// Functions take the RoomView (`v`).

import { rest } from "../core/rest.js";
import { errorMessage } from "../core/errors.js";
import { loadDetector } from "../scan/detector.js";
import { h, setText } from "./dom.js";
import { productCard, updateCard } from "./room-cart.js";

const FRAME_MS = 200; // between decode attempts
const MAX_SCAN_MS = 120_000; // the camera stops by itself after two minutes

export function buildScanPane(v) {
  const t = v.t;
  const e = v.el;
  const s = (v.scan = { stream: null, timer: null, product: null, busy: false, startedAt: 0, run: 0 });
  const codeId = `${v.uid}-scan-code`;
  e.scanOpen = h("button", { type: "button", "data-testid": "scan-open", "aria-expanded": "false", onclick: () => toggle(v) }, t("scan.open"));
  e.scanHeading = h("h3", { id: `${v.uid}-scan-h`, tabIndex: -1 }, t("scan.heading"));
  e.scanVideo = h("video.cs-scan-video", { "data-testid": "scan-video", muted: true, playsInline: true, "aria-label": t("scan.video") });
  e.scanVideo.setAttribute("playsinline", "");
  e.scanStatus = h("p.cs-muted", { "data-testid": "scan-status", role: "status" });
  e.scanCode = h("input", { id: codeId, "data-testid": "scan-code", inputMode: "numeric", autocomplete: "off", maxLength: 512, dir: "ltr" });
  e.scanForm = h(
    "form.cs-scan-form",
    { "data-testid": "scan-form", onsubmit: (ev) => (ev.preventDefault(), lookup(v, e.scanCode.value)) },
    h("label.cs-field-label", { for: codeId }, t("scan.code")),
    h("div.cs-share-row", null, e.scanCode, h("button", { type: "submit", "data-testid": "scan-lookup" }, t("scan.lookup"))),
  );
  e.scanShare = h("button", { type: "button", "data-testid": "scan-share", onclick: () => share(v) }, t("scan.share"));
  e.scanResult = h("div.cs-scan-result", { "data-testid": "scan-result", hidden: true });
  e.scanStop = h("button", { type: "button", "data-testid": "scan-close", onclick: () => close(v) }, t("scan.stop"));
  e.scanPanel = h(
    "section.cs-scan",
    { "data-testid": "scan-panel", hidden: true, "aria-labelledby": e.scanHeading.id },
    e.scanHeading,
    e.scanVideo,
    e.scanStatus,
    e.scanForm,
    e.scanResult,
    e.scanStop,
  );
  s.card = null;
  return h("div.cs-scan-area", null, e.scanOpen, e.scanPanel);
}

function toggle(v) {
  if (v.el.scanPanel.hidden) open(v);
  else close(v);
}

function open(v) {
  const e = v.el;
  e.scanPanel.hidden = false;
  e.scanOpen.setAttribute("aria-expanded", "true");
  e.scanHeading.focus();
  startCamera(v);
}

export function close(v) {
  const e = v.el;
  stopCamera(v);
  e.scanPanel.hidden = true;
  e.scanOpen.setAttribute("aria-expanded", "false");
  e.scanOpen.focus();
}

export function destroyScan(v) {
  if (v.scan) stopCamera(v);
}

function status(v, text) {
  setText(v.el.scanStatus, text);
}

function cameraError(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "scan.denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "scan.noCamera";
  return "scan.unsupported";
}

async function startCamera(v) {
  const s = v.scan;
  const t = v.t;
  const run = ++s.run;
  const media = typeof navigator !== "undefined" && navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function") {
    status(v, t("scan.unsupported"));
    return;
  }
  status(v, t("scan.starting"));
  let detector;
  try {
    s.stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    if (run === s.run) status(v, t(cameraError(err)));
    return;
  }
  if (run !== s.run) return stopTracks(s); // closed while asking
  const video = v.el.scanVideo;
  video.srcObject = s.stream;
  try {
    await video.play();
    detector = await loadDetector();
  } catch {
    if (run === s.run) {
      status(v, t("scan.decoderFailed"));
      stopCamera(v);
    }
    return;
  }
  if (run !== s.run) return;
  status(v, t("scan.looking"));
  s.startedAt = Date.now();
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const tick = async () => {
    if (run !== s.run || !s.stream) return;
    if (Date.now() - s.startedAt > MAX_SCAN_MS) return stopCamera(v);
    const w = video.videoWidth;
    const hgt = video.videoHeight;
    if (w && hgt && !s.busy) {
      canvas.width = w;
      canvas.height = hgt;
      ctx.drawImage(video, 0, 0, w, hgt);
      let found = [];
      try {
        found = await detector.detect({ canvas, imageData: () => ctx.getImageData(0, 0, w, hgt) });
      } catch {
        found = [];
      }
      if (run !== s.run) return;
      if (found.length) {
        stopCamera(v);
        v.el.scanCode.value = found[0].text;
        lookup(v, found[0].text);
        return;
      }
    }
    s.timer = setTimeout(tick, FRAME_MS);
  };
  s.timer = setTimeout(tick, 0);
}

function stopTracks(s) {
  if (s.stream) for (const track of s.stream.getTracks()) track.stop();
  s.stream = null;
}

function stopCamera(v) {
  const s = v.scan;
  s.run++;
  clearTimeout(s.timer);
  stopTracks(s);
  if (v.el.scanVideo) v.el.scanVideo.srcObject = null;
}

async function lookup(v, raw) {
  const s = v.scan;
  const t = v.t;
  const code = String(raw || "").trim();
  if (!code || s.busy) return;
  s.busy = true;
  status(v, t("scan.searching", { code }));
  try {
    const found = await rest.catalogLookup(location.origin, v.conn.token, code);
    show(v, found.products[0]);
  } catch (err) {
    const key = { product_not_found: "scan.notFound", invalid_field: "scan.invalid" }[err.code];
    status(v, key ? t(key, { code }) : errorMessage(err, t));
  } finally {
    s.busy = false;
  }
}

function show(v, product) {
  const s = v.scan;
  const e = v.el;
  s.product = product;
  if (!s.card) {
    s.card = productCard(v, product, { label: v.t("scan.scanned"), testid: "scan-card" });
    e.scanResult.append(s.card, e.scanShare);
  } else updateCard(v, s.card, product, v.t("scan.scanned"));
  e.scanResult.hidden = false;
  status(v, v.t("scan.found", { product: product.name }));
  v.conn.setFocus(product); // everyone sees what we are looking at
  e.scanShare.focus();
}

function share(v) {
  const product = v.scan.product;
  if (!product) return;
  v._do(v.conn.chat(product.name, product));
  status(v, v.t("scan.shared"));
}
