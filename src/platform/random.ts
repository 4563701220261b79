/**
 * Random ids from the Web Crypto API (`globalThis.crypto`), which Node 20+ and every browser have, so
 * the runtime needs no `node:crypto` to make client ids, request ids and probes.
 */
import { toHex } from "./bytes.js";

/** `size` random bytes from a cryptographically strong source. */
export function randomBytes(size: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(size));
}

/** `size` random bytes as lower-case hex (2 × `size` characters). */
export function randomHex(size: number): string {
  return toHex(randomBytes(size));
}

/**
 * A random (version 4) UUID. `crypto.randomUUID` exists in browsers only in secure contexts (https:,
 * localhost), so a page served over plain http from another host builds it from random bytes instead.
 */
export function randomUuid(): string {
  if (typeof globalThis.crypto.randomUUID === "function") return globalThis.crypto.randomUUID();
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
