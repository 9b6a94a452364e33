// The barcode decoder for browsers without BarcodeDetector (Chromium on Linux, Firefox,
// Safari): zxing-wasm's reader (ZXing-C++ compiled to WebAssembly, maintained, EAN/UPC and
// QR). Built as its own ES module chunk (scanner.<hash>.js) that the room page imports only
// when someone starts scanning; the .wasm comes from this server (/static), never a CDN.

import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";

const FORMATS = ["EAN13", "EAN8", "UPCA", "UPCE", "QRCode"];

/** A decoder whose `detect(imageData)` resolves to [{text, format}] (empty: nothing seen). */
export function createDecoder(wasmUrl) {
  prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
    fireImmediately: false,
  });
  return {
    async detect(imageData) {
      const found = await readBarcodes(imageData, { formats: FORMATS, tryHarder: true, maxNumberOfSymbols: 1 });
      return found.filter((r) => r.isValid && r.text).map((r) => ({ text: r.text, format: r.format }));
    },
  };
}
