/** Values every wire format deals in: ids, params, and how a hostile value is named in a message. */

/** A call's id. Ours are strings; peers may use numbers. */
export type RequestId = string | number;

export type Params = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A usable id: a non-empty string of at most 256 characters, or a finite number. */
export function isRequestId(value: unknown): value is RequestId {
  return (typeof value === "string" && value.length > 0 && value.length <= 256) || (typeof value === "number" && Number.isFinite(value));
}

/** A short, bounded description of a hostile value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 64 ? `${text.slice(0, 61)}...` : text}`;
}
