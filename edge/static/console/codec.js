// Protobuf for the console: a small encoder and decoder that walk the generated
// schema (schema.js, from the proto descriptors), for the messages the console
// uses. Messages are plain objects keyed by the proto's field names; a oneof's
// chosen field is also named by a property of the oneof's name (frame.frame ===
// "events"). 64-bit integers become Numbers: seqs and milliseconds stay far below
// 2^53. Unknown fields are skipped, as proto3 asks.
import {SCHEMA} from "./schema.js";

const utf8in = new TextEncoder();
const utf8out = new TextDecoder();

class Writer {
  constructor() { this.bytes = []; }
  varint(n) {
    // Numbers past 2^32 cannot use bit operators: divide instead.
    if (n < 0) n = BigInt.asUintN(64, BigInt(Math.trunc(n)));
    if (typeof n === "bigint") {
      while (n > 127n) { this.bytes.push(Number(n & 127n) | 128); n >>= 7n; }
      this.bytes.push(Number(n));
      return;
    }
    n = Math.trunc(n);
    while (n > 127) { this.bytes.push((n % 128) | 128); n = Math.floor(n / 128); }
    this.bytes.push(n);
  }
  tag(number, wire) { this.varint(number * 8 + wire); }
  raw(array) { for (const b of array) this.bytes.push(b); }
  lengthDelimited(array) { this.varint(array.length); this.raw(array); }
  finish() { return Uint8Array.from(this.bytes); }
}

function encodeScalar(w, type, number, value) {
  switch (type) {
    case "string": w.tag(number, 2); w.lengthDelimited(utf8in.encode(value)); break;
    case "bytes": w.tag(number, 2); w.lengthDelimited(value); break;
    case "bool": w.tag(number, 0); w.varint(value ? 1 : 0); break;
    case "sint32": w.tag(number, 0); w.varint(((value << 1) ^ (value >> 31)) >>> 0); break;
    case "float": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, value, true);
      w.tag(number, 5); w.raw(b); break;
    }
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, value, true);
      w.tag(number, 1); w.raw(b); break;
    }
    default: w.tag(number, 0); w.varint(value);  // the varint integers and enums
  }
}

function isDefault(type, value) {
  if (type === "string") return value === "";
  if (type === "bytes") return value.length === 0;
  if (type === "bool") return value === false;
  return value === 0;
}

/** The bytes of ``value``, a message of type ``name``. */
export function encode(name, value) {
  const fields = SCHEMA[name];
  if (!fields) throw new Error("no message " + name);
  const w = new Writer();
  for (const [number, field, type, repeated, sub, oneof] of fields) {
    const v = value[field];
    if (v === undefined || v === null) continue;
    if (type === "map") {
      for (const [k, item] of Object.entries(v)) {
        w.tag(number, 2); w.lengthDelimited(encode(sub, {key: k, value: item}));
      }
    } else if (type === "message") {
      for (const item of repeated ? v : [v]) { w.tag(number, 2); w.lengthDelimited(encode(sub, item)); }
    } else if (repeated) {
      for (const item of v) encodeScalar(w, type, number, item);
    } else if (oneof || !isDefault(type, v)) {
      encodeScalar(w, type, number, v);
    }
  }
  return w.finish();
}

class Reader {
  constructor(bytes) { this.b = bytes; this.at = 0; }
  varint() {
    let result = 0, scale = 1, byte;
    do {
      if (this.at >= this.b.length) throw new Error("truncated varint");
      byte = this.b[this.at++];
      result += (byte & 127) * scale;
      scale *= 128;
    } while (byte & 128);
    return result;
  }
  slice(n) {
    if (this.at + n > this.b.length) throw new Error("truncated field");
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.slice(8);
    else if (wire === 2) this.slice(this.varint());
    else if (wire === 5) this.slice(4);
    else throw new Error("unsupported wire type " + wire);
  }
}

function decodeScalar(r, type, wire) {
  switch (type) {
    case "string": return utf8out.decode(r.slice(r.varint()));
    case "bytes": return r.slice(r.varint()).slice();
    case "bool": return r.varint() !== 0;
    case "float": return new DataView(r.slice(4).slice().buffer).getFloat32(0, true);
    case "double": return new DataView(r.slice(8).slice().buffer).getFloat64(0, true);
    case "sint32": { const n = r.varint(); return (n % 2) ? -(n + 1) / 2 : n / 2; }
    case "int32": case "int64": case "enum": {
      const n = r.varint();
      // Negative values arrive as 64-bit two's complement.
      return n >= 2 ** 63 ? n - 2 ** 64 : n;
    }
    default: void wire; return r.varint();
  }
}

function defaults(fields) {
  const out = {};
  for (const [, field, type, repeated, , oneof] of fields) {
    if (oneof) continue;
    if (type === "map") out[field] = {};
    else if (repeated) out[field] = [];
    else if (type === "message") out[field] = null;
    else if (type === "string") out[field] = "";
    else if (type === "bool") out[field] = false;
    else if (type === "bytes") out[field] = new Uint8Array(0);
    else out[field] = 0;
  }
  return out;
}

/** The message of type ``name`` held in ``bytes`` (a Uint8Array). */
export function decode(name, bytes) {
  const fields = SCHEMA[name];
  if (!fields) throw new Error("no message " + name);
  const byNumber = new Map(fields.map((f) => [f[0], f]));
  const out = defaults(fields);
  const r = new Reader(bytes);
  while (r.at < bytes.length) {
    const key = r.varint();
    const number = Math.floor(key / 8), wire = key % 8;
    const f = byNumber.get(number);
    if (!f) { r.skip(wire); continue; }
    const [, field, type, repeated, sub, oneof] = f;
    if (type === "map") {
      const entry = decode(sub, r.slice(r.varint()));
      out[field][entry.key] = entry.value;
    } else if (type === "message") {
      const value = decode(sub, r.slice(r.varint()));
      if (repeated) out[field].push(value); else out[field] = value;
    } else if (repeated && wire === 2 && type !== "string" && type !== "bytes") {
      const packed = new Reader(r.slice(r.varint()));  // a packed run of scalars
      while (packed.at < packed.b.length) out[field].push(decodeScalar(packed, type, 0));
    } else if (repeated) {
      out[field].push(decodeScalar(r, type, wire));
    } else {
      out[field] = decodeScalar(r, type, wire);
    }
    if (oneof) out[oneof] = field;
  }
  return out;
}
