import { ErrorCode } from "../../errors/codes.js";
import type { WireError } from "../../errors/wire.js";

import { describe, isPlainObject, isRequestId, type Params, type RequestId } from "../values.js";
import { decodeAliveMember, decodeStreamMember, type StreamRequest } from "./streams.js";

export { describe, isPlainObject, isRequestId, type Params, type RequestId };

export interface RequestMessage {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params: Params;
  /** Where the response goes. MQTT 5's Response Topic property takes precedence when present. */
  response_topic?: string;
  /**
   * When the caller gives up, in milliseconds since the Unix epoch by the caller's clock. A server does
   * not start the handler after it (allowing for clock skew), on any broker and protocol version.
   */
  deadline?: number;
  /** A streaming call: what the caller asks of the stream (see `streams.ts`). */
  stream?: StreamRequest;
  /** A plain call whose caller says it is alive: its idle timeout in ms (see `streams.ts`). */
  alive?: number;
}

export interface NotificationMessage {
  jsonrpc: "2.0";
  method: string;
  params: Params;
}

export type ResponseMessage =
  | { jsonrpc: "2.0"; id: RequestId | null; result: unknown }
  | { jsonrpc: "2.0"; id: RequestId | null; error: WireError };

export function encodeRequest(id: RequestId, method: string, params: unknown, responseTopic: string, deadline?: number, alive?: number): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params, response_topic: responseTopic, deadline, alive });
}

export function encodeNotification(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", method, params });
}

/** Encode a result. Throws if the result cannot be carried by JSON (BigInt, cycles). */
export function encodeResult(id: RequestId | null, result: unknown): string {
  // `undefined` would drop the member altogether, and a response must carry `result` or `error`.
  return JSON.stringify({ jsonrpc: "2.0", id, result: result === undefined ? null : result });
}

export function encodeError(id: RequestId | null, error: WireError): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}



/** The outcome of decoding one incoming request or notification object. */
export type DecodedInbound =
  | { kind: "request"; message: RequestMessage }
  | { kind: "notification"; message: NotificationMessage }
  /** Invalid: answer `error` to the request's response topic (if one is known) with `id`. */
  | { kind: "invalid"; id: RequestId | null; error: WireError; responseTopic: unknown };

/**
 * Check one parsed JSON value against JSON-RPC 2.0. `expect` says what the topic it arrived on
 * promises: on a request topic an id is required, on a notification topic it is ignored.
 */
export function decodeInbound(value: unknown, expect: "request" | "notification"): DecodedInbound {
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    return invalid(null, ErrorCode.InvalidRequest, `Invalid Request: expected a JSON object, got ${got}`, undefined);
  }
  const responseTopic = value.response_topic;
  const id = isRequestId(value.id) ? value.id : null;
  if (value.jsonrpc !== "2.0") {
    return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: "jsonrpc" must be "2.0", got ${describe(value.jsonrpc)}`, responseTopic);
  }
  if (expect === "request" && id === null) {
    return invalid(null, ErrorCode.InvalidRequest, `Invalid Request: "id" must be a non-empty string or a number, got ${describe(value.id)}`, responseTopic);
  }
  if (typeof value.method !== "string" || value.method.length === 0) {
    return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: "method" must be a non-empty string, got ${describe(value.method)}`, responseTopic);
  }
  const params = value.params === undefined ? {} : value.params;
  if (!isPlainObject(params)) {
    return invalid(id, ErrorCode.InvalidParams, `Invalid params: "params" must be an object, got ${describe(params)}`, responseTopic);
  }
  if (expect === "notification") {
    return { kind: "notification", message: { jsonrpc: "2.0", method: value.method, params } };
  }
  if (responseTopic !== undefined && typeof responseTopic !== "string") {
    // Not a usable topic: the dispatcher answers via the MQTT 5 property if there is one, or drops it naming this value.
    return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: "response_topic" must be a string, got ${describe(responseTopic)}`, responseTopic);
  }
  const deadline = value.deadline;
  if (deadline !== undefined && !(typeof deadline === "number" && Number.isFinite(deadline))) {
    return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: "deadline" must be a number of milliseconds since the Unix epoch, got ${describe(deadline)}`, responseTopic);
  }
  const stream = value.stream === undefined ? undefined : decodeStreamMember(value.stream);
  if (typeof stream === "string") return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: ${stream}, got ${describe(value.stream)}`, responseTopic);
  const alive = decodeAliveMember(value.alive);
  if (typeof alive === "string") return invalid(id, ErrorCode.InvalidRequest, `Invalid Request: ${alive}, got ${describe(value.alive)}`, responseTopic);
  const message: RequestMessage = { jsonrpc: "2.0", id: id!, method: value.method, params };
  if (responseTopic !== undefined) message.response_topic = responseTopic;
  if (deadline !== undefined) message.deadline = deadline;
  if (stream !== undefined) message.stream = stream;
  if (alive !== undefined) message.alive = alive;
  return { kind: "request", message };
}

/** The outcome of decoding one response object received on our response topic. */
export type DecodedResponse =
  | { kind: "result"; id: RequestId; result: unknown }
  | { kind: "error"; id: RequestId; error: WireError }
  /** Has an id we may be waiting for, but is otherwise broken. */
  | { kind: "malformed"; id: RequestId | null; reason: string };

export function decodeResponse(value: unknown): DecodedResponse {
  if (!isPlainObject(value)) return { kind: "malformed", id: null, reason: "response is not a JSON object" };
  const id = isRequestId(value.id) ? value.id : null;
  if (id === null) return { kind: "malformed", id: null, reason: `response "id" is ${describe(value.id)}` };
  if (value.jsonrpc !== "2.0") return { kind: "malformed", id, reason: `response "jsonrpc" is ${describe(value.jsonrpc)}` };
  if ("error" in value) {
    const error = value.error;
    if (isPlainObject(error) && Number.isInteger(error.code) && typeof error.message === "string") {
      const wire: WireError = { code: error.code as number, message: error.message };
      if (error.data !== undefined) wire.data = error.data;
      return { kind: "error", id, error: wire };
    }
    return { kind: "malformed", id, reason: "response error is not {code: integer, message: string}" };
  }
  if ("result" in value) return { kind: "result", id, result: value.result };
  return { kind: "malformed", id, reason: 'response has neither "result" nor "error"' };
}

function invalid(id: RequestId | null, code: number, message: string, responseTopic: unknown): DecodedInbound {
  return { kind: "invalid", id, error: { code, message }, responseTopic };
}
