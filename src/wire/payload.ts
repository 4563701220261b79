/** Decode a payload as UTF-8. mqtt.js hands over Buffers already, so no copy or view is made for those. */
export function utf8(payload: Uint8Array): string {
  return Buffer.isBuffer(payload) ? payload.toString("utf8") : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
}

/**
 * Parse JSON from the network with prototype keys made inert. `JSON.parse` keeps a `"__proto__"` key as
 * an own property, which `Object.assign`, spreads into class instances and naive deep merges then turn
 * into a prototype the sender chose; a `"constructor": { "prototype": … }` pair reaches `Object.prototype`
 * through such merges. Both are removed, at any depth. Payloads without those words (nearly all) are
 * not walked.
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (text.includes("__proto__") || text.includes("prototype")) dropPrototypeKeys(value);
  return value;
}

function dropPrototypeKeys(root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    const record = value as Record<string, unknown>;
    if (Object.hasOwn(record, "__proto__")) delete record["__proto__"];
    const ctor = Object.hasOwn(record, "constructor") ? record["constructor"] : undefined;
    if (typeof ctor === "object" && ctor !== null && Object.hasOwn(ctor, "prototype")) delete record["constructor"];
    for (const key in record) if (Object.hasOwn(record, key)) stack.push(record[key]);
  }
}
