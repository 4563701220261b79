import { ErrorCode } from "./codes.js";
import { MethodNotFoundError, OverloadedError, RpcError, ValidationError } from "./errors.js";

/** The `error` member of a JSON-RPC 2.0 response. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * Encode what a handler threw as a JSON-RPC error object. Only the message, code and data of an
 * `RpcError` go on the wire; never a stack trace.
 */
export function errorToWire(reason: unknown): WireError {
  const error = RpcError.from(reason);
  const wire: WireError = { code: error.code, message: error.message };
  if (error.data !== undefined) wire.data = error.data;
  return wire;
}

/** Decode a JSON-RPC error object into the matching error class. */
export function errorFromWire(wire: WireError, context: { target?: string; method?: string } = {}): RpcError {
  const options = { target: context.target, data: wire.data, details: { method: context.method } };
  switch (wire.code) {
    case ErrorCode.MethodNotFound:
      return new MethodNotFoundError(wire.message, options);
    case ErrorCode.InvalidParams:
      return new ValidationError(wire.message, options);
    case ErrorCode.Overloaded:
      return new OverloadedError(wire.message, options);
    default:
      return new RpcError(wire.code, wire.message, options);
  }
}
