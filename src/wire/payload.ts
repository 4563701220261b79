/** Decode a payload as UTF-8. mqtt.js hands over Buffers already, so no copy or view is made for those. */
export function utf8(payload: Uint8Array): string {
  return Buffer.isBuffer(payload) ? payload.toString("utf8") : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
}
