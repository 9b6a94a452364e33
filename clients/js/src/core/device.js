// What the browser tells about itself: the kind of device (sent in hello), and random
// bytes for the op refs' prefix.

export function guessDevice(nav = globalThis.navigator, win = globalThis.window) {
  const ua = (nav && nav.userAgent) || "";
  if (/iPad|Tablet/i.test(ua)) return "tablet";
  if (/Mobi|Android|iPhone/i.test(ua)) return "phone";
  try {
    if (win && win.matchMedia && win.matchMedia("(pointer: coarse)").matches) {
      return Math.min(win.screen.width, win.screen.height) < 600 ? "phone" : "tablet";
    }
  } catch {
    // no media queries here
  }
  return win ? "desktop" : "unknown";
}

export function randomPrefix() {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
