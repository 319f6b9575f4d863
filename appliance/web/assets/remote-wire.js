// Switchboard remote control, the wire: the frames of appliance/wire
// (wire.go, messages.go) as remote.js reads and writes them.
"use strict";
// ---- the wire (appliance/wire: wire.go, messages.go, codec.go) ----

export const T = {
  HELLO: 1, WELCOME: 2, CLOSE: 3, PING: 4, PONG: 5, DEVICE_INFO: 10, CONSENT_ASK: 11, CONSENT_REPLY: 12,
  TILE: 21, FRAME_END: 22, FULL_FRAME: 23, COPY: 24, INPUT: 30, CLIPBOARD: 31,
  FILE_OFFER: 40, FILE_ANSWER: 41, FILE_CHUNK: 42, FILE_DONE: 43, FILE_CANCEL: 44
};
// VERSION is the protocol version (wire.Version) this script draws; the
// appliance refuses a page of another version when it connects.
export const VERSION = 3;
export const HEADER = 6;
export const MAX_CHUNK = 64 << 10;
export const MAX_CLIPBOARD = (256 << 10) - HEADER; // wire.MaxClipboard: a frame fits one data-channel message
export const MAX_NAME = 255;
export const MAX_REASON = 512;
// The largest payload of each type (wire.go maxLen); other types are skipped.
export const MAX_LEN = new Map([
  [T.HELLO, 1 << 10], [T.WELCOME, 4 << 10], [T.CLOSE, 4 << 10], [T.PING, 8], [T.PONG, 8],
  [T.DEVICE_INFO, 64 << 10], [T.CONSENT_ASK, 4 << 10], [T.CONSENT_REPLY, 32],
  [T.TILE, 1 << 20], [T.FRAME_END, 8], [T.FULL_FRAME, 0], [T.COPY, 12], [T.INPUT, 32], [T.CLIPBOARD, MAX_CLIPBOARD],
  [T.FILE_OFFER, 4 << 10], [T.FILE_ANSWER, 16], [T.FILE_CHUNK, MAX_CHUNK + 16], [T.FILE_DONE, 40],
  [T.FILE_CANCEL, 4 << 10]
]);
export const ENC = { RAW: 1, SOLID: 2, PALETTE: 3, DEFLATE: 4, JPEG: 5 };
export const IN = { MOVE: 1, BUTTON: 2, WHEEL: 3, KEY: 4 };
export const TWO32 = 4294967296;

export const utf8 = new TextEncoder();
export const utf8dec = new TextDecoder("utf-8", { fatal: true });

export class WireError extends Error {}

// utf8Cut returns the UTF-8 bytes of s, cut at a character to at most max.
export function utf8Cut(s, max) {
  const b = utf8.encode(s);
  if (b.length <= max) return b;
  let n = max;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return b.subarray(0, n);
}

// Writer builds one frame: header, then the fields in the order of the
// message's append method.
export class Writer {
  constructor(type, size) {
    this.b = new Uint8Array(HEADER + (size || 32));
    this.v = new DataView(this.b.buffer);
    this.n = HEADER;
    this.b[0] = type;
  }
  room(k) {
    if (this.n + k <= this.b.length) return;
    const b = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    b.set(this.b.subarray(0, this.n));
    this.b = b;
    this.v = new DataView(b.buffer);
  }
  u8(x) { this.room(1); this.b[this.n++] = x; return this; }
  u16(x) { this.room(2); this.v.setUint16(this.n, x); this.n += 2; return this; }
  u32(x) { this.room(4); this.v.setUint32(this.n, x >>> 0); this.n += 4; return this; }
  i32(x) { this.room(4); this.v.setInt32(this.n, x | 0); this.n += 4; return this; }
  u64(x) { return this.u32(Math.floor(x / TWO32)).u32(x % TWO32); }
  bytes(a) { this.room(a.length); this.b.set(a, this.n); this.n += a.length; return this; }
  // str writes a u16 length and the UTF-8 bytes, cut to max bytes.
  str(s, max) { const a = utf8Cut(s, max); return this.u16(a.length).bytes(a); }
  frame() {
    this.b[1] = 0;
    this.v.setUint32(2, this.n - HEADER);
    return this.b.subarray(0, this.n);
  }
}

// Reader reads a payload; every read is checked like wire's dec.
export class Reader {
  constructor(b) {
    this.b = b;
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.i = 0;
  }
  take(n, what) {
    if (this.i + n > this.b.length) throw new WireError(what + " is cut short");
    this.i += n;
    return this.b.subarray(this.i - n, this.i);
  }
  u8(what) { return this.take(1, what)[0]; }
  u16(what) { this.take(2, what); return this.v.getUint16(this.i - 2); }
  u32(what) { this.take(4, what); return this.v.getUint32(this.i - 4); }
  // u64 is exact up to 2^53, far beyond any size or offset here.
  u64(what) { const hi = this.u32(what); return hi * TWO32 + this.u32(what); }
  bool(what) {
    const x = this.u8(what);
    if (x > 1) throw new WireError(what + " is neither 0 nor 1");
    return x === 1;
  }
  str(what, max) {
    const n = this.u16(what + " length");
    if (n > max) throw new WireError(what + " is longer than " + max + " bytes");
    return text(this.take(n, what), what);
  }
  rest() { const r = this.b.subarray(this.i); this.i = this.b.length; return r; }
  end() { if (this.i !== this.b.length) throw new WireError((this.b.length - this.i) + " bytes left over"); }
}

export function text(bytes, what) {
  try {
    return utf8dec.decode(bytes);
  } catch (e) {
    throw new WireError(what + " is not UTF-8 text");
  }
}

export const encode = {
  // The relay fills in the technician's name and id from the viewer's grant.
  consentAsk: (what) => new Writer(T.CONSENT_ASK).str("", MAX_NAME).str(what, 16).u64(0).frame(),
  input: (kind, down, x, y, code) => new Writer(T.INPUT, 14).u8(kind).u8(down ? 1 : 0).i32(x).i32(y).u32(code).frame(),
  clipboard: (bytes) => new Writer(T.CLIPBOARD, bytes.length).bytes(bytes).frame(),
  // The relay fills in who offers it.
  fileOffer: (id, name, size) => new Writer(T.FILE_OFFER).u32(id).str(name, MAX_NAME).u64(size).str("", MAX_NAME).frame(),
  fileAnswer: (id, accept, offset) => new Writer(T.FILE_ANSWER, 13).u32(id).u8(accept ? 1 : 0).u64(offset).frame(),
  fileChunk: (id, offset, data) => new Writer(T.FILE_CHUNK, 12 + data.length).u32(id).u64(offset).bytes(data).frame(),
  fileDone: (id, sum) => new Writer(T.FILE_DONE, 36).u32(id).bytes(sum).frame(),
  fileCancel: (id, reason) => new Writer(T.FILE_CANCEL).u32(id).str(reason, MAX_REASON).frame(),
  pong: (nonce) => new Writer(T.PONG, 8).bytes(nonce).frame()
};
