// Fakes for the browser shell's tests: timers, a scripted WebSocket, the window's
// online/offline events.
import { decodeMessage, encodeMessage } from "../src/core/protocol.js";

export class FakeTimers {
  constructor() {
    this.t = 0;
    this.queue = [];
    this.ids = 0;
  }
  setTimeout = (fn, ms) => {
    const id = ++this.ids;
    this.queue.push({ id, at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (id) => {
    this.queue = this.queue.filter((x) => x.id !== id);
  };
  now = () => this.t;
  /** Run every timer due within `ms`. */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

export function fakeSocketClass(sockets, protocol) {
  return class FakeSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.protocol = protocol || protocols[0];
      this.sent = [];
      this.closed = false;
      this.closeArgs = null; // [code, reason] given to close()
      sockets.push(this);
    }
    send(data) {
      this.sent.push(decodeMessage(data));
    }
    close(code, reason) {
      this.closed = true;
      this.closeArgs = [code, reason];
    }
    open() {
      this.onopen && this.onopen();
    }
    deliver(msg) {
      this.onmessage && this.onmessage({ data: encodeMessage(msg).buffer });
    }
    drop(code = 1006, reason = "") {
      this.onclose && this.onclose({ code, reason });
    }
  };
}

/** window as far as the shell cares: navigator.onLine and the two events. */
export class FakeNetwork {
  constructor() {
    this.navigator = { onLine: true };
    this.listeners = new Map();
  }
  addEventListener(name, fn) {
    this.listeners.set(name, fn);
  }
  removeEventListener(name, fn) {
    if (this.listeners.get(name) === fn) this.listeners.delete(name);
  }
  set(online) {
    this.navigator.onLine = online;
    this.listeners.get(online ? "online" : "offline")?.();
  }
}
