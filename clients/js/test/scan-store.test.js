// In-store mode without a DOM: the person's "in the store" / "remote" label, and the
// scanner's choice of the browser's BarcodeDetector when it reads retail codes.
import { afterEach, describe, expect, it } from "vitest";
import { createI18n } from "../src/i18n/index.js";
import { loadDetector } from "../src/scan/detector.js";
import { whereLabel } from "../src/ui/room-store.js";

const view = (store, locale = "en") => ({ conn: { state: { store } }, t: createI18n(locale).t });

describe("in the store or remote", () => {
  it("labels people only in a store's room", () => {
    const store = { store: "downtown", name: "Downtown", department: "Shoes" };
    expect(whereLabel(view(store), { in_store: true })).toBe("in the store");
    expect(whereLabel(view(store), { in_store: false })).toBe("remote");
    expect(whereLabel(view(store), {})).toBe("remote");
    expect(whereLabel(view(store, "de"), { in_store: true })).toBe("im Geschäft");
    expect(whereLabel(view(null), { in_store: true })).toBe("");
  });
});

describe("barcode detector choice", () => {
  afterEach(() => {
    delete globalThis.BarcodeDetector;
  });

  it("uses BarcodeDetector with the retail formats it supports", async () => {
    const made = [];
    globalThis.BarcodeDetector = class {
      static async getSupportedFormats() {
        return ["qr_code", "ean_13", "code_128"];
      }
      constructor(opts) {
        made.push(opts);
      }
      async detect() {
        return [{ rawValue: "4006381334327", format: "ean_13" }];
      }
    };
    const detector = await loadDetector();
    expect(detector.kind).toBe("native");
    expect(made).toEqual([{ formats: ["ean_13", "qr_code"] }]);
    expect(await detector.detect({ canvas: {} })).toEqual([{ text: "4006381334327", format: "ean_13" }]);
  });

  it("falls back to the zxing chunk when BarcodeDetector reads no retail code", async () => {
    globalThis.BarcodeDetector = class {
      static async getSupportedFormats() {
        return ["aztec"];
      }
    };
    // the chunk is not served here: the import fails, and the page offers manual entry
    await expect(loadDetector("/nowhere/")).rejects.toBeTruthy();
  });
});
