// The room session (src/core/session.js) is sans-I/O: neither it nor anything it imports
// touches a socket, a timer, the network or a browser API; and it reads no clock and no
// randomness of its own (the shell passes `now` and a random function).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const core = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "core");

/** I/O and browser globals no module under the session may name. */
const IO = ["WebSocket", "window", "document", "navigator", "setTimeout", "setInterval", "clearTimeout", "fetch", "XMLHttpRequest", "localStorage", "addEventListener", "EventTarget", "globalThis", "process", "require"];
/** Besides, the session itself reads no clock and draws no randomness. */
const IMPURE = ["Date", "performance", "Math.random", "crypto"];

/** Source without comments and string contents (so prose and messages do not count). */
function code(path) {
  const src = readFileSync(path, "utf8");
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, (m) =>
    m.startsWith("/") ? "" : '""',
  );
}

function importsOf(path) {
  const src = readFileSync(path, "utf8");
  const found = [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']/g];
  return found.flatMap((re) => [...src.matchAll(re)].map((m) => m[1]));
}

/** Every module the session loads, itself included (relative imports only are allowed). */
function closure(entry) {
  const seen = new Set();
  const todo = [entry];
  while (todo.length) {
    const path = todo.pop();
    if (seen.has(path)) continue;
    seen.add(path);
    for (const spec of importsOf(path)) {
      expect(spec.startsWith("./"), `${path} imports ${spec}`).toBe(true);
      todo.push(resolve(dirname(path), spec));
    }
  }
  return [...seen];
}

/** Does `text` name `name`, alone or as a property (`globalThis.fetch`)? */
const uses = (text, name) => new RegExp(`(^|[^\\w$])${name.replace(".", "\\.")}(?![\\w$])`).test(text);

describe("session purity", () => {
  const entry = join(core, "session.js");
  const modules = closure(entry);

  it("loads only the pure core modules", () => {
    expect(modules.map((p) => p.slice(core.length + 1)).sort()).toEqual(["call-memory.js", "msgpack.js", "ops.js", "polls.js", "protocol.js", "qa.js", "questions.js", "reducer.js", "session.js"]);
  });

  for (const path of modules) {
    it(`${path.slice(core.length + 1)} names no socket, timer or browser API`, () => {
      const text = code(path);
      expect(IO.filter((name) => uses(text, name))).toEqual([]);
    });
  }

  it("session.js reads no clock and draws no randomness", () => {
    const text = code(entry);
    expect(IMPURE.filter((name) => uses(text, name))).toEqual([]);
  });

  it("the checker sees those names where they are used", () => {
    const shell = code(join(core, "connection.js"));
    expect(["WebSocket", "setTimeout", "Date", "Math.random", "window"].filter((n) => uses(shell, n))).toEqual(["WebSocket", "setTimeout", "Date", "Math.random", "window"]);
  });
});
