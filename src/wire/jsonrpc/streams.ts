/**
 * Streams in the JSON-RPC format. A caller asks for a stream with a `stream` member in the request,
 * `{"credit": <items the server may send before it hears more>, "idleMs": <how long it may hear nothing
 * from the caller>}` (the request's `deadline` is, as for any call, ms since the epoch by the caller's clock).
 * The server sends each item to the caller's response topic as a notification,
 * `{"jsonrpc":"2.0","method":"rpc.item","params":{"id":<request id>,"seq":<0, 1, ...>,"item":<item>}}`,
 * then the usual answer (result or error) with an `items` member: how many items it sent.
 *
 * The caller sends control notifications to the service's plain `P/notification` topic (no method level:
 * NATS refuses `.` in one), so a server must subscribe to `P/notification` (`P/notification/#` covers it):
 * - `rpc.credit` `{"id","response_topic","granted"}`: the caller allows `granted` items in all so far (the
 *   request's `credit` included). A running total, so that a copy (QoS 1) or a late one changes nothing; the
 *   same total again says only that the caller is still there, which it says at least every `idleMs / 3`.
 *   For a plain (unary) call whose request has an `alive` member, `granted` is 0: only a sign of life.
 * - `rpc.cancel` `{"id","response_topic","reason"}`, plus `"timeout": true` when the caller's deadline passed;
 *   for any call, streaming or not. A server aborts the handler, and answers (if it answers) with -32603
 *   `Cancelled: <why>`; the caller has stopped waiting, so it drops that answer.
 * A call is named by its `response_topic` and `id` together (the id alone is the caller's, not unique).
 *
 * A plain call that may outlast the caller's idle timeout carries `"alive": <idleMs>` in its request: the caller
 * sends `rpc.credit` with `granted` 0 at least every `idleMs / 3` while it waits, and a server that hears nothing
 * for `idleMs` aborts the handler (its caller died). Without the member, a plain call runs to its deadline.
 */
import type { WireError } from "../../errors/wire.js";
import type { StreamRequest } from "../format.js";
import { isPlainObject, isRequestId, type RequestId } from "../values.js";

export const ITEM = "rpc.item";
export const CANCEL = "rpc.cancel";
export const CREDIT = "rpc.credit";

export type { StreamRequest };

/** The largest credit a caller may ask for in its request. */
export const MAX_CREDIT = 65_535;

export function encodeStreamRequest(id: RequestId, method: string, params: unknown, responseTopic: string, deadline: number | undefined, stream: StreamRequest): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params, response_topic: responseTopic, deadline, stream });
}

/** One item. Throws if it cannot be carried by JSON. */
export function encodeItem(id: RequestId, seq: number, item: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", method: ITEM, params: { id, seq, item: item === undefined ? null : item } });
}

export function encodeStreamResult(id: RequestId, result: unknown, items: number): string {
  return JSON.stringify({ jsonrpc: "2.0", id, result: result === undefined ? null : result, items });
}

export function encodeStreamError(id: RequestId | null, error: WireError, items: number): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error, items });
}

/** `timeout`: the caller gave up at its deadline (the handler's signal then aborts as at the deadline). */
export function encodeCancel(id: RequestId, responseTopic: string, reason: string, timeout: boolean): string {
  return JSON.stringify({ jsonrpc: "2.0", method: CANCEL, params: timeout ? { id, response_topic: responseTopic, reason, timeout } : { id, response_topic: responseTopic, reason } });
}

export function encodeCredit(id: RequestId, responseTopic: string, granted: number): string {
  return JSON.stringify({ jsonrpc: "2.0", method: CREDIT, params: { id, response_topic: responseTopic, granted } });
}

/** The `stream` member of a request: what it asks, `undefined` when absent, or why it cannot be served. */
export function decodeStreamMember(value: unknown): StreamRequest | string | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return '"stream" must be an object {credit, idleMs}';
  const { credit, idleMs } = value;
  if (!(Number.isInteger(credit) && (credit as number) >= 1 && (credit as number) <= MAX_CREDIT)) return `"stream.credit" must be an integer from 1 to ${MAX_CREDIT}`;
  if (!(typeof idleMs === "number" && idleMs >= 1 && idleMs <= 2_147_483_647)) return '"stream.idleMs" must be a number of milliseconds from 1 to 2^31-1';
  return { credit: credit as number, idleMs };
}

/** The `alive` member of a plain request: its idle timeout in ms, `undefined` when absent, or why it is wrong. */
export function decodeAliveMember(value: unknown): number | string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" && value >= 1 && value <= 2_147_483_647 ? value : '"alive" must be a number of milliseconds from 1 to 2^31-1';
}

/** A control notification's params, or `undefined` when they are not one. */
export function decodeControl(method: string, params: Record<string, unknown>): { id: RequestId; responseTopic: string; granted: number; reason: string; timeout: boolean } | undefined {
  const { id, response_topic: responseTopic } = params;
  if (!isRequestId(id) || typeof responseTopic !== "string") return undefined;
  if (method === CREDIT) {
    const granted = params.granted;
    return Number.isSafeInteger(granted) && (granted as number) >= 0 ? { id, responseTopic, granted: granted as number, reason: "", timeout: false } : undefined;
  }
  const reason = typeof params.reason === "string" ? params.reason.slice(0, 200) : "cancelled by the caller";
  return { id, responseTopic, granted: 0, reason, timeout: params.timeout === true };
}

/** An item notification's params, or `undefined` when they are not one. */
export function decodeItem(params: unknown): { id: RequestId; seq: number; item: unknown } | undefined {
  if (!isPlainObject(params) || !isRequestId(params.id) || !(Number.isInteger(params.seq) && (params.seq as number) >= 0)) return undefined;
  return { id: params.id, seq: params.seq as number, item: params.item };
}
