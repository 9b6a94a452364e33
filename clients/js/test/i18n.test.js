// The room UI's string tables and formats: every locale has every key with the same
// placeholders and the plural forms its language needs, prices follow the shop's locale,
// server error codes map to messages, and every key the UI uses exists.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { errorKey, errorMessage } from "../src/core/errors.js";
import { LOCALES, TABLES, createI18n, dirOf, formatMoney, resolveLocale } from "../src/i18n/index.js";
import { avatarRgb, contrast } from "../src/ui/dom.js";

const nb = (s) => s.replace(/[\u00a0\u202f]/g, " ");
const vars = (v) => [...new Set((typeof v === "string" ? [v] : Object.values(v)).join(" ").match(/\{\w+\}/g) || [])].sort();

describe("string tables", () => {
  const en = TABLES.en;
  it("has en, de, fr, es and ar", () => {
    expect(LOCALES.sort()).toEqual(["ar", "de", "en", "es", "fr"]);
  });

  for (const lang of LOCALES) {
    it(`${lang} has every key, no extra key, the same placeholders`, () => {
      const table = TABLES[lang];
      expect(Object.keys(table).sort()).toEqual(Object.keys(en).sort());
      for (const [key, value] of Object.entries(en)) {
        expect(typeof table[key], key).toBe(typeof value);
        // a plural form may spell the count out ("one vote"), so {count} may be absent
        const want = vars(value).filter((x) => x !== "{count}");
        expect(vars(table[key]).filter((x) => x !== "{count}"), `${lang} ${key}`).toEqual(want);
        if (typeof value === "string") expect(table[key].trim(), key).not.toBe("");
      }
    });

    it(`${lang} plurals have "other" and every category integers select`, () => {
      const rules = new Intl.PluralRules(lang);
      const cats = new Set(Array.from({ length: 1001 }, (_, n) => rules.select(n)));
      for (const [key, value] of Object.entries(TABLES[lang])) {
        if (typeof value !== "object") continue;
        expect(value.other, `${lang} ${key}`).toBeDefined();
        // a list of typing names is a plain plural ("are typing") in every language
        if (key === "chat.typing") continue;
        for (const c of cats) expect(value[c], `${lang} ${key} ${c}`).toBeDefined();
      }
    });
  }

  it("picks plural forms by count", () => {
    const en = createI18n("en");
    expect(en.t("cart.badge", { count: 1 })).toBe("1 line in the cart");
    expect(en.t("cart.badge", { count: 3 })).toBe("3 lines in the cart");
    expect(en.t("cart.voteUp", { product: "Trail shoe", votes: en.t("cart.votes", { count: 3 }) })).toBe("Vote up for Trail shoe, 3 votes");
    const de = createI18n("de");
    expect(de.t("cart.votes", { count: 1 })).toBe("1 Stimme");
    expect(de.t("cart.votes", { count: 1234 })).toBe("1.234 Stimmen");
    const ar = createI18n("ar");
    expect(ar.t("cart.votes", { count: 0 })).toBe("لا أصوات");
    expect(ar.t("cart.votes", { count: 1 })).toBe("صوت واحد");
    expect(ar.t("cart.votes", { count: 2 })).toBe("صوتان");
    expect(ar.t("cart.votes", { count: 3 })).toContain("أصوات");
    expect(ar.t("cart.votes", { count: 11 })).toContain("صوتًا");
    expect(ar.t("cart.votes", { count: 100 })).toMatch(/صوت$/);
  });

  it("falls back to English for a missing key, and shows the key for an unknown one", () => {
    expect(createI18n("de").t("no.such.key")).toBe("no.such.key");
  });
});

describe("locale and direction", () => {
  it("resolves the first locale it has a table for, else English", () => {
    expect(resolveLocale("de-AT")).toBe("de-AT");
    expect(resolveLocale("pt-BR", "fr")).toBe("fr");
    expect(resolveLocale(undefined, "", "de_CH")).toBe("de-CH");
    expect(resolveLocale("xx", "not a tag!!")).toBe("en");
    expect(resolveLocale()).toBe("en");
  });
  it("Arabic is right-to-left", () => {
    expect(dirOf("ar")).toBe("rtl");
    expect(createI18n("ar-EG").dir).toBe("rtl");
    expect(dirOf("de")).toBe("ltr");
  });
});

describe("prices in the shop's locale", () => {
  it("formats euros the German way", () => {
    expect(nb(formatMoney(123450, "EUR", "de"))).toBe("1.234,50 €");
    expect(nb(createI18n("de-DE").money(123450, "EUR"))).toBe("1.234,50 €");
  });
  it("formats the same price for English, French and Spanish shops", () => {
    expect(formatMoney(123450, "EUR", "en")).toBe("€1,234.50");
    expect(nb(formatMoney(123450, "EUR", "fr"))).toBe("1 234,50 €");
    expect(nb(formatMoney(123450, "EUR", "es"))).toBe("1234,50 €");
  });
  it("uses the currency's own decimals", () => {
    expect(formatMoney(1500, "JPY", "en")).toBe("¥1,500");
  });
  it("survives an unknown currency", () => {
    expect(formatMoney(199, "??", "de")).toBe("1.99 ??");
  });
});

describe("server error codes", () => {
  const spec = readFileSync(join(__dirname, "../../../protocol/SPEC.md"), "utf8");
  const section = spec.slice(spec.indexOf("## 9. Error codes"), spec.indexOf("## 10."));
  const codes = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);

  it("every SPEC §9 code has a message of its own in every locale", () => {
    expect(codes.length).toBeGreaterThan(15);
    for (const code of codes) {
      const key = errorKey({ code, message: "raw english" });
      expect(key, code).not.toBe("error.generic");
      for (const lang of LOCALES) expect(TABLES[lang][key], `${lang} ${key}`).toBeTruthy();
    }
  });

  it("never shows the server's message", () => {
    const t = createI18n("de").t;
    expect(errorMessage({ code: "cart_full", message: "cart is full (200 lines)" }, t)).toBe("Der Warenkorb ist voll.");
    expect(errorMessage({ code: "brand_new_code", message: "raw" }, t)).toBe(TABLES.de["error.generic"]);
    expect(errorMessage({ status: 410, code: "gone", message: "raw" }, t)).toBe(TABLES.de["error.invite_gone"]);
    expect(errorMessage(new Error("boom"), t)).toBe(TABLES.de["error.generic"]);
  });
});

describe("the UI's keys exist", () => {
  it("every t(\"…\") key used in src/ui, src/room-page, src/call and src/console is in the English table", () => {
    const dirs = ["../src/ui", "../src/room-page", "../src/call", "../src/console"].map((d) => join(__dirname, d));
    const used = new Set();
    for (const dir of dirs) {
      for (const file of readdirSync(dir)) {
        const src = readFileSync(join(dir, file), "utf8");
        for (const m of src.matchAll(/\bt\("([\w.]+)"/g)) used.add(m[1]);
      }
    }
    expect(used.size).toBeGreaterThan(40);
    for (const key of used) expect(TABLES.en[key], key).toBeDefined();
  });
});

describe("avatar colours", () => {
  it("white initials reach 4.5:1 on every hue", () => {
    for (let h = 0; h < 360; h++) expect(contrast(avatarRgb(h), [255, 255, 255]), `hue ${h}`).toBeGreaterThanOrEqual(4.5);
  });
});
