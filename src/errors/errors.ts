import { ErrorCode, errorCodeName } from "./codes.js";

/** Options shared by every error of the hierarchy. */
export interface CommunicationErrorOptions {
  /** The service (a `serviceUrls` key) or topic the operation was aimed at. */
  target?: string;
  /** Structured details, safe to log. */
  details?: unknown;
  cause?: unknown;
}

/**
 * The base of every error mqtt-contracts throws. `target` names the service or topic involved,
 * `details` carries structured context.
 */
export class CommunicationError extends Error {
  override name = "CommunicationError";
  readonly target: string | undefined;
  readonly details: unknown;

  constructor(message: string, options: CommunicationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.target = options.target;
    this.details = options.details;
  }

  /** Normalise anything caught into a `CommunicationError`, keeping the original as `cause`. */
  static from(reason: unknown, options: CommunicationErrorOptions = {}): CommunicationError {
    if (reason instanceof CommunicationError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new CommunicationError(message, { ...options, cause: reason });
  }
}

/** A configuration value is invalid: a bad name, prefix, option or agent config. */
export class ConfigurationError extends CommunicationError {
  override name = "ConfigurationError";
}

/** The target service is not in `serviceUrls`. Nothing was published. */
export class ServiceNotFoundError extends CommunicationError {
  override name = "ServiceNotFoundError";
}

/** The request got no response before its deadline. */
export class RequestTimeoutError extends CommunicationError {
  override name = "RequestTimeoutError";
  readonly timeoutMs: number;
  constructor(message: string, options: CommunicationErrorOptions & { timeoutMs: number }) {
    super(message, options);
    this.timeoutMs = options.timeoutMs;
  }
}

/** The caller's `AbortSignal` ended the request. `cause` is the signal's reason. */
export class RequestAbortedError extends CommunicationError {
  override name = "RequestAbortedError";
}

/**
 * A JSON-RPC error: raised on the client for an error response, and thrown by handlers to answer
 * with a specific `code` and `data`. Any thrown error that is not an `RpcError` goes on the wire
 * as -32000 with its message only.
 */
export class RpcError extends CommunicationError {
  override name = "RpcError";
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, options: CommunicationErrorOptions & { data?: unknown } = {}) {
    super(message, options);
    if (!Number.isInteger(code)) throw new TypeError(`RpcError code must be an integer, got ${String(code)}`);
    this.code = code;
    this.data = options.data;
  }

  /** The symbolic name of the code (`InvalidParams`), or `undefined` for an application code. */
  get codeName(): string | undefined {
    return errorCodeName(this.code);
  }

  /** Normalise anything a handler threw: `RpcError`s keep their code, anything else is -32000. */
  static override from(reason: unknown, options: CommunicationErrorOptions = {}): RpcError {
    if (reason instanceof RpcError) return reason;
    const message = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "Handler failed";
    return new RpcError(ErrorCode.HandlerError, message, { ...options, cause: reason });
  }
}

/** The remote side has no handler for the method (-32601). */
export class MethodNotFoundError extends RpcError {
  override name = "MethodNotFoundError";
  constructor(message: string, options: CommunicationErrorOptions & { data?: unknown } = {}) {
    super(ErrorCode.MethodNotFound, message, options);
  }
}

/**
 * The server was overloaded and turned the request away without running it (-32001; 503 in OpenMAS's
 * format): its handlers and its bounded wait queue were full (`overload: "reject"`). Nothing ran, so the
 * call is safe to retry, after a pause or on another instance: `retryable` is always true.
 */
export class OverloadedError extends RpcError {
  override name = "OverloadedError";
  /** Always true: the request did not run. */
  readonly retryable = true;
  constructor(message: string, options: CommunicationErrorOptions & { data?: unknown } = {}) {
    super(ErrorCode.Overloaded, message, options);
  }
}

/**
 * Data broke a schema (-32602). Thrown by a client before publishing invalid params or on receiving
 * an invalid result, and received from a server that rejected the params. `data` holds the issues.
 */
export class ValidationError extends RpcError {
  override name = "ValidationError";
  constructor(message: string, options: CommunicationErrorOptions & { data?: unknown; code?: number } = {}) {
    super(options.code ?? ErrorCode.InvalidParams, message, options);
  }
}
