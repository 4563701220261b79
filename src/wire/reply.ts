import type { WireError } from "../errors/wire.js";
import { encodeError, encodeResult, type RequestId } from "./jsonrpc.js";

/**
 * What a server's answers look like in one wire format. `cause` is what led to an error, when there is
 * more to know than the code: the value a handler threw, or `DEADLINE_PASSED`.
 */
export interface ReplyEncoder {
  /** Throws if the result cannot be carried by JSON. */
  result(id: RequestId, value: unknown): string;
  error(id: RequestId | null, error: WireError, cause?: unknown): string;
}

/** The `cause` of an answer to a request whose caller's deadline had passed before it could run. */
export const DEADLINE_PASSED: unique symbol = Symbol("deadline passed");

/** JSON-RPC 2.0 answers: the default format. */
export const jsonRpcReplies: ReplyEncoder = {
  result: encodeResult,
  error: (id, error) => encodeError(id, error),
};
