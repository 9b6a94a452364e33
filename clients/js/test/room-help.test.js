// Help from a store associate in the JS core and the room view's model: the help.request op
// and its validation, the reducer's help state (the same as protocol/reducer.py: the help
// cases of protocol/vectors/reducer.json run in reducer.test.js), what the bar says in
// every locale, who may ask and close, and what the announcer says. (The DOM side runs in
// Chromium: tests/browser/test_help_ui.py.)
import { describe, expect, it } from "vitest";
import { ops, validateOp } from "../src/core/protocol.js";
import { activeHelp, checkRules, fold, fromWire, toWire } from "../src/core/reducer.js";
import { httpBaseFor } from "../src/core/rest.js";
import { LOCALES, createI18n } from "../src/i18n/index.js";
import { canAsk, canClose, helpNews, helpSnapshot, helpStatus, helpWhere } from "../src/ui/room-help.js";

const names = { ana: "Ana", bo: "Bo", as_mia: "Mia" };
const nameOf = (m) => names[m] || "Someone";
const ev = (seq, by, op) => ({ t: "event", seq, ts: seq * 1000, by, op });
const room = [
  ev(1, "", { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" }),
  ev(2, "", { t: "member.join", member: "bo", name: "Bo", role: "member" }),
  ev(3, "", { t: "member.join", member: "vic", name: "Vic", role: "viewer" }),
];
const asked = [...room, ev(4, "bo", { t: "help.request", where: "in_store", department: "Shoes" })];
const claimed = [...asked, ev(5, "", { t: "help.claim", request: 4, associate: "as_mia", name: "Mia" })];

describe("help.request op", () => {
  it("builds and validates", () => {
    expect(ops.helpRequest("in_store", "Shoes")).toEqual({ t: "help.request", where: "in_store", department: "Shoes", note: undefined });
    expect(validateOp(ops.helpRequest())).toBeNull();
    expect(validateOp(ops.helpRequest("home"))).toMatch(/where/);
    expect(validateOp(ops.helpRequest("online", "d".repeat(101)))).toMatch(/100/);
    expect(validateOp(ops.helpRequest("online", undefined, "n".repeat(501)))).toMatch(/500/);
    expect(validateOp(ops.helpRequest("online", "a\u0000"))).toMatch(/NUL/);
  });

  it("one open request per room; viewers cannot ask; server ops only from the server", () => {
    const s = fold(asked);
    expect(checkRules(s, "ana", { t: "help.request" })).toEqual(expect.objectContaining({ code: "help_pending" }));
    expect(checkRules(fold(room), "vic", { t: "help.request" })).toEqual(expect.objectContaining({ code: "forbidden" }));
    expect(checkRules(s, "bo", { t: "help.close", request: 4, by: "bo" })).toEqual(expect.objectContaining({ code: "forbidden" }));
    const c = fold(claimed);
    expect(checkRules(c, "", { t: "help.claim", request: 4, associate: "as_leo", name: "Leo" })).toEqual(
      expect.objectContaining({ code: "already_claimed" }),
    );
    expect(activeHelp(c)).toEqual(expect.objectContaining({ id: 4, state: "claimed", associate_name: "Mia" }));
    expect(fromWire(toWire(c))).toEqual(c);
  });
});

describe("the help bar's model", () => {
  it("says where, waiting, escalated and who is helping, in every locale", () => {
    const en = createI18n("en");
    expect(helpStatus(fold(room), en).kind).toBe("none");
    expect(helpStatus(fold(asked), en, nameOf).text).toBe("Waiting for a store associate (in store: Shoes)");
    const esc = fold([...asked, ev(5, "", { t: "help.escalate", request: 4, level: 1 })]);
    expect(helpStatus(esc, en, nameOf).text).toMatch(/^Still waiting/);
    expect(helpStatus(fold(claimed), en, nameOf)).toEqual({ kind: "claimed", text: "Mia (associate) is helping", request: 4 });
    expect(helpWhere({ where: "online" }, en)).toBe("Online");
    for (const lang of LOCALES) {
      const i18n = createI18n(lang);
      const text = helpStatus(fold(claimed), i18n, nameOf).text;
      expect(text, lang).toContain("Mia");
      expect(text, lang).not.toMatch(/\{|help\./);
      expect(helpStatus(fold(asked), i18n, nameOf).text, lang).toContain("Shoes");
    }
  });

  it("who may ask and close", () => {
    const s = fold(claimed);
    expect(canAsk(fold(room), "bo")).toBe(true);
    expect(canAsk(fold(room), "vic")).toBe(false);
    expect(canAsk(fold([...room, ev(4, "", { t: "member.join", member: "as_mia", name: "Mia", role: "associate" })]), "as_mia")).toBe(false);
    expect(canClose(s, "bo")).toBe(true); // the requester
    expect(canClose(s, "ana")).toBe(true); // the owner
    expect(canClose(s, "as_mia")).toBe(true); // the helping associate
    expect(canClose(s, "vic")).toBe(false);
  });

  it("announces others' requests, the claim and the close, never our own request", () => {
    const en = createI18n("en");
    const before = helpSnapshot(fold(room));
    expect(helpNews(before, fold(asked), "ana", en, nameOf)).toEqual(["Bo asked for help (in store: Shoes)"]);
    expect(helpNews(before, fold(asked), "bo", en, nameOf)).toEqual([]);
    expect(helpNews(helpSnapshot(fold(asked)), fold(claimed), "bo", en, nameOf)).toEqual(["Mia (associate) is helping"]);
    const closed = fold([...claimed, ev(6, "", { t: "help.close", request: 4, by: "bo" })]);
    expect(helpNews(helpSnapshot(fold(claimed)), closed, "ana", en, nameOf)).toEqual(["The help request was closed"]);
    expect(helpNews(helpSnapshot(closed), closed, "ana", en, nameOf)).toEqual([]);
  });

  it("finds the REST base of a WebSocket URL", () => {
    expect(httpBaseFor("wss://rooms.example.com/v1/ws")).toBe("https://rooms.example.com");
    expect(httpBaseFor("ws://127.0.0.1:8080/v1/ws")).toBe("http://127.0.0.1:8080");
  });
});
