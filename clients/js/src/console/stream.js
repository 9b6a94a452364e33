// The queue's Server-Sent Events stream, read with fetch() (EventSource cannot send the
// associate token as a Bearer header): a pure incremental parser of the text/event-stream
// format, and a stream that reconnects with backoff and resumes with Last-Event-ID (a node
// restart loses nothing), treats a silent connection as dead (no heartbeat), and stops for
// good when the token is refused.

/** Incremental SSE parser: feed(text) returns the complete events [{event, data, id}]. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
    this.retry = null;
  }

  feed(text) {
    this.buffer += text;
    const out = [];
    let nl;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const skip = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      // a lone \r at the very end may be the first half of \r\n: wait for more
      if (skip === 1 && this.buffer[nl] === "\r" && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + skip);
      if (line === "") {
        if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: the heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id" && !value.includes("\0")) this.id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    }
    return out;
  }
}

/** Delay before reconnect attempt `n` (0, 1, …): exponential from `base`, capped, with
 * up to 50 % jitter from `random()`. */
export function backoffDelay(n, { base = 250, cap = 5000 } = {}, random = Math.random) {
  const full = Math.min(cap, base * 2 ** Math.min(n, 16));
  return Math.round(full / 2 + (full / 2) * random());
}

/**
 * QueueStream({url, token, lastEventId, onEvent(kind, data, id), onStatus(status),
 * onRefused(status, code)}): status is "connecting" | "live" | "reconnecting" | "stopped".
 * `fetch` and `timers` are injectable (tests).
 */
export class QueueStream {
  constructor(opts) {
    this.url = opts.url;
    this.token = opts.token;
    this.lastEventId = opts.lastEventId || null;
    this.onEvent = opts.onEvent || (() => {});
    this.onStatus = opts.onStatus || (() => {});
    this.onRefused = opts.onRefused || (() => {});
    this.fetch = opts.fetch || ((...a) => globalThis.fetch(...a));
    this.deadAfter = opts.deadAfter || 45000; // no byte (not even a heartbeat) for this long: reconnect
    this.backoff = opts.backoff || { base: 250, cap: 5000 };
    this.random = opts.random || Math.random;
    const t = opts.timers || {};
    this._setTimeout = t.setTimeout || ((fn, ms) => setTimeout(fn, ms));
    this._clearTimeout = t.clearTimeout || ((id) => clearTimeout(id));
    this.status = "idle";
    this.attempt = 0;
    this.stopped = false;
    this._ctrl = null;
    this._watchdog = null;
    this._retryTimer = null;
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this._clearTimeout(this._watchdog);
    this._clearTimeout(this._retryTimer);
    if (this._ctrl) this._ctrl.abort();
    this._set("stopped");
  }

  _set(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  _arm() {
    this._clearTimeout(this._watchdog);
    this._watchdog = this._setTimeout(() => this._ctrl && this._ctrl.abort(), this.deadAfter);
  }

  async _connect() {
    if (this.stopped) return;
    this._set(this.attempt === 0 && this.status !== "live" ? "connecting" : "reconnecting");
    const ctrl = (this._ctrl = new AbortController());
    const headers = { authorization: `Bearer ${this.token}`, accept: "text/event-stream" };
    if (this.lastEventId) headers["last-event-id"] = this.lastEventId;
    let response;
    try {
      this._arm();
      response = await this.fetch(this.url, { headers, signal: ctrl.signal, cache: "no-store", credentials: "omit" });
    } catch {
      return this._retry();
    }
    if (response.status === 401 || response.status === 403) {
      let code = "unauthorized";
      try {
        const body = await response.json();
        code = (body && body.error && body.error.code) || code;
      } catch {
        // no JSON body
      }
      this.stop();
      this.onRefused(response.status, code);
      return;
    }
    if (!response.ok || !response.body) return this._retry();
    const parser = new SseParser();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    this.attempt = 0;
    this._set("live");
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this._arm();
        for (const ev of parser.feed(decoder.decode(value, { stream: true }))) {
          if (ev.id !== null) this.lastEventId = ev.id;
          let data = null;
          try {
            data = JSON.parse(ev.data);
          } catch {
            continue;
          }
          this.onEvent(ev.event, data, ev.id);
        }
        if (parser.retry !== null) this.backoff = { ...this.backoff, base: parser.retry };
      }
    } catch {
      // aborted (watchdog or stop) or the connection broke
    }
    this._retry();
  }

  _retry() {
    this._clearTimeout(this._watchdog);
    if (this.stopped) return;
    this._set("reconnecting");
    const delay = backoffDelay(this.attempt++, this.backoff, this.random);
    this._retryTimer = this._setTimeout(() => this._connect(), delay);
  }
}
