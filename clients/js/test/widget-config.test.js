import { describe, expect, it } from "vitest";
import { DEFAULTS, fromDataset, merge, parseOffset } from "../src/widget/config.js";
import { isRtl, resolveLocale, strings, supported } from "../src/widget/strings.js";

describe("widget options", () => {
  it("parses offsets, clamped", () => {
    expect(parseOffset("20")).toEqual([20, 20]);
    expect(parseOffset("16px 90px")).toEqual([16, 90]);
    expect(parseOffset([8, 9])).toEqual([8, 9]);
    expect(parseOffset("-5 9999")).toEqual([0, 400]);
    expect(parseOffset("abc")).toBeNull();
    expect(parseOffset("")).toBeNull();
  });

  it("merges data-attributes then the JS config, ignoring bad values", () => {
    const ds = { key: "pk_1", position: "bottom-left", offset: "10 30", launcher: "none", launcherText: " Ask a friend ", locale: "de" };
    const cfg = merge(DEFAULTS, fromDataset(ds));
    expect(cfg).toMatchObject({ key: "pk_1", position: "bottom-left", offset: [10, 30], launcher: "none", launcherText: "Ask a friend", locale: "de" });
    const next = merge(cfg, { position: "middle", launcher: "button", preload: "idle", offset: "x" });
    expect(next).toMatchObject({ position: "bottom-left", launcher: "button", preload: "idle", offset: [10, 30] });
    expect(merge(cfg, null)).toEqual(cfg);
  });
});

describe("widget locale", () => {
  it("uses the option, then the page's lang, then English", () => {
    expect(resolveLocale("", "de-DE")).toBe("de-DE");
    expect(strings("de-AT").launch).toBe("Mit Freunden shoppen");
    expect(isRtl("ar-EG")).toBe(true);
    expect(resolveLocale("fr", "de")).toBe("fr");
    expect(resolveLocale("pt", "es_MX")).toBe("es-MX");
    expect(resolveLocale("", "")).toBe("en");
    expect(supported("xx")).toBe("");
    expect(isRtl("ar")).toBe(true);
    expect(isRtl("de")).toBe(false);
  });

  it("has every string in every language, and counts friends", () => {
    for (const loc of ["en", "de", "fr", "es", "ar"]) {
      const t = strings(loc);
      for (const k of ["launch", "launchActive", "loading", "failed"]) expect(t[k], `${loc}.${k}`).toBeTruthy();
      expect(t.friends(3)).toContain("3");
      expect(t.friends(1)).not.toContain("{n}");
    }
    expect(strings("de").launch).toBe("Mit Freunden shoppen");
    expect(strings("en").friends(2)).toBe("2 friends in your room");
  });
});

describe("start form strings", async () => {
  const { panelStrings } = await import("../src/widget/panel-strings.js");
  it("has the same keys in every language", () => {
    const keys = Object.keys(panelStrings("en")).sort();
    for (const loc of ["de", "fr", "es", "ar"]) expect(Object.keys(panelStrings(loc)).sort(), loc).toEqual(keys);
    expect(panelStrings("xx")).toBe(panelStrings("en"));
  });
});
