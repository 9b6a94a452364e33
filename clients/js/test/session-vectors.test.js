// The shared room-session vectors (protocol/vectors/session.json, docs/client-session.md):
// the pure JS session must return the Python session's outputs, output for output, and
// hold the same state, seq, epoch and pending refs after every input.
import { describe, expect, it } from "vitest";
import { Session } from "../src/core/session.js";
import { loadVectors, plain } from "./vectors.js";

const cases = loadVectors("session.json");

/** A random() that hands out `values` in order and fails when they run out. */
function draws(values) {
  let i = 0;
  const random = () => {
    if (i >= values.length) throw new Error(`the session drew more than the ${values.length} values of the case`);
    return values[i++];
  };
  random.used = () => i;
  return random;
}

/** Feed one JSON input to the session (the vectors' input format). */
function feed(session, input) {
  const now = input.now;
  switch (input.t) {
    case "start":
      return session.start(now);
    case "opened":
      return session.opened(now);
    case "frame":
      return session.received(now, structuredClone(input.msg));
    case "closed":
      return session.closed(now, input.code, input.reason, { final: !!input.final });
    case "tick":
      return session.tick(now);
    case "submit":
      return session.submit(now, input.ref, structuredClone(input.op));
    case "signal":
      return session.signal(now, structuredClone(input.msg));
    case "abandon":
      return session.abandon(now, input.ref);
    case "close":
      return session.close(now);
    default:
      throw new Error(`unknown input ${input.t}`);
  }
}

function after(session) {
  return { state: session.state, seq: session.room.seq, epoch: session.epoch, pending: [...session.pending.keys()] };
}

describe("session vectors (protocol/vectors/session.json)", () => {
  it("has the cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  for (const c of cases) {
    it(c.name, () => {
      const random = draws(c.random);
      const session = new Session(c.settings, random);
      c.steps.forEach((step, i) => {
        const out = plain(feed(session, step.in));
        expect(out, `step ${i} (${step.in.t} at ${step.in.now}): outputs`).toEqual(step.out);
        expect(after(session), `step ${i} (${step.in.t} at ${step.in.now}): after`).toEqual(step.after);
      });
      expect(random.used(), "random draws taken").toBe(c.random.length);
    });
  }
});
