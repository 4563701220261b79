/** 32-bit FNV-1a of the bytes, as an unsigned number: a cheap fingerprint, not a defence against forgery. */
export function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}
