/**
 * Which member of a group takes a message every member received (a request on the plain topic under
 * `instances` routing, a notification delivered to one instance): the member a hash of the payload picks.
 * Every member hashes the same bytes, so exactly one runs it while they agree on who the members are.
 */
import { fnv1a } from "../wire/fnv1a.js";

/** Whether `self`, among `members` (sorted, `self` included), takes `payload`. */
export function picks(members: readonly string[], self: string, payload: Uint8Array): boolean {
  if (members.length === 1) return true;
  return members[spread(fnv1a(payload)) % members.length] === self;
}

/**
 * MurmurHash3's finalizer: every bit of the result depends on every bit of `hash`. FNV-1a's low bits alone
 * do not spread: its multiplier is odd, so its lowest bit is the parity of the bytes' lowest bits, and two
 * members would split requests by that parity (the same for every request of one shape).
 */
function spread(hash: number): number {
  let h = hash;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
