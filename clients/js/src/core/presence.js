// Who is online and what they look at, kept from the welcome and the presence, focus,
// follow and typing messages the session delivers (pure: no I/O).

const withSignals = (p) => ({ ...p, focus: p.focus || null, following: p.following || null });

/** member -> {member, name, role, device, connections, focus, following}, from a welcome. */
export function presenceFrom(list) {
  return new Map((list || []).map((p) => [p.member, withSignals(p)]));
}

/** Apply one delivered message to `presence` (a Map) and `typing` (a Set of members).
 * Returns the events to emit, as [name, argument] pairs in order. */
export function applySignal(presence, typing, msg) {
  switch (msg.t) {
    case "presence": {
      const m = msg.member;
      const out = [];
      if (msg.kind === "leave") {
        presence.delete(m.member);
        typing.delete(m.member);
      } else {
        const before = presence.get(m.member);
        presence.set(m.member, withSignals(m));
        if (!before && msg.kind === "join") out.push(["member-joined", m]);
      }
      out.push(["presence", presence]);
      return out;
    }
    case "focus": {
      const p = presence.get(msg.member);
      if (p) p.focus = msg.product || null;
      return [["focus", { member: msg.member, product: msg.product || null }], ["presence", presence]];
    }
    case "follow": {
      const p = presence.get(msg.member);
      if (p) p.following = msg.target || null;
      return [["follow", { member: msg.member, target: msg.target || null }], ["presence", presence]];
    }
    case "typing":
      if (msg.on) typing.add(msg.member);
      else typing.delete(msg.member);
      return [["typing", typing]];
    case "signal": // a relayed offer/answer/candidate/bye for this call connection (SPEC section 14)
      return [["signal", msg]];
    case "call": // the call's roster and mode
      return [["call", { mode: msg.mode, members: msg.members || [] }]];
    default:
      return [];
  }
}
