/**
 * SHA-256 of a string's UTF-8 bytes, as lower-case hex, synchronously and without `node:crypto`: a discovery
 * record's schema digest is computed where the record is built, in Node and in a browser alike (Web Crypto's
 * `subtle.digest` is asynchronous only, and missing outside secure contexts). @noble/hashes does the hashing.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { utf8Encode } from "./bytes.js";

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8Encode(text)));
}
