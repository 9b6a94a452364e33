// The join-by-name flow shared by the room page and the widget (src/core/join.js).
import { describe, expect, it } from "vitest";
import { FORGET_ON, JoinFlow, NAME_KEY, safeStorage } from "../src/core/join.js";
import { ClosedError } from "../src/core/connection.js";

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

/** A connection that records what the flow did with it; `settle` ends its join. */
function fakeConnectionClass(made) {
  return class FakeConnection {
    constructor(opts) {
      this.opts = opts;
      this.handlers = new Map();
      this.calls = [];
      made.push(this);
    }
    on(name, fn) {
      this.calls.push(`on:${name}`);
      this.handlers.set(name, fn);
      return () => {};
    }
    join() {
      this.calls.push("join");
      return new Promise((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve(this))));
    }
    close(err) {
      this.handlers.get("closed")?.(err);
    }
  };
}

function setup() {
  const mem = new MemoryStorage();
  const made = [];
  const flow = new JoinFlow({ url: "ws://x/v1/ws", key: "cosession:invite:abc", storage: safeStorage(() => mem), Connection: fakeConnectionClass(made) });
  return { mem, made, flow };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("JoinFlow", () => {
  it("obtains a token for a name, remembers name and session, and connects with it", async () => {
    const { mem, made, flow } = setup();
    expect(flow.saved).toBeNull();
    expect(flow.savedName).toBe("");
    const session = await flow.join("Pat", async (name) => ({ token: `tok-${name}`, member: "m1", room: "r1" }));
    expect(session).toEqual({ token: "tok-Pat", member: "m1", room: "r1" });
    expect(flow.savedName).toBe("Pat");
    expect(mem.getItem(NAME_KEY)).toBe("Pat");
    expect(JSON.parse(mem.getItem("cosession:invite:abc"))).toEqual(session);
    expect(flow.saved).toEqual(session);

    let setUp = null;
    let joined = null;
    const conn = flow.connect(flow.saved, { setup: (c) => (setUp = c), onJoined: (c) => (joined = c) });
    expect(made).toEqual([conn]);
    expect(conn.opts).toEqual({ url: "ws://x/v1/ws", token: "tok-Pat" });
    expect(setUp).toBe(conn);
    expect(conn.calls).toEqual(["on:closed", "join"]); // setup ran before the join
    conn.settle(null);
    await flush();
    expect(joined).toBe(conn);
  });

  it("stores nothing when the token cannot be obtained", async () => {
    const { mem, flow } = setup();
    const refused = Object.assign(new Error("room full"), { status: 409 });
    await expect(flow.join("Pat", async () => Promise.reject(refused))).rejects.toBe(refused);
    expect(mem.map.size).toBe(0);
  });

  it("forgets the remembered session on a final refusal, and only then", async () => {
    const { flow, made } = setup();
    await flow.join("Pat", async () => ({ token: "t" }));
    const forgotten = [];
    const conn = flow.connect(flow.saved, { onForget: (err) => forgotten.push(err.code) });
    conn.close(new ClosedError(1000, "closed by the client")); // leaving keeps nothing to forget
    expect(flow.saved).not.toBeNull();
    expect(forgotten).toEqual([]);
    const kicked = new ClosedError(4003, "you were removed", "kicked");
    conn.settle(kicked); // join() rejects: handled, no unhandled rejection
    conn.close(kicked);
    expect(forgotten).toEqual(["kicked"]);
    expect(flow.saved).toBeNull();
    expect(flow.savedName).toBe("Pat"); // the name stays
    expect(made).toHaveLength(1);
    await flush();
  });

  it("forgets on each refusal that no retry can cure", () => {
    expect([...FORGET_ON].sort()).toEqual(["forbidden", "kicked", "room_closed", "room_not_found", "token_expired", "unauthorized"]);
  });

  it("reads a name stored as JSON by older room pages", () => {
    const { mem, flow } = setup();
    mem.setItem(NAME_KEY, JSON.stringify("Ana"));
    expect(flow.savedName).toBe("Ana");
    mem.setItem(NAME_KEY, '"quoted');
    expect(flow.savedName).toBe('"quoted');
  });

  it("ignores a remembered session without a token, or not JSON", () => {
    const { mem, flow } = setup();
    mem.setItem("cosession:invite:abc", JSON.stringify({ member: "m" }));
    expect(flow.saved).toBeNull();
    mem.setItem("cosession:invite:abc", "{not json");
    expect(flow.saved).toBeNull();
  });

  it("works with storage disabled or throwing", async () => {
    const throwing = {
      getItem() {
        throw new Error("SecurityError");
      },
      setItem() {
        throw new Error("QuotaExceededError");
      },
      removeItem() {
        throw new Error("SecurityError");
      },
    };
    for (const get of [() => null, () => throwing, () => { throw new Error("no localStorage"); }]) {
      const flow = new JoinFlow({ url: "ws://x/v1/ws", key: "k", storage: safeStorage(get), Connection: fakeConnectionClass([]) });
      const s = await flow.join("Pat", async () => ({ token: "t" }));
      expect(s.token).toBe("t");
      expect(flow.saved).toBeNull();
      expect(flow.savedName).toBe("");
      flow.forget();
    }
  });

  it("drives a join form: name from the input, button disabled meanwhile, refusal shown", async () => {
    const { flow } = setup();
    const input = { value: "  Pat  " };
    const button = { disabled: false };
    const error = { textContent: "old" };
    const ev = { prevented: false, preventDefault() { this.prevented = true; } };
    const started = [];
    let release;
    const obtained = new Promise((r) => (release = r));
    const submit = flow.onSubmit({ input, button, error, obtain: () => obtained, then: (s) => started.push(s) });
    const running = submit(ev);
    expect(ev.prevented).toBe(true);
    expect(button.disabled).toBe(true);
    expect(error.textContent).toBe("");
    release({ token: "t" });
    await running;
    expect(started).toEqual([{ token: "t" }]);
    expect(flow.savedName).toBe("Pat"); // trimmed
    expect(button.disabled).toBe(true); // the form is replaced by the room

    const refused = flow.onSubmit({
      input,
      button: (button.disabled = false, button),
      error,
      obtain: async () => Promise.reject(Object.assign(new Error("x"), { status: 0 })),
      then: () => started.push("no"),
      explain: (err) => (err.status === 0 ? "Cannot reach" : err.message),
    });
    await refused(ev);
    expect(error.textContent).toBe("Cannot reach");
    expect(button.disabled).toBe(false);
    expect(started).toHaveLength(1);

    input.value = "   ";
    let asked = false;
    await flow.onSubmit({ input, button, error, obtain: async () => ((asked = true), { token: "u" }), then: () => {} })(ev);
    expect(asked).toBe(false); // an empty name asks nothing
  });
});
