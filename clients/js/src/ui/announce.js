// Room view: polite announcements (a visually hidden live region) of what others do — a
// line added, a quantity changed, a line removed, someone joining or leaving, a checkout
// started, a line's price or stock changed by the catalog (room-retail.js), a poll started
// by someone else or closed (room-polls.js), a verified buyer's answer (room-qa.js), a
// question to me or an answer to one (room-questions.js) — found by
// comparing each render's cart and presence with the last. Our own edits (and anything
// present at the first render) are not announced; chat is a role=log of its own (a
// checkout note there is announced here only while the chat is not on screen).

import { setText } from "./dom.js";
import { pollNews, pollSnapshot } from "./room-polls.js";
import { qaNews, qaSnapshot } from "./room-qa.js";
import { questionNews, questionSnapshot } from "./room-questions.js";
import { helpNews, helpSnapshot } from "./room-help.js";
import { retailNews, retailSnapshot } from "./room-retail.js";

const MINE_MS = 3000;

export class Announcer {
  constructor(v) {
    this.v = v;
    this.lines = null; // line id → {qty, name}
    this.people = null; // member id → name
    this.retail = null; // checkouts seen, line prices and stock (retailSnapshot)
    this.polls = null; // poll id → closed? (pollSnapshot)
    this.qa = null; // verified buyers' answers shown (qaSnapshot)
    this.questions = null; // question id → answers seen (questionSnapshot)
    this.help = null; // help request id → state (helpSnapshot)
    this.mineUntil = new Map(); // edit key → until when our own edit is expected
    this.queue = [];
    this.timer = null;
  }

  /** An edit of ours (`q<line>` a quantity, `r<line>` a removal): not announced. */
  mine(key) {
    this.mineUntil.set(key, Date.now() + MINE_MS);
  }

  _isMine(key) {
    return (this.mineUntil.get(key) || 0) > Date.now();
  }

  update() {
    const { conn, t } = this.v;
    if (!conn.live && this.lines === null) return; // nothing known yet
    const lines = new Map(conn.state.cart.map((l) => [l.line, { qty: l.qty, name: l.product.name, id: l.product.id, by: l.added_by }]));
    const people = new Map([...conn.presence.values()].map((p) => [p.member, p.name]));
    if (this.lines !== null) {
      for (const [id, l] of lines) {
        const was = this.lines.get(id);
        if (!was) {
          if (l.by !== conn.member) this.say(t("announce.added", { name: this.v._name(l.by), product: l.name }));
        } else if (was.qty !== l.qty && !this._isMine(`q${id}`)) {
          this.say(t("announce.qty", { product: l.name, count: l.qty }));
        }
      }
      for (const [id, was] of this.lines) {
        if (!lines.has(id) && !this._isMine(`r${id}`)) this.say(t("announce.removed", { product: was.name }));
      }
      for (const [member, name] of people) {
        if (!this.people.has(member) && member !== conn.member) this.say(t("announce.joined", { name }));
      }
      for (const [member, name] of this.people) {
        if (!people.has(member) && member !== conn.member) this.say(t("cart.followLeft", { name }));
      }
      const chatShown = !this.v.el.panes.chat.hidden;
      for (const news of retailNews(this.retail, conn.state, conn.member, this.v.i18n, (m) => this.v._name(m))) {
        // a checkout note in the chat log on screen is read out by the log itself
        if (!(news.kind === "checkout" && chatShown)) this.say(news.text);
      }
      for (const text of pollNews(this.v, this.polls)) this.say(text);
      // a buyer's answer: read out by the chat log when it is on screen, else here
      if (!chatShown) for (const text of qaNews(this.qa, conn.state, this.v.i18n)) this.say(text);
      for (const text of helpNews(this.help, conn.state, conn.member, this.v.i18n, (m) => this.v._name(m))) this.say(text);
    }
    // questions to me and answers to them; at the first render, how many wait for me
    for (const text of questionNews(this.questions, conn.state, conn.member, (m) => this.v._name(m), t)) this.say(text);
    this.lines = lines;
    this.people = people;
    this.retail = retailSnapshot(conn.state);
    this.polls = pollSnapshot(conn.state);
    this.qa = qaSnapshot(conn.state);
    this.questions = questionSnapshot(conn.state);
    this.help = helpSnapshot(conn.state);
  }

  /** Queue a message; the region shows the latest batch (joined), then clears. */
  say(text) {
    this.queue.push(text);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      setText(this.v.el.announce, this.queue.join(". "));
      this.queue = [];
    }, 150);
  }
}
