/**
 * Payloads of OpenMAS's built-in MQTT communicator. Requests and notifications name their `source` (the
 * caller's agent name, where answers go) and `target`; answers carry `result`, or `error` as
 * `{ code, message, details }` with HTTP-style codes (see `./errors.ts`). There is no `jsonrpc` member.
 */
import { randomUuid } from "../../platform/random.js";
import { ErrorCode } from "../../errors/codes.js";
import type { WireError } from "../../errors/wire.js";
import { describe, isPlainObject, isRequestId, type Params, type RequestId } from "../jsonrpc/codec.js";
import { levelProblem } from "./topics.js";
import type { OpenMasError } from "./errors.js";

/** A request as a server reads it: the method comes from the topic, the rest from the payload. */
export interface OpenMasRequest {
  id: RequestId;
  /** The caller's agent name: the answer goes to `<root>/<source>/response/<id>`. */
  source: string;
  method: string;
  params: Params;
  /** Our extension, as in the JSON-RPC format: when the caller gives up, in ms since the epoch. OpenMAS ignores it. */
  deadline?: number;
}

export function encodeOpenMasRequest(id: string, source: string, target: string, method: string, params: unknown, deadline: number | undefined): string {
  return JSON.stringify({ id, source, target, method, params, timestamp: Date.now(), deadline });
}

export function encodeOpenMasNotification(source: string, target: string, method: string, params: unknown): string {
  return JSON.stringify({ id: randomUuid(), source, target, method, params, timestamp: Date.now(), type: "notification" });
}

/** An answer; `source` is the answering agent, `target` the caller. Throws if the result cannot be carried by JSON. */
export function encodeOpenMasResult(id: RequestId, source: string, target: string, result: unknown): string {
  return JSON.stringify({ id, source, target, timestamp: Date.now(), result: result === undefined ? null : result });
}

export function encodeOpenMasError(id: RequestId | null, source: string, target: string, error: OpenMasError): string {
  return JSON.stringify({ id, source, target, timestamp: Date.now(), error });
}

/** The outcome of decoding a request payload. */
export type DecodedOpenMasRequest =
  | { kind: "request"; request: OpenMasRequest }
  /** Broken, but with an `id` and `source` to answer to. */
  | { kind: "invalid"; id: RequestId; source: string; error: WireError }
  /** Broken, with nowhere to answer: `reason` says why. */
  | { kind: "unanswerable"; reason: string };

/**
 * Check a parsed request payload that arrived on `<root>/<agent>/request/<topicMethod>`. The id and the
 * source become levels of the response topic, so each must be one level a broker accepts: anything else
 * (a `/`, a wildcard, a control character) leaves the request unanswerable. `knownSource` is a source found
 * valid before, which need not be checked again.
 */
export function decodeOpenMasRequest(value: unknown, topicMethod: string, knownSource?: string): DecodedOpenMasRequest {
  if (!isPlainObject(value)) return { kind: "unanswerable", reason: `expected a JSON object, got ${Array.isArray(value) ? "an array" : describe(value)}` };
  const id = value.id;
  if (!isRequestId(id)) return { kind: "unanswerable", reason: `"id" must be a non-empty string or a number, got ${describe(id)}` };
  const idProblem = levelProblem(String(id));
  if (idProblem !== undefined) return { kind: "unanswerable", reason: `"id" ${describe(id)} ${idProblem}` };
  const source = value.source;
  const sourceProblem = source === knownSource && source !== undefined ? undefined : levelProblem(source);
  if (sourceProblem !== undefined) return { kind: "unanswerable", reason: `"source" ${describe(source)} ${sourceProblem}` };
  const answer = (code: number, message: string): DecodedOpenMasRequest => ({ kind: "invalid", id, source: source as string, error: { code, message } });
  const stated = value.method;
  if (topicMethod === "" && (typeof stated !== "string" || stated.length === 0)) {
    return answer(ErrorCode.InvalidRequest, `Invalid Request: no method in the topic, and "method" is ${describe(stated)}`);
  }
  if (topicMethod !== "" && stated !== undefined && stated !== topicMethod) {
    return answer(ErrorCode.InvalidRequest, `Invalid Request: "method" ${describe(stated)} differs from the topic's method ${describe(topicMethod)}`);
  }
  const params = value.params === undefined || value.params === null ? {} : value.params;
  if (!isPlainObject(params)) return answer(ErrorCode.InvalidParams, `Invalid params: "params" must be an object, got ${describe(params)}`);
  const deadline = value.deadline;
  if (deadline !== undefined && !(typeof deadline === "number" && Number.isFinite(deadline))) {
    return answer(ErrorCode.InvalidRequest, `Invalid Request: "deadline" must be a number of milliseconds since the Unix epoch, got ${describe(deadline)}`);
  }
  const request: OpenMasRequest = { id, source: source as string, method: topicMethod === "" ? (stated as string) : topicMethod, params };
  if (deadline !== undefined) request.deadline = deadline;
  return { kind: "request", request };
}

/** The params of a notification payload, or why it cannot be served. */
export function decodeOpenMasNotification(value: unknown): { params: Params } | { reason: string } {
  if (!isPlainObject(value)) return { reason: `expected a JSON object, got ${Array.isArray(value) ? "an array" : describe(value)}` };
  const params = value.params === undefined || value.params === null ? {} : value.params;
  if (!isPlainObject(params)) return { reason: `"params" must be an object, got ${describe(params)}` };
  return { params };
}

/** The outcome of decoding an answer that arrived on `<root>/<agent>/response/<id>`. */
export type DecodedOpenMasResponse =
  | { kind: "result"; result: unknown }
  | { kind: "error"; error: OpenMasError }
  | { kind: "malformed"; reason: string }
  /** Its `id` is not the one in the topic: not clearly an answer to that request. */
  | { kind: "mismatched"; id: unknown };

/**
 * Check an answer. As with OpenMAS's own client, an answer without `error` (or with `error: null`) gives
 * `result`, `null` when missing. Stricter than that client: an `error` that is present but not
 * `{ code: integer, message: string }` (a string, `{}`, `false`) makes the answer malformed, where the
 * Python client would ignore it and return `result`.
 */
export function decodeOpenMasResponse(value: unknown, topicId: string): DecodedOpenMasResponse {
  if (!isPlainObject(value)) return { kind: "malformed", reason: `the answer is not a JSON object (got ${Array.isArray(value) ? "an array" : describe(value)})` };
  if (value.id !== undefined && String(value.id) !== topicId) return { kind: "mismatched", id: value.id };
  const error = value.error;
  if (error !== undefined && error !== null) {
    if (isPlainObject(error) && Number.isInteger(error.code) && typeof error.message === "string") {
      const decoded: OpenMasError = { code: error.code as number, message: error.message };
      if (error.details !== undefined) decoded.details = error.details;
      if (error.data !== undefined) decoded.data = error.data;
      return { kind: "error", error: decoded };
    }
    return { kind: "malformed", reason: `the answer's "error" is not {code: integer, message: string} (got ${describe(error)})` };
  }
  return { kind: "result", result: value.result === undefined ? null : value.result };
}
