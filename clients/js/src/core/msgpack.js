// A small MessagePack encoder/decoder for the `cosession.v1.msgpack` subprotocol.
//
// Why not a library: maps decode into objects with no prototype, so any key (a member id,
// a reaction emoji such as "__proto__") is just a key: a general-purpose decoder that
// refuses or mangles such keys would let one member's reaction break every browser in the
// room. Integers take the smallest encoding, like the server's msgspec; integers beyond
// 2^53 (which JavaScript numbers cannot hold exactly) still encode as uint64/int64.
// test/msgpack.test.js checks it against protocol/vectors/codec.json and, as an oracle,
// against @msgpack/msgpack.

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export class MsgpackError extends Error {}

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }

  ensure(n) {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v) {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  head(type, size, v) {
    this.ensure(1 + size);
    this.buf[this.pos++] = type;
    if (size === 1) this.view.setUint8(this.pos, v);
    else if (size === 2) this.view.setUint16(this.pos, v);
    else if (size === 4) this.view.setUint32(this.pos, v);
    this.pos += size;
  }

  bytes(b) {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  int(v) {
    if (v >= 0) {
      if (v < 0x80) this.u8(v);
      else if (v < 0x100) this.head(0xcc, 1, v);
      else if (v < 0x10000) this.head(0xcd, 2, v);
      else if (v < 0x100000000) this.head(0xce, 4, v);
      else {
        this.ensure(9);
        this.buf[this.pos++] = 0xcf;
        this.view.setBigUint64(this.pos, BigInt(v));
        this.pos += 8;
      }
    } else if (v >= -32) this.u8(v & 0xff);
    else if (v >= -0x80) {
      this.ensure(2);
      this.buf[this.pos++] = 0xd0;
      this.view.setInt8(this.pos++, v);
    } else if (v >= -0x8000) {
      this.ensure(3);
      this.buf[this.pos++] = 0xd1;
      this.view.setInt16(this.pos, v);
      this.pos += 2;
    } else if (v >= -0x80000000) {
      this.ensure(5);
      this.buf[this.pos++] = 0xd2;
      this.view.setInt32(this.pos, v);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, BigInt(v));
      this.pos += 8;
    }
  }

  value(v, depth) {
    if (depth > 64) throw new MsgpackError("value nested too deeply");
    if (v === null || v === undefined) this.u8(0xc0);
    else if (v === false) this.u8(0xc2);
    else if (v === true) this.u8(0xc3);
    else if (typeof v === "number") {
      if (Number.isInteger(v) && Math.abs(v) <= 2 ** 64) this.int(v);
      else {
        this.ensure(9);
        this.buf[this.pos++] = 0xcb;
        this.view.setFloat64(this.pos, v);
        this.pos += 8;
      }
    } else if (typeof v === "string") {
      const b = textEncoder.encode(v);
      const n = b.length;
      if (n < 32) this.u8(0xa0 | n);
      else if (n < 0x100) this.head(0xd9, 1, n);
      else if (n < 0x10000) this.head(0xda, 2, n);
      else this.head(0xdb, 4, n);
      this.bytes(b);
    } else if (v instanceof Uint8Array) {
      const n = v.length;
      if (n < 0x100) this.head(0xc4, 1, n);
      else if (n < 0x10000) this.head(0xc5, 2, n);
      else this.head(0xc6, 4, n);
      this.bytes(v);
    } else if (Array.isArray(v)) {
      const n = v.length;
      if (n < 16) this.u8(0x90 | n);
      else if (n < 0x10000) this.head(0xdc, 2, n);
      else this.head(0xdd, 4, n);
      for (const item of v) this.value(item, depth + 1);
    } else if (typeof v === "object") {
      // keys whose value is undefined are left out (optional fields not set)
      const keys = Object.keys(v).filter((k) => v[k] !== undefined);
      const n = keys.length;
      if (n < 16) this.u8(0x80 | n);
      else if (n < 0x10000) this.head(0xde, 2, n);
      else this.head(0xdf, 4, n);
      for (const k of keys) {
        this.value(k, depth + 1);
        this.value(v[k], depth + 1);
      }
    } else {
      throw new MsgpackError(`cannot encode a ${typeof v}`);
    }
  }
}

/** Encode a value (objects, arrays, strings, numbers, booleans, null, Uint8Array). */
export function encode(value) {
  const w = new Writer();
  w.value(value, 0);
  return w.buf.slice(0, w.pos);
}

class Reader {
  constructor(bytes) {
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > this.buf.length) throw new MsgpackError("truncated frame");
  }

  u8() {
    this.need(1);
    return this.buf[this.pos++];
  }

  num(kind, size) {
    this.need(size);
    const p = this.pos;
    this.pos += size;
    const d = this.view;
    switch (kind) {
      case "u8":
        return d.getUint8(p);
      case "u16":
        return d.getUint16(p);
      case "u32":
        return d.getUint32(p);
      case "u64":
        return Number(d.getBigUint64(p));
      case "i8":
        return d.getInt8(p);
      case "i16":
        return d.getInt16(p);
      case "i32":
        return d.getInt32(p);
      case "i64":
        return Number(d.getBigInt64(p));
      case "f32":
        return d.getFloat32(p);
      default:
        return d.getFloat64(p);
    }
  }

  str(n) {
    this.need(n);
    const s = textDecoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  bin(n) {
    this.need(n);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  array(n, depth) {
    if (n > this.buf.length - this.pos) throw new MsgpackError("truncated frame");
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(n, depth) {
    if (n > this.buf.length - this.pos) throw new MsgpackError("truncated frame");
    const out = Object.create(null);
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string" && typeof key !== "number") throw new MsgpackError("map key is not a string");
      out[key] = this.value(depth + 1);
    }
    return out;
  }

  value(depth) {
    if (depth > 64) throw new MsgpackError("frame nested too deeply");
    const b = this.u8();
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b & 0x0f, depth);
    if (b < 0xa0) return this.array(b & 0x0f, depth);
    if (b < 0xc0) return this.str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.num("u8", 1));
      case 0xc5:
        return this.bin(this.num("u16", 2));
      case 0xc6:
        return this.bin(this.num("u32", 4));
      case 0xca:
        return this.num("f32", 4);
      case 0xcb:
        return this.num("f64", 8);
      case 0xcc:
        return this.num("u8", 1);
      case 0xcd:
        return this.num("u16", 2);
      case 0xce:
        return this.num("u32", 4);
      case 0xcf:
        return this.num("u64", 8);
      case 0xd0:
        return this.num("i8", 1);
      case 0xd1:
        return this.num("i16", 2);
      case 0xd2:
        return this.num("i32", 4);
      case 0xd3:
        return this.num("i64", 8);
      case 0xd9:
        return this.str(this.num("u8", 1));
      case 0xda:
        return this.str(this.num("u16", 2));
      case 0xdb:
        return this.str(this.num("u32", 4));
      case 0xdc:
        return this.array(this.num("u16", 2), depth);
      case 0xdd:
        return this.array(this.num("u32", 4), depth);
      case 0xde:
        return this.map(this.num("u16", 2), depth);
      case 0xdf:
        return this.map(this.num("u32", 4), depth);
      default:
        throw new MsgpackError(`unsupported type byte 0x${b.toString(16)}`);
    }
  }
}

/** Decode one value; maps become objects with no prototype. Throws MsgpackError. */
export function decode(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const r = new Reader(bytes);
  let value;
  try {
    value = r.value(0);
  } catch (err) {
    if (err instanceof MsgpackError) throw err;
    throw new MsgpackError(String(err && err.message ? err.message : err));
  }
  if (r.pos !== bytes.length) throw new MsgpackError("trailing bytes after the value");
  return value;
}
