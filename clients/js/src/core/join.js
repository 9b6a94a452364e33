// The join-by-name flow that the room page and the widget share: get a join token for a
// name (accept an invite, or create a room), remember it and the name, connect with it,
// and forget it when the server says that token will never get in again.
//
// Storage never throws here: with storage disabled (privacy mode, quota) joining still
// works, and a reload simply asks for the name again.

import { RoomConnection } from "./connection.js";

/** Refusals after which a remembered token is dropped (the user has to join again). */
export const FORGET_ON = new Set(["unauthorized", "token_expired", "kicked", "room_not_found", "forbidden", "room_closed"]);

/** Where the last name typed in is kept (shared by the room page and the widget). */
export const NAME_KEY = "cosession:name";

/** JSON values in a Storage (localStorage), behind a getter that may itself throw. */
export function safeStorage(get) {
  const storage = () => {
    try {
      return get() || null;
    } catch {
      return null;
    }
  };
  return {
    getItem(key) {
      try {
        return storage()?.getItem(key) ?? null;
      } catch {
        return null;
      }
    },
    setItem(key, text) {
      try {
        if (text === null) storage()?.removeItem(key);
        else storage()?.setItem(key, text);
      } catch {
        // quota or privacy mode: nothing to do
      }
    },
    load(key) {
      try {
        const raw = this.getItem(key);
        return raw ? JSON.parse(raw) : null;
      } catch {
        return null;
      }
    },
    save(key, value) {
      this.setItem(key, value === null || value === undefined ? null : JSON.stringify(value));
    },
  };
}

export class JoinFlow {
  /**
   * @param {object} opts
   * @param {string} opts.url          the server's WebSocket URL (…/v1/ws)
   * @param {string} opts.key          storage key of the remembered session
   * @param {object} opts.storage      safeStorage(…)
   * @param {Function} [opts.Connection] RoomConnection (tests pass another)
   */
  constructor({ url, key, storage, Connection = RoomConnection }) {
    this.url = url;
    this.key = key;
    this.storage = storage;
    this.Connection = Connection;
  }

  /** The last name typed in, "" if none. (Older room pages stored it as a JSON string.) */
  get savedName() {
    const raw = this.storage.getItem(NAME_KEY) || "";
    if (raw.startsWith('"')) {
      try {
        const name = JSON.parse(raw);
        if (typeof name === "string") return name;
      } catch {
        // a name that merely starts with a quote
      }
    }
    return raw;
  }

  /** The remembered session ({token, …}) or null. */
  get saved() {
    const s = this.storage.load(this.key);
    return s && typeof s === "object" && typeof s.token === "string" && s.token ? s : null;
  }

  /** Get a session for `name` with `obtain(name)` (a REST call resolving to an object with
   * a `token`), remember the name and the session, and return the session. Rejects with
   * obtain's error (nothing is stored then). */
  async join(name, obtain) {
    const session = await obtain(name);
    this.storage.setItem(NAME_KEY, name);
    this.storage.save(this.key, session);
    return session;
  }

  /** The submit handler of a join form: the name from `input`, `button` disabled while
   * `obtain` runs, a refusal shown in `error` (as `explain(err)` says it), the new session
   * handed to `then`. */
  onSubmit({ input, button, error, obtain, then, explain = (err) => err.message }) {
    return async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      button.disabled = true;
      error.textContent = "";
      try {
        then(await this.join(name, obtain));
      } catch (err) {
        error.textContent = explain(err);
        button.disabled = false;
      }
    };
  }

  /** Drop the remembered session. */
  forget() {
    this.storage.save(this.key, null);
  }

  /**
   * Connect with `session`. `setup(conn)` runs before joining (attach views, set focus);
   * `onJoined(conn)` once welcomed; `onForget(err)` after a refusal in FORGET_ON, once the
   * remembered session is dropped. Returns the connection.
   */
  connect(session, { setup, onJoined, onForget } = {}) {
    const conn = new this.Connection({ url: this.url, token: session.token });
    if (setup) setup(conn);
    conn.on("closed", (err) => {
      if (err && FORGET_ON.has(err.code)) {
        this.forget();
        if (onForget) onForget(err);
      }
    });
    conn.join().then(
      () => onJoined && onJoined(conn),
      () => {}, // a refusal: the "closed" listener above
    );
    return conn;
  }
}
