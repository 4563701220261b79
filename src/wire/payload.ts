import { utf8Decode } from "../platform/bytes.js";

/** Decode a payload as UTF-8. mqtt.js hands over Buffers already in Node, so no copy or view is made for those. */
export function utf8(payload: Uint8Array): string {
  return utf8Decode(payload);
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

/** Why a payload from the network could not be read: too large to read, or not JSON. */
export class UnreadablePayload extends Error {
  constructor(
    readonly problem: "too-large" | "not-json",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Read a payload from the network: refuse one over `maxBytes` unread, then parse it as JSON (`parseJson`).
 * Throws `UnreadablePayload`, whose message says what was wrong (the size and the limit, or the parser's
 * words); each caller says what it does about it (an error answer, or a rate-limited warning).
 */
export function readPayload(payload: Uint8Array, maxBytes: number): unknown {
  const size = payload.byteLength;
  if (size > maxBytes) throw new UnreadablePayload("too-large", `payload of ${size} bytes exceeds the limit of ${maxBytes} bytes`);
  try {
    return parseJson(utf8(payload));
  } catch (error) {
    throw new UnreadablePayload("not-json", (error as Error).message);
  }
}
