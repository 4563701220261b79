/** Encoding a handler's outcome as an answer, in the request's wire format, without ever throwing. */
import { ErrorCode } from "../errors/codes.js";
import { RpcError } from "../errors/errors.js";
import { errorToWire } from "../errors/wire.js";
import type { Logger } from "../logger.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import type { ReplyEncoder, ServedRequest } from "../wire/format.js";

/** The kind of rate-limited warning for handlers that threw something other than an `RpcError`. */
const HANDLER_THREW = "handlers that threw";

export class AnswerEncoder {
  constructor(
    private readonly name: string,
    private readonly logger: Logger,
    private readonly warnings: WarningLimiter,
  ) {}

  /** `items`: for a stream, how many items it sent. */
  success(request: ServedRequest, result: unknown, replies: ReplyEncoder, items?: number): string {
    return this.encodeOrFail(request, () => replies.result(request.id, result, items), replies, items);
  }

  failure(request: ServedRequest, error: unknown, replies: ReplyEncoder, items?: number): string {
    const wire = errorToWire(error);
    if (wire.code === ErrorCode.HandlerError && !(error instanceof RpcError)) {
      this.warnings.warn(HANDLER_THREW, () => `${this.name}: handler for ${request.method} threw: ${wire.message}`);
    }
    return this.encodeOrFail(request, () => replies.error(request.id, wire, error, items), replies, items);
  }

  /** Encode an answer; if the result or error data cannot be carried by JSON, answer -32603 instead. */
  private encodeOrFail(request: ServedRequest, encode: () => string, replies: ReplyEncoder, items: number | undefined): string {
    try {
      return encode();
    } catch (error) {
      const message = `Internal error: the response of ${request.method} cannot be encoded as JSON: ${(error as Error).message}`;
      this.logger.error(`${this.name}: ${message}`);
      return replies.error(request.id, { code: ErrorCode.InternalError, message }, undefined, items);
    }
  }
}
