// Product Q&A in the room reducer (SPEC section 19): the same rules and effects as
// protocol/qa_fold.py. reducer.js calls these; test/reducer.test.js checks them against
// protocol/vectors/reducer.json.

export const QA_KEEP = 100;
export const QA_ERASED_TEXT = "[erased]";

export function findAnswer(state, answer) {
  for (const item of state.qa) if (item.kind === "answer" && item.answer === answer) return item;
  return null;
}

/** Rules of the server-only qa.answer / qa.hide (checked before the membership rules). */
export function checkQaServer(state, by, op) {
  if (by !== "") return { code: "forbidden", message: `${op.t} is a server event` };
  const found = findAnswer(state, op.answer);
  if (op.t === "qa.answer") return found ? { code: "forbidden", message: `answer ${op.answer} is already in the room` } : null;
  return found ? null : { code: "not_found", message: `answer ${op.answer} is not in the room` };
}

function item(i) {
  return {
    id: i.id,
    kind: i.kind,
    ts: i.ts,
    product_id: i.product_id,
    text: i.text,
    by: i.by || "",
    product: i.product ?? null,
    thread: i.thread || "",
    answer: i.answer || "",
    name: i.name || "",
    hidden: !!i.hidden,
  };
}

export function qaFromWire(list) {
  return (list || []).map(item);
}

export function qaToWire(list) {
  return list.map((i) => {
    const out = { id: i.id, kind: i.kind, ts: i.ts, product_id: i.product_id, text: i.text };
    if (i.by) out.by = i.by;
    if (i.product) out.product = i.product;
    if (i.thread) out.thread = i.thread;
    if (i.answer) out.answer = i.answer;
    if (i.name) out.name = i.name;
    if (i.hidden) out.hidden = true;
    return out;
  });
}

/** The effect of an accepted qa.ask / qa.answer / qa.hide. */
export function applyQa(state, event) {
  const op = event.op;
  if (op.t === "qa.hide") {
    const found = findAnswer(state, op.answer);
    found.hidden = true;
    found.text = "";
    found.name = "";
    return;
  }
  if (op.t === "qa.ask") {
    state.qa.push(item({ id: event.seq, kind: "ask", ts: event.ts, product_id: op.product.id, text: op.text, by: event.by, product: op.product }));
  } else {
    state.qa.push(item({ id: event.seq, kind: "answer", ts: event.ts, product_id: op.product_id, text: op.text, thread: op.thread, answer: op.answer, name: op.name }));
  }
  if (state.qa.length > QA_KEEP) state.qa.splice(0, state.qa.length - QA_KEEP);
}

/** member.erase: the text of the member's asks becomes a tombstone. */
export function scrubQa(state, member) {
  for (const i of state.qa) if (i.kind === "ask" && i.by === member) i.text = QA_ERASED_TEXT;
}
