/**
 * The server half of the JSON-RPC 2.0 format: decode what arrives on `P/request/...` and
 * `P/notification/...` (single messages and batches), find where each request is answered, and hand
 * it to the dispatcher. Broken messages are answered with an error when they name a usable response
 * topic, and dropped with a rate-limited warning otherwise.
 */
import { ErrorCode } from "../../errors/codes.js";
import type { WireError } from "../../errors/wire.js";
import type { InboundMessage, PublishProperties } from "../../transport/transport.js";
import { DROPPED, type FormatContext, type InboundSink, type ReplyEncoder } from "../format.js";
import { responseTopicProblem } from "../names.js";
import { readPayload, type UnreadablePayload } from "../payload.js";
import { decodeInbound, describe, encodeError, encodeResult, isPlainObject, isRequestId, type DecodedInbound, type RequestId } from "./codec.js";
import { CANCEL, CREDIT, decodeControl, encodeItem, encodeStreamError, encodeStreamResult } from "./streams.js";

/** JSON-RPC 2.0 answers, and a stream's items. */
export const jsonRpcReplies: ReplyEncoder = {
  result: (id, value, items) => (items === undefined ? encodeResult(id, value) : encodeStreamResult(id, value, items)),
  error: (id, error, _cause, items) => (items === undefined ? encodeError(id, error) : encodeStreamError(id, error, items)),
  item: encodeItem,
};

export class JsonRpcServer {
  /** The last response topic found valid: a caller sends all its requests with one. */
  private lastValidResponseTopic: string | undefined;

  constructor(private readonly context: FormatContext) {}

  serve(message: InboundMessage, kind: "request" | "notification", sink: InboundSink): void {
    let value: unknown;
    try {
      value = readPayload(message.payload, this.context.maxPayloadBytes);
    } catch (error) {
      const unreadable = error as UnreadablePayload;
      const wire = unreadable.problem === "too-large" ? { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${unreadable.message}` } : { code: ErrorCode.ParseError, message: `Parse error: ${unreadable.message}` };
      this.answerInvalid(message, null, wire, undefined, kind, sink);
      return;
    }
    if (Array.isArray(value)) {
      this.serveBatch(kind, message, value, sink);
      return;
    }
    const decoded = decodeInbound(value, kind);
    if (decoded.kind === "invalid") {
      this.answerInvalid(message, decoded.id, decoded.error, decoded.responseTopic, kind, sink);
      return;
    }
    if (decoded.kind === "notification") {
      this.notification(decoded.message.method, decoded.message.params, message.topic, sink);
      return;
    }
    const responseTopic = this.responseTopicOf(message, decoded.message.response_topic);
    if (responseTopic === undefined) {
      const { agentName, warnings } = this.context;
      warnings.warn(DROPPED, () => `${agentName}: dropped request ${describe(decoded.message.id)} for ${decoded.message.method}: ${this.noResponseTopicReason(message, decoded.message.response_topic)}; it gets no answer`);
      return;
    }
    sink.request(decoded.message, message, responseTopic, jsonRpcReplies, propertiesOf(message), false);
  }

  /**
   * A JSON-RPC batch: each entry is a request (it has an `id`) or a notification, and is served and
   * answered on its own, as if it had come alone; answers that are ready together go out as one array.
   * Broken entries get per-entry errors; a batch of notifications gets no answer at all.
   */
  private serveBatch(kind: "request" | "notification", message: InboundMessage, entries: unknown[], sink: InboundSink): void {
    const { agentName, warnings } = this.context;
    if (entries.length === 0) {
      this.answerInvalid(message, null, { code: ErrorCode.InvalidRequest, message: "Invalid Request: empty batch" }, undefined, kind, sink);
      return;
    }
    // Where entries without a usable response topic of their own are answered: the MQTT 5 property
    // (responseTopicOf prefers it), else the first usable response topic in the batch.
    let batchTopic: string | undefined;
    const properties = propertiesOf(message);
    const seen = new Map<RequestId, number>();
    for (const entry of entries) {
      if (!isPlainObject(entry)) continue;
      batchTopic ??= this.responseTopicOf(message, entry.response_topic);
      if (isRequestId(entry.id)) seen.set(entry.id, (seen.get(entry.id) ?? 0) + 1);
    }
    for (const entry of entries) {
      const entryKind = kind === "notification" || (isPlainObject(entry) && !("id" in entry)) ? "notification" : "request";
      const duplicate = isPlainObject(entry) && isRequestId(entry.id) && seen.get(entry.id)! > 1;
      const decoded: DecodedInbound = duplicate
        ? { kind: "invalid", id: entry.id as RequestId, error: { code: ErrorCode.InvalidRequest, message: `Invalid Request: id ${describe(entry.id)} appears more than once in the batch` }, responseTopic: entry.response_topic }
        : decodeInbound(entry, entryKind);
      if (decoded.kind === "notification") {
        this.notification(decoded.message.method, decoded.message.params, message.topic, sink);
        continue;
      }
      const ownTopic = decoded.kind === "request" ? decoded.message.response_topic : decoded.responseTopic;
      const topic = this.responseTopicOf(message, ownTopic) ?? batchTopic;
      if (decoded.kind === "invalid") {
        if (topic === undefined || entryKind === "notification") {
          warnings.warn(DROPPED, () => `${agentName}: dropped a batch entry on ${message.topic}: ${decoded.error.message} (${entryKind === "notification" ? "notifications are never answered" : "no usable response topic"})`);
        } else {
          sink.reply(topic, encodeError(decoded.id, decoded.error), properties, true);
        }
        continue;
      }
      if (topic === undefined) {
        warnings.warn(DROPPED, () => `${agentName}: dropped batch entry ${describe(decoded.message.id)} for ${decoded.message.method}: ${this.noResponseTopicReason(message, ownTopic)}`);
        continue;
      }
      sink.request(decoded.message, message, topic, jsonRpcReplies, properties, true);
    }
  }

  /** A notification: a caller's cancel or credit for a call in progress, or one for a handler. */
  private notification(method: string, params: Record<string, unknown>, topic: string, sink: InboundSink): void {
    if (method !== CANCEL && method !== CREDIT) {
      sink.notification(method, params, topic);
      return;
    }
    const control = decodeControl(method, params);
    if (control === undefined) {
      this.context.warnings.warn(DROPPED, () => `${this.context.agentName}: dropped a ${method} on ${topic}: its params are not {id, response_topic${method === CREDIT ? ", granted" : ""}}`);
      return;
    }
    if (method === CANCEL) sink.cancel(control.responseTopic, control.id, control.reason, control.timeout);
    else sink.credit(control.responseTopic, control.id, control.granted);
  }

  /** Answer a broken message with `error` if it names a usable response topic; drop it with a warning otherwise. */
  private answerInvalid(message: InboundMessage, id: RequestId | null, error: WireError, payloadTopic: unknown, kind: "request" | "notification", sink: InboundSink): void {
    const { agentName, logger, warnings } = this.context;
    const responseTopic = kind === "request" ? this.responseTopicOf(message, payloadTopic) : undefined;
    if (responseTopic === undefined) {
      const why = kind === "request" ? this.noResponseTopicReason(message, payloadTopic) : "notifications are never answered";
      warnings.warn(DROPPED, () => `${agentName}: dropped a ${kind} on ${message.topic}: ${error.message} (${why})`);
      return;
    }
    logger.debug(`${agentName}: answered a bad ${kind} on ${message.topic} with ${error.code}: ${error.message}`);
    sink.reply(responseTopic, encodeError(id, error), propertiesOf(message), false);
  }

  /**
   * The MQTT 5 Response Topic property wins over the payload's `response_topic`; either must be a topic
   * the broker accepts. The last one found valid is remembered: a caller sends all its requests with one.
   */
  private responseTopicOf(message: InboundMessage, payloadTopic: unknown): string | undefined {
    const candidate = message.responseTopic ?? payloadTopic;
    if (candidate === this.lastValidResponseTopic) return candidate as string;
    if (responseTopicProblem(candidate, this.context.maxTopicLevels) !== undefined) return undefined;
    this.lastValidResponseTopic = candidate as string;
    return candidate as string;
  }

  private noResponseTopicReason(message: InboundMessage, payloadTopic: unknown): string {
    const candidate = message.responseTopic ?? payloadTopic;
    if (candidate === undefined) return "it has no response topic";
    return `its response topic ${describe(candidate)} ${responseTopicProblem(candidate, this.context.maxTopicLevels)}`;
  }
}

/** MQTT 5 callers that send Correlation Data get it back on the answer. */
function propertiesOf(message: InboundMessage): PublishProperties | undefined {
  return message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
}
