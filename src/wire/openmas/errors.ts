/**
 * Errors between the two formats. OpenMAS answers with HTTP-style codes (404 method not found, 500
 * handler failure, 408 timeout) and a `details` string naming the error class; mqtt-contracts with
 * JSON-RPC codes. This is the only place the two meet.
 *
 * | JSON-RPC (ours)                      | OpenMAS code | details                          |
 * |--------------------------------------|-------------:|----------------------------------|
 * | -32601 MethodNotFound                | 404          | "MethodNotFoundError"            |
 * | -32602 InvalidParams                 | 422          | "ValidationError"                |
 * | -32600 InvalidRequest, -32700 Parse  | 400          | "InvalidRequest" / "ParseError"  |
 * | the caller's deadline had passed     | 408          | "RequestTimeoutError"            |
 * | -32000 a handler threw               | 500          | the thrown error's `name`        |
 * | -32603 InternalError                 | 500          | "InternalError"                  |
 * | -32001 Overloaded                    | 503          | "OverloadedError"                |
 * | any other (application) code         | unchanged    | the thrown error's `name`        |
 */
import { ErrorCode } from "../../errors/codes.js";
import { MethodNotFoundError, OverloadedError, RequestTimeoutError, RpcError, ValidationError, type CommunicationError } from "../../errors/errors.js";
import type { WireError } from "../../errors/wire.js";
import { DEADLINE_PASSED } from "../format.js";

/** The `error` member of an OpenMAS answer. `data` is ours (a JSON-RPC error's data); OpenMAS ignores it. */
export interface OpenMasError {
  code: number;
  message: string;
  details?: unknown;
  data?: unknown;
}

/** OpenMAS's codes, as its Python client reads them. */
export const OpenMasCode = {
  InvalidRequest: 400,
  MethodNotFound: 404,
  Timeout: 408,
  InvalidParams: 422,
  Internal: 500,
  Overloaded: 503,
} as const;

/** A JSON-RPC error (and what caused it) as an OpenMAS error. */
export function toOpenMasError(wire: WireError, cause: unknown): OpenMasError {
  const named = (fallback: string): string => (cause instanceof Error && typeof cause.name === "string" ? cause.name : fallback);
  let code: number;
  let details: string;
  if (cause === DEADLINE_PASSED) {
    code = OpenMasCode.Timeout;
    details = "RequestTimeoutError";
  } else {
    switch (wire.code) {
      case ErrorCode.MethodNotFound:
        [code, details] = [OpenMasCode.MethodNotFound, "MethodNotFoundError"];
        break;
      case ErrorCode.InvalidParams:
        [code, details] = [OpenMasCode.InvalidParams, "ValidationError"];
        break;
      case ErrorCode.InvalidRequest:
        [code, details] = [OpenMasCode.InvalidRequest, "InvalidRequest"];
        break;
      case ErrorCode.ParseError:
        [code, details] = [OpenMasCode.InvalidRequest, "ParseError"];
        break;
      case ErrorCode.InternalError:
        [code, details] = [OpenMasCode.Internal, "InternalError"];
        break;
      case ErrorCode.Overloaded:
        [code, details] = [OpenMasCode.Overloaded, "OverloadedError"];
        break;
      case ErrorCode.HandlerError:
        [code, details] = [OpenMasCode.Internal, named("Error")];
        break;
      default:
        [code, details] = [wire.code, named("RpcError")];
    }
  }
  const error: OpenMasError = { code, message: wire.message, details };
  if (wire.data !== undefined) error.data = wire.data;
  return error;
}

/**
 * An OpenMAS error answer as the error class a caller of ours expects. `data` is the answer's `data` when
 * an mqtt-contracts server sent one, else OpenMAS's `details` (a Python server's exception class name).
 */
export function errorFromOpenMas(error: OpenMasError, sent: { target: string; method: string; timeoutMs: number }): CommunicationError {
  const data = error.data !== undefined ? error.data : error.details;
  const options = { target: sent.target, data, details: { method: sent.method, code: error.code, details: error.details } };
  switch (error.code) {
    case OpenMasCode.MethodNotFound:
      return new MethodNotFoundError(error.message, options);
    case OpenMasCode.InvalidParams:
      return new ValidationError(error.message, options);
    case OpenMasCode.InvalidRequest:
      return new RpcError(error.details === "ParseError" ? ErrorCode.ParseError : ErrorCode.InvalidRequest, error.message, options);
    case OpenMasCode.Timeout:
      return new RequestTimeoutError(`Request ${sent.method} to ${sent.target} timed out at the server: ${error.message}`, { ...options, timeoutMs: sent.timeoutMs });
    case OpenMasCode.Overloaded:
      return new OverloadedError(error.message, options);
    case OpenMasCode.Internal:
      return new RpcError(error.details === "InternalError" ? ErrorCode.InternalError : ErrorCode.HandlerError, error.message, options);
    default:
      return new RpcError(error.code, error.message, options);
  }
}
