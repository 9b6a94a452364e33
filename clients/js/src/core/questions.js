// Mentions and questions (protocol/SPEC.md section 16), as protocol/questions.py: the rules
// (20–26) and effects the reducer delegates to, and the questions open for a member.

import { ERASED_TEXT } from "./reducer.js";

export const QUESTIONS_KEEP = 200;
export const MAX_ANSWERS = 50;
export const MAX_OPEN_ASKED = 20;

/** The question asked at seq `id`, if the state still holds it (questions are in id order). */
export function findQuestion(state, id) {
  const list = state.questions;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length && list[lo].id === id ? list[lo] : null;
}

/** Neither answered nor closed. */
export function isWaiting(question) {
  return !question.closed && !question.answers.length;
}

/** Questions to `member` that are not closed and that `member` has not answered, oldest first. */
export function openQuestionsFor(state, member) {
  return state.questions.filter(
    (q) => q.to.includes(member) && !q.closed && !q.answers.some((a) => a.by === member),
  );
}

// Rule 20: every mentioned id is a member of the room (kicked ones too), once.
export function checkMentions(state, mentions) {
  if (new Set(mentions).size !== mentions.length) return { code: "invalid_field", message: "a member is mentioned twice" };
  for (const m of mentions) {
    if (!Object.hasOwn(state.members, m)) return { code: "invalid_field", message: `mentioned member ${m} is not in the room` };
  }
  return null;
}

// Rules 21–26 (protocol/questions.py check_question).
export function checkQuestion(state, by, op) {
  if (op.t === "question.ask") {
    if (new Set(op.to).size !== op.to.length) return { code: "invalid_field", message: "a member is asked twice" };
    for (const m of op.to) {
      const info = Object.hasOwn(state.members, m) ? state.members[m] : null;
      if (m === by || !info || info.kicked || info.role === "viewer") {
        return { code: "invalid_field", message: `${m} cannot be asked (not another member who may answer)` };
      }
    }
    if (op.line != null && !state.cart.some((item) => item.line === op.line)) return { code: "not_found", message: `cart line ${op.line} is gone` };
    let waiting = 0;
    for (const q of state.questions) if (q.by === by && isWaiting(q)) waiting++;
    if (waiting >= MAX_OPEN_ASKED) {
      return { code: "forbidden", message: `at most ${MAX_OPEN_ASKED} of your questions may wait for an answer` };
    }
    return null;
  }
  const question = findQuestion(state, op.question);
  if (!question) return { code: "not_found", message: `question ${op.question} is gone` };
  if (question.closed) return { code: "question_closed", message: `question ${op.question} is closed` };
  if (op.t === "question.close") {
    if (by !== question.by && by !== state.owner) {
      return { code: "forbidden", message: "only the asker or the room owner can close a question" };
    }
  } else if (question.answers.length >= MAX_ANSWERS) {
    return { code: "forbidden", message: `a question holds at most ${MAX_ANSWERS} answers` };
  }
  return null;
}

/** The effect of an accepted `question.*` event (rules already passed). */
export function applyQuestion(state, event) {
  const op = event.op;
  if (op.t === "question.ask") {
    state.questions.push({
      id: event.seq,
      by: event.by,
      ts: event.ts,
      to: [...op.to],
      text: op.text,
      product: op.product ?? null,
      line: op.line ?? null,
      answers: [],
      closed: false,
    });
    if (state.questions.length > QUESTIONS_KEEP) state.questions.splice(0, state.questions.length - QUESTIONS_KEEP);
  } else if (op.t === "question.answer") {
    findQuestion(state, op.question).answers.push({ seq: event.seq, by: event.by, ts: event.ts, text: op.text });
  } else {
    findQuestion(state, op.question).closed = true;
  }
}

/** member.erase: the texts of the member's questions (and their product) and answers. */
export function eraseQuestions(state, member) {
  for (const q of state.questions) {
    if (q.by === member) {
      q.text = ERASED_TEXT;
      q.product = null;
    }
    for (const a of q.answers) if (a.by === member) a.text = ERASED_TEXT;
  }
}

/** Ids of the chat messages in the state that mention `member`. */
export function mentionsOf(state, member) {
  return state.chat.filter((m) => m.mentions && m.mentions.includes(member)).map((m) => m.id);
}
