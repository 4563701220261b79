import { ErrorCode } from "../errors/codes.js";
import { CommunicationError, RpcError } from "../errors/errors.js";
import { errorToWire, type WireError } from "../errors/wire.js";
import type { Logger } from "../logger.js";
import { decodeInbound, describe, encodeError, encodeResult, type RequestId, type RequestMessage } from "../wire/jsonrpc.js";
import { responseTopicProblem } from "../wire/names.js";
import type { TopicKind } from "../wire/topics.js";
import { HandlerCall } from "./handler-call.js";
import type { InboundMessage, PublishProperties } from "./transport.js";
import type { Handler } from "./types.js";

export interface DispatcherDeps {
  publish(topic: string, payload: string, properties?: PublishProperties): Promise<void>;
  logger: Logger;
  maxPayloadBytes: number;
  /** Names this service in logs. */
  name: string;
}

/**
 * The server side of the RPC core: decodes requests and notifications from the network, runs
 * handlers, and answers. Everything from the network is hostile here: nothing it sends may throw
 * out of `dispatch`, and every request with a usable response topic gets an answer.
 */
export class Dispatcher {
  readonly handlers = new Map<string, Handler<any, any>>();
  private readonly running = new Set<Promise<void>>();
  private readonly calls = new Set<HandlerCall>();
  private accepting = true;

  constructor(private readonly deps: DispatcherDeps) {}

  dispatch(kind: TopicKind, message: InboundMessage): void {
    try {
      this.dispatchUnsafe(kind, message);
    } catch (error) {
      // Only a bug of ours can land here; it must still not take the service down.
      this.deps.logger.error(`${this.deps.name}: failed to dispatch a message on ${message.topic}`, { error });
    }
  }

  /** Stop taking calls, wait up to `graceMs` for running handlers, then abort the rest. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...this.running]), grace]);
      clearTimeout(timer);
    }
    const reason = new CommunicationError(`${this.deps.name} stopped`);
    for (const call of this.calls) call.abort(reason);
  }

  private dispatchUnsafe(kind: TopicKind, message: InboundMessage): void {
    const { logger, maxPayloadBytes, name } = this.deps;
    const size = message.payload.byteLength;
    if (size > maxPayloadBytes) {
      this.answerInvalid(message, null, { code: ErrorCode.InvalidRequest, message: `Invalid Request: payload of ${size} bytes exceeds the limit of ${maxPayloadBytes} bytes` }, undefined, kind);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(message.payload.buffer, message.payload.byteOffset, size).toString("utf8"));
    } catch (error) {
      this.answerInvalid(message, null, { code: ErrorCode.ParseError, message: `Parse error: ${(error as Error).message}` }, undefined, kind);
      return;
    }
    const decoded = decodeInbound(value, kind);
    if (decoded.kind === "invalid") {
      this.answerInvalid(message, decoded.id, decoded.error, decoded.responseTopic, kind);
      return;
    }
    if (decoded.kind === "notification") {
      this.runNotification(decoded.message.method, decoded.message.params, message.topic);
      return;
    }
    const responseTopic = this.responseTopicOf(message, decoded.message.response_topic);
    if (responseTopic === undefined) {
      logger.warn(`${name}: dropped request ${describe(decoded.message.id)} for ${decoded.message.method}: ${this.noResponseTopicReason(message, decoded.message.response_topic)}`);
      return;
    }
    const properties = message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
    if (!this.accepting) {
      void this.answer(responseTopic, encodeError(decoded.message.id, { code: ErrorCode.InternalError, message: `Service ${name} is stopping` }), properties);
      return;
    }
    const deadline = message.messageExpiryInterval === undefined ? undefined : Date.now() + message.messageExpiryInterval * 1000;
    const run = this.runRequest(decoded.message, message.topic, responseTopic, properties, deadline);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async runRequest(request: RequestMessage, topic: string, responseTopic: string, properties: PublishProperties | undefined, deadline: number | undefined): Promise<void> {
    const { logger, name } = this.deps;
    const handler = this.handlers.get(request.method);
    if (handler === undefined) {
      await this.answer(responseTopic, encodeError(request.id, { code: ErrorCode.MethodNotFound, message: `Method not found: ${request.method}` }), properties);
      return;
    }
    const call = new HandlerCall(request.id, request.method, topic, deadline);
    this.calls.add(call);
    let body: string;
    try {
      const result = await handler(request.params, call);
      body = this.encodeOrFail(request.id, () => encodeResult(request.id, result), request.method);
    } catch (error) {
      const wire = errorToWire(error);
      if (wire.code === ErrorCode.HandlerError && !(error instanceof RpcError)) {
        logger.warn(`${name}: handler for ${request.method} threw: ${wire.message}`, { error });
      }
      body = this.encodeOrFail(request.id, () => encodeError(request.id, wire), request.method);
    } finally {
      call.dispose();
      this.calls.delete(call);
    }
    await this.answer(responseTopic, body, properties);
  }

  private runNotification(method: string, params: Record<string, unknown>, topic: string): void {
    const { logger, name } = this.deps;
    const handler = this.handlers.get(method);
    if (handler === undefined) {
      logger.warn(`${name}: no handler for notification ${method}; dropped`);
      return;
    }
    if (!this.accepting) {
      logger.warn(`${name}: dropped notification ${method}: service is stopping`);
      return;
    }
    const call = new HandlerCall(undefined, method, topic, undefined);
    this.calls.add(call);
    const run = (async () => {
      try {
        await handler(params, call);
      } catch (error) {
        logger.error(`${name}: notification handler for ${method} threw: ${error instanceof Error ? error.message : String(error)}`, { error });
      } finally {
        call.dispose();
        this.calls.delete(call);
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Encode a response; if the result or error data cannot be carried by JSON, answer -32603 instead. */
  private encodeOrFail(id: RequestId, encode: () => string, method: string): string {
    try {
      return encode();
    } catch (error) {
      const message = `Internal error: the response of ${method} cannot be encoded as JSON: ${(error as Error).message}`;
      this.deps.logger.error(`${this.deps.name}: ${message}`);
      return encodeError(id, { code: ErrorCode.InternalError, message });
    }
  }

  /** Answer a broken message with `error` if it names a usable response topic; drop it with a warning otherwise. */
  private answerInvalid(message: InboundMessage, id: RequestId | null, error: WireError, payloadTopic: unknown, kind: TopicKind): void {
    const responseTopic = kind === "request" ? this.responseTopicOf(message, payloadTopic) : undefined;
    if (responseTopic === undefined) {
      const why = kind === "request" ? this.noResponseTopicReason(message, payloadTopic) : "notifications are never answered";
      this.deps.logger.warn(`${this.deps.name}: dropped a ${kind} on ${message.topic}: ${error.message} (${why})`);
      return;
    }
    this.deps.logger.debug(`${this.deps.name}: answered a bad ${kind} on ${message.topic} with ${error.code}: ${error.message}`);
    const properties = message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
    void this.answer(responseTopic, encodeError(id, error), properties);
  }

  /** The MQTT 5 Response Topic property wins over the payload's `response_topic`; either must be valid. */
  private responseTopicOf(message: InboundMessage, payloadTopic: unknown): string | undefined {
    const candidate = message.responseTopic ?? payloadTopic;
    return responseTopicProblem(candidate) === undefined ? (candidate as string) : undefined;
  }

  private noResponseTopicReason(message: InboundMessage, payloadTopic: unknown): string {
    const candidate = message.responseTopic ?? payloadTopic;
    if (candidate === undefined) return "it has no response topic";
    return `its response topic ${describe(candidate)} ${responseTopicProblem(candidate)}`;
  }

  private async answer(topic: string, body: string, properties: PublishProperties | undefined): Promise<void> {
    try {
      await this.deps.publish(topic, body, properties);
    } catch (error) {
      this.deps.logger.warn(`${this.deps.name}: could not publish a response to ${topic}: ${(error as Error).message}`);
    }
  }
}
