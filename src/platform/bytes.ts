/**
 * UTF-8 and byte buffers for Node and browsers alike. In Node, payloads are Buffers and Buffer's own
 * methods are the fast path; in a browser (no `Buffer`) the standard `TextEncoder`/`TextDecoder` do the
 * same. Nothing here imports a Node module, so the client path can be bundled for a browser.
 */

/** Node's Buffer when there is one; never imported, so a bundler does not pull in a polyfill. */
const NodeBuffer: typeof Buffer | undefined = (globalThis as { Buffer?: typeof Buffer }).Buffer;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decode bytes as UTF-8 (invalid sequences become U+FFFD). A Buffer is decoded in place, without a copy. */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.byteLength): string {
  if (NodeBuffer !== undefined) {
    const buffer = NodeBuffer.isBuffer(bytes) ? bytes : NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return buffer.toString("utf8", start, end);
  }
  return decoder.decode(start === 0 && end === bytes.byteLength ? bytes : bytes.subarray(start, end));
}

/** `text` as UTF-8 bytes (a Buffer in Node). */
export function utf8Encode(text: string): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.from(text, "utf8") : encoder.encode(text);
}

/** How many bytes `text` takes in UTF-8 (a lone surrogate counts 3, as it is encoded as U+FFFD). */
export function utf8Length(text: string): number {
  if (NodeBuffer !== undefined) return NodeBuffer.byteLength(text, "utf8");
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/** An uninitialised byte array of `size` (a Buffer outside Node's pool in Node). */
export function allocBytes(size: number): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.allocUnsafeSlow(size) : new Uint8Array(size);
}

/** Write `text` as UTF-8 into `bytes` at `offset`, as much as fits whole; returns the bytes written. */
export function writeUtf8(bytes: Uint8Array, text: string, offset: number): number {
  if (NodeBuffer !== undefined && NodeBuffer.isBuffer(bytes)) return bytes.write(text, offset);
  return encoder.encodeInto(text, bytes.subarray(offset)).written;
}

/** A copy of `bytes` that owns its memory (a Buffer in Node). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.from(bytes) : bytes.slice();
}

/** Whether `value` is a Node Buffer; always false in a browser. */
export function isNodeBuffer(value: unknown): boolean {
  return NodeBuffer !== undefined && NodeBuffer.isBuffer(value);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}
