// Which barcode detector the room page uses: the browser's BarcodeDetector where it exists
// and reads retail codes, else the zxing-wasm chunk (scan/zxing-entry.js), loaded on first
// use only. Both give [{text, format}] for a video frame.

/* global __COSESSION_SCANNER__, __COSESSION_ZXING_WASM__ */
const SCANNER_FILE = typeof __COSESSION_SCANNER__ === "string" ? __COSESSION_SCANNER__ : "scanner.js";
const WASM_FILE = typeof __COSESSION_ZXING_WASM__ === "string" ? __COSESSION_ZXING_WASM__ : "zxing_reader.wasm";
const NATIVE_FORMATS = ["ean_13", "ean_8", "upc_a", "upc_e", "qr_code"];

async function nativeDetector() {
  const BD = globalThis.BarcodeDetector;
  if (typeof BD !== "function") return null;
  try {
    const supported = await BD.getSupportedFormats();
    const formats = NATIVE_FORMATS.filter((f) => supported.includes(f));
    if (!formats.length) return null;
    const detector = new BD({ formats });
    return {
      kind: "native",
      detect: async (frame) => (await detector.detect(frame.canvas)).map((b) => ({ text: b.rawValue, format: b.format })),
    };
  } catch {
    return null;
  }
}

let zxing = null;

/** The detector to use; rejects if neither can be had (the page offers manual entry). */
export async function loadDetector(base = "/static/") {
  const native = await nativeDetector();
  if (native) return native;
  if (!zxing) {
    zxing = import(/* @vite-ignore */ base + SCANNER_FILE).then((mod) => mod.createDecoder(base + WASM_FILE));
    zxing.catch(() => {
      zxing = null; // try again next time (a network hiccup)
    });
  }
  const decoder = await zxing;
  return { kind: "zxing", detect: (frame) => decoder.detect(frame.imageData()) };
}
